package cubu_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cubu"
)

func TestDecideAllows(t *testing.T) {
	p := parseFixture(t, cubu.BeforeResolve, "beforeResolve.json")
	d := cubu.Decide(p, testMapping(), []string{"description", "requester.name", "requester.email", "requestType"})
	if !d.Allow || d.Message != "" || len(d.Missing) != 0 {
		t.Fatalf("decision = %+v", d)
	}
	if string(d.Body()) != "{}" {
		t.Fatalf("allow body = %s, want {}", d.Body())
	}
}

func TestDecideDenies(t *testing.T) {
	p := parseFixture(t, cubu.BeforeResolve, "beforeResolve.json") // no address, no phone
	d := cubu.Decide(p, testMapping(), []string{"location.address", "description", "requester.phone", "answers.Preferred time"})
	if d.Allow || !slices.Equal(d.Missing, []string{"location.address", "requester.phone", "answers.Preferred time"}) {
		t.Fatalf("decision = %+v", d)
	}
	want := "Please fill in Where (building, apartment), Contact phone number and Preferred time before you resolve ticket A120: the work order needs them."
	if d.Message != want {
		t.Errorf("message = %q\nwant      %q", d.Message, want)
	}
	var body map[string]any
	if err := json.Unmarshal(d.Body(), &body); err != nil || body["cancel"] != true || body["message"] != want || len(body) != 2 {
		t.Errorf("deny body = %s", d.Body())
	}
}

func TestDecidePerHook(t *testing.T) {
	for _, tc := range []struct {
		hook    cubu.Hook
		fixture string
		verb    string
	}{
		{cubu.BeforeQueueUp, "beforeQueueUp.json", "before you queue up ticket A122"},
		{cubu.BeforeCheckIn, "beforeCheckIn.json", "before you check in ticket P15"},
		{cubu.BeforeBookAppointment, "beforeBookAppointment.json", "before you book the appointment for ticket P16"},
	} {
		d := cubu.Decide(parseFixture(t, tc.hook, tc.fixture), testMapping(), []string{"location.address"})
		if d.Allow || !strings.Contains(d.Message, tc.verb) || !strings.HasPrefix(d.Message, "Please fill in Where (building, apartment) ") ||
			!strings.Contains(d.Message, "needs it.") {
			t.Errorf("%s: %+v", tc.hook, d)
		}
	}
}

func TestDecideFallbacksDoNotCount(t *testing.T) {
	// The contract example has no name field: ToNewRequest invents "Cubu customer A119", but
	// a required name is still missing.
	body := strings.Replace(string(fixture(t, "afterResolve.json")), `"status":"Pending"`, `"status":"Active"`, 1)
	p, err := cubu.Parse(cubu.BeforeResolve, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	d := cubu.Decide(p, testMapping(), []string{"requester.name", "title"})
	if d.Allow || !slices.Equal(d.Missing, []string{"requester.name", "title"}) ||
		d.Message != "Please fill in Name and Title before you resolve ticket A119: the work order needs them." {
		t.Fatalf("decision = %+v", d)
	}
}

func TestDecideRequestTypeMessage(t *testing.T) {
	p := parseFixture(t, cubu.BeforeResolve, "beforeResolve.json")
	d := cubu.Decide(p, cubu.FieldMapping{}, []string{"requestType"})
	if d.Allow || !strings.Contains(d.Message, "ask an administrator") {
		t.Fatalf("decision = %+v", d)
	}
}

func TestDecideIgnoresAfterHooksAndUnknownNames(t *testing.T) {
	if d := cubu.Decide(parseFixture(t, cubu.AfterResolve, "afterResolve.json"), testMapping(), []string{"location.address"}); !d.Allow {
		t.Errorf("after-hook decision = %+v", d)
	}
	if d := cubu.Decide(parseFixture(t, cubu.BeforeResolve, "beforeResolve.json"), testMapping(), []string{"adress", ""}); !d.Allow {
		t.Errorf("unknown required names blocked the agent: %+v", d)
	}
}

func TestDecideWithin(t *testing.T) {
	ctx := context.Background()
	deny := cubu.Decision{Allow: false, Message: "no"}

	t.Run("answer in time", func(t *testing.T) {
		d := cubu.DecideWithin(ctx, time.Second, func(context.Context) (cubu.Decision, error) { return deny, nil })
		if d.Allow || d.Message != "no" {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("too slow: allowed by default, on time", func(t *testing.T) {
		start := time.Now()
		d := cubu.DecideWithin(ctx, 50*time.Millisecond, func(ctx context.Context) (cubu.Decision, error) {
			select {
			case <-time.After(5 * time.Second):
			case <-ctx.Done(): // the deadline reaches the decision
			}
			return deny, nil
		})
		if el := time.Since(start); !d.Allow || el > time.Second || !strings.Contains(d.Reason, "no decision within 50ms") {
			t.Fatalf("%+v after %v", d, el)
		}
	})
	t.Run("ignores its context: still answers on time", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		start := time.Now()
		d := cubu.DecideWithin(ctx, 30*time.Millisecond, func(context.Context) (cubu.Decision, error) {
			<-release
			return deny, nil
		})
		if !d.Allow || time.Since(start) > time.Second {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("error: allowed", func(t *testing.T) {
		d := cubu.DecideWithin(ctx, time.Second, func(context.Context) (cubu.Decision, error) { return deny, errors.New("store down") })
		if !d.Allow || !strings.Contains(d.Reason, "store down") {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("panic: allowed", func(t *testing.T) {
		d := cubu.DecideWithin(ctx, time.Second, func(context.Context) (cubu.Decision, error) { panic("boom") })
		if !d.Allow || !strings.Contains(d.Reason, "boom") {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("zero timeout means the default", func(t *testing.T) {
		d := cubu.DecideWithin(ctx, 0, func(ctx context.Context) (cubu.Decision, error) {
			dl, ok := ctx.Deadline()
			if !ok || time.Until(dl) > cubu.DefaultBeforeHookTimeout || time.Until(dl) < cubu.DefaultBeforeHookTimeout-time.Second {
				return cubu.Decision{Allow: true, Reason: "bad deadline"}, nil
			}
			return deny, nil
		})
		if d.Allow {
			t.Fatalf("%+v", d)
		}
	})
	t.Run("pure Decide within a deadline", func(t *testing.T) {
		p := parseFixture(t, cubu.BeforeResolve, "beforeResolve.json")
		d := cubu.DecideWithin(ctx, time.Second, func(context.Context) (cubu.Decision, error) {
			return cubu.Decide(p, testMapping(), []string{"location.address"}), nil
		})
		if d.Allow || !slices.Equal(d.Missing, []string{"location.address"}) {
			t.Fatalf("%+v", d)
		}
	})
}
