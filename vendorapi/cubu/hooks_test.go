package cubu_test

import (
	"errors"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi/cubu"
)

func TestHooks(t *testing.T) {
	sync := map[cubu.Hook]bool{cubu.BeforeBookAppointment: true, cubu.BeforeCheckIn: true, cubu.BeforeQueueUp: true, cubu.BeforeResolve: true}
	if len(cubu.Hooks) != 10 {
		t.Fatalf("%d hooks", len(cubu.Hooks))
	}
	for _, h := range cubu.Hooks {
		if h.Synchronous() != sync[h] || !h.Valid() {
			t.Errorf("%s: Synchronous = %v, Valid = %v", h, h.Synchronous(), h.Valid())
		}
		got, err := cubu.ParseHook(h.Path())
		if err != nil || got != h {
			t.Errorf("ParseHook(%s) = %s, %v", h.Path(), got, err)
		}
	}
	if cubu.Hook("startWork").Valid() || cubu.Hook("").Valid() {
		t.Error("only canonical names are valid hooks")
	}
}

// TestParseHookSpellings: Cubu documents startWork and beforeResolved; both spellings route.
func TestParseHookSpellings(t *testing.T) {
	for seg, want := range map[string]cubu.Hook{
		"startWork": cubu.AfterStartWork, "afterStartWork": cubu.AfterStartWork,
		"beforeResolved": cubu.BeforeResolve, "beforeResolve": cubu.BeforeResolve,
		"/v1/hooks/cubu/sunrise-cubu/service/actions/afterResolve":  cubu.AfterResolve,
		"/v1/hooks/cubu/sunrise-cubu/service/actions/afterQueueUp/": cubu.AfterQueueUp,
	} {
		if got, err := cubu.ParseHook(seg); err != nil || got != want {
			t.Errorf("ParseHook(%q) = %q, %v; want %q", seg, got, err, want)
		}
	}
	if cubu.AfterStartWork.Path() != "/service/actions/startWork" || cubu.BeforeResolve.Path() != "/service/actions/beforeResolved" ||
		cubu.AfterResolve.Path() != "/service/actions/afterResolve" {
		t.Errorf("documented paths: %s %s %s", cubu.AfterStartWork.Path(), cubu.BeforeResolve.Path(), cubu.AfterResolve.Path())
	}
	for _, bad := range []string{"", "/", "AfterResolve", "beforeQueryAppointments", "/kiosk/actions/x"} {
		_, err := cubu.ParseHook(bad)
		var uh *cubu.UnknownHookError
		if !errors.As(err, &uh) {
			t.Errorf("ParseHook(%q) err = %v", bad, err)
		}
	}
}
