package cubu

import (
	"fmt"
	"strings"
	"time"
)

// MaxBeforeHookTimeout is the largest accepted beforeHookTimeout: Cubu stops waiting after
// about 5 s and then blocks the action, so our deadline must stay below it.
const MaxBeforeHookTimeout = 4500 * time.Millisecond

// Options are a cubu connection's options (the connections file's "options" block).
type Options struct {
	// CreateOn is the hook that creates the ticket: AfterResolve (default) or AfterQueueUp.
	CreateOn Hook `json:"createOn,omitempty"`
	// ReplayWindow is how long deliveries are remembered for dedupe (default 24 h).
	ReplayWindow time.Duration `json:"replayWindow,omitempty"`
	// BeforeHookTimeout bounds our before-hook answer (default 2 s, at most 4.5 s).
	BeforeHookTimeout time.Duration `json:"beforeHookTimeout,omitempty"`
	// Fields maps Cubu form fields to the request (see FieldMapping).
	Fields FieldMapping `json:"fields,omitzero"`
	// RequiredFields are checked by the before-hook that guards CreateOn (see GateHook and
	// Decide); empty means before-hooks always allow.
	RequiredFields []string `json:"requiredFields,omitempty"`
}

// WithDefaults fills unset options.
func (o Options) WithDefaults() Options {
	if o.CreateOn == "" {
		o.CreateOn = AfterResolve
	}
	if o.ReplayWindow == 0 {
		o.ReplayWindow = DefaultReplayWindow
	}
	if o.BeforeHookTimeout == 0 {
		o.BeforeHookTimeout = DefaultBeforeHookTimeout
	}
	return o
}

// Validate lists every problem of o (after WithDefaults), not just the first.
func (o Options) Validate() error {
	var problems []string
	if o.CreateOn != AfterResolve && o.CreateOn != AfterQueueUp {
		problems = append(problems, fmt.Sprintf("createOn %q must be %s or %s", o.CreateOn, AfterResolve, AfterQueueUp))
	}
	if o.ReplayWindow < time.Hour {
		problems = append(problems, fmt.Sprintf("replayWindow %s must be at least 1h (the contract asks for 24h)", o.ReplayWindow))
	}
	if o.BeforeHookTimeout <= 0 || o.BeforeHookTimeout > MaxBeforeHookTimeout {
		problems = append(problems, fmt.Sprintf("beforeHookTimeout %s must be between 0 and %s (Cubu waits about 5s, then blocks the agent)", o.BeforeHookTimeout, MaxBeforeHookTimeout))
	}
	if err := ValidateRequired(o.RequiredFields); err != nil {
		problems = append(problems, strings.TrimPrefix(err.Error(), "cubu: "))
	}
	if len(problems) > 0 {
		return fmt.Errorf("cubu options: %s", strings.Join(problems, "; "))
	}
	return nil
}

// GateHook is the before-hook that guards hook h: the agent's action that leads to h can be
// blocked there while required fields are missing (beforeResolve for afterResolve,
// beforeQueueUp for afterQueueUp, beforeCheckIn for afterCheckIn, beforeBookAppointment for
// afterBookAppointment). Other hooks have none and yield "".
func GateHook(h Hook) Hook {
	switch h {
	case AfterResolve:
		return BeforeResolve
	case AfterQueueUp:
		return BeforeQueueUp
	case AfterCheckIn:
		return BeforeCheckIn
	case AfterBookAppointment:
		return BeforeBookAppointment
	}
	return ""
}
