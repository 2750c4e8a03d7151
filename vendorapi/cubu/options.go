package cubu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// MaxBeforeHookTimeout is the largest accepted beforeHookTimeout: Cubu stops waiting after
// about 5 s and then blocks the action, so our deadline must stay below it.
const MaxBeforeHookTimeout = 4500 * time.Millisecond

// MaxReplayWindow is the largest accepted replayWindow: deliveries are remembered in the
// server's shared delivery log, which the API prunes after 72 h, so a longer window could not
// be honoured.
const MaxReplayWindow = 72 * time.Hour

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
	// Decide), on top of what the work system requires; empty means only the work system's.
	RequiredFields []string `json:"requiredFields,omitempty"`
	// AfterClose says what a closed case does to its open ticket: AfterCloseCancel (default)
	// or AfterCloseIgnore, for Cubu processes that close every resolved case as routine.
	AfterClose string `json:"afterClose,omitempty"`
}

// AfterClose values.
const (
	AfterCloseCancel = "cancel"
	AfterCloseIgnore = "ignore"
)

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
	if o.AfterClose == "" {
		o.AfterClose = AfterCloseCancel
	}
	return o
}

// Validate lists every problem of o (after WithDefaults), not just the first.
func (o Options) Validate() error {
	var problems []string
	if o.CreateOn != AfterResolve && o.CreateOn != AfterQueueUp {
		problems = append(problems, fmt.Sprintf("createOn %q must be %s or %s", o.CreateOn, AfterResolve, AfterQueueUp))
	}
	if o.ReplayWindow < time.Hour || o.ReplayWindow > MaxReplayWindow {
		problems = append(problems, fmt.Sprintf("replayWindow %s must be between 1h and 72h (the contract asks for 24h; the delivery log keeps 72h)",
			o.ReplayWindow))
	}
	if o.BeforeHookTimeout <= 0 || o.BeforeHookTimeout > MaxBeforeHookTimeout {
		problems = append(problems, fmt.Sprintf("beforeHookTimeout %s must be between 0 and %s (Cubu waits about 5s, then blocks the agent)", o.BeforeHookTimeout, MaxBeforeHookTimeout))
	}
	if o.AfterClose != AfterCloseCancel && o.AfterClose != AfterCloseIgnore {
		problems = append(problems, fmt.Sprintf("afterClose %q must be %s or %s", o.AfterClose, AfterCloseCancel, AfterCloseIgnore))
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

// OptionKeys are the keys of the options block this side reads; the connection's work side
// skips them (the block is shared by both sides).
var OptionKeys = []string{"createOn", "replayWindow", "beforeHookTimeout", "fields", "requiredFields", "afterClose"}

// DecodeOptions reads a connection's options block (YAML decoded into generic values) strictly:
// an unknown key, in the block or in its fields mapping, is an error naming it, so a typo
// never silently falls back to a default. workSideKeys are the keys the connection's work side
// reads from the same block: they are left to it. Durations are strings such as "24h" or "3s".
// Defaults are not applied (see WithDefaults).
func DecodeOptions(m map[string]any, workSideKeys ...string) (Options, error) {
	var o Options
	var problems []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if slices.Contains(workSideKeys, k) && !slices.Contains(OptionKeys, k) {
			continue
		}
		raw, err := json.Marshal(m[k])
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", k, err))
			continue
		}
		var perr error
		switch k {
		case "createOn":
			var s string
			perr = json.Unmarshal(raw, &s)
			o.CreateOn = Hook(s)
		case "replayWindow":
			o.ReplayWindow, perr = optionDuration(raw)
		case "beforeHookTimeout":
			o.BeforeHookTimeout, perr = optionDuration(raw)
		case "fields":
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			perr = dec.Decode(&o.Fields)
		case "requiredFields":
			perr = json.Unmarshal(raw, &o.RequiredFields)
		case "afterClose":
			perr = json.Unmarshal(raw, &o.AfterClose)
		default:
			known := OptionKeys
			if len(workSideKeys) > 0 {
				known = append(slices.Clone(OptionKeys), workSideKeys...)
			}
			perr = fmt.Errorf("unknown key (known: %s)", strings.Join(known, ", "))
		}
		if perr != nil {
			problems = append(problems, fmt.Sprintf("%s: %s", k, optionError(perr)))
		}
	}
	if len(problems) > 0 {
		return Options{}, fmt.Errorf("cubu options: %s", strings.Join(problems, "; "))
	}
	return o, nil
}

// optionDuration reads a duration written as a string; a bare number is refused (seconds?
// minutes?), as everywhere in the connections file.
func optionDuration(raw []byte) (time.Duration, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return 0, errors.New(`want a duration such as "24h" or "3s"`)
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf(`%q is not a duration such as "24h" or "3s"`, s)
	}
	return d, nil
}

// optionError rewords encoding/json's errors for the connections file.
func optionError(err error) string {
	var te *json.UnmarshalTypeError
	msg := err.Error()
	switch {
	case errors.As(err, &te) && te.Field != "":
		return fmt.Sprintf("%s: want %s, got %s", te.Field, te.Type, te.Value)
	case errors.As(err, &te):
		return fmt.Sprintf("want %s, got %s", te.Type, te.Value)
	case strings.HasPrefix(msg, "json: unknown field "):
		return "unknown key " + strings.TrimPrefix(msg, "json: unknown field ")
	}
	return msg
}
