package cubu_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cubu"
)

func TestOptionsDefaults(t *testing.T) {
	o := cubu.Options{}.WithDefaults()
	if o.CreateOn != cubu.AfterResolve || o.ReplayWindow != 24*time.Hour || o.BeforeHookTimeout != 2*time.Second {
		t.Fatalf("defaults = %+v", o)
	}
	if err := o.Validate(); err != nil {
		t.Fatal(err)
	}
	o = cubu.Options{CreateOn: cubu.AfterQueueUp, ReplayWindow: 48 * time.Hour, BeforeHookTimeout: 3 * time.Second,
		RequiredFields: []string{"description"}}.WithDefaults()
	if err := o.Validate(); err != nil || o.BeforeHookTimeout != 3*time.Second {
		t.Fatalf("%+v: %v", o, err)
	}
}

func TestOptionsValidateListsEveryProblem(t *testing.T) {
	err := cubu.Options{CreateOn: cubu.AfterClose, ReplayWindow: time.Minute, BeforeHookTimeout: 6 * time.Second,
		RequiredFields: []string{"colour"}}.Validate()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"createOn", "replayWindow", "beforeHookTimeout", `"colour"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %s", err, want)
		}
	}
}

func TestGateHook(t *testing.T) {
	for h, want := range map[cubu.Hook]cubu.Hook{
		cubu.AfterResolve: cubu.BeforeResolve, cubu.AfterQueueUp: cubu.BeforeQueueUp,
		cubu.AfterCheckIn: cubu.BeforeCheckIn, cubu.AfterBookAppointment: cubu.BeforeBookAppointment,
		cubu.AfterClose: "", cubu.AfterStartWork: "",
	} {
		if got := cubu.GateHook(h); got != want || (got != "" && !got.Synchronous()) {
			t.Errorf("GateHook(%s) = %q", h, got)
		}
	}
}
