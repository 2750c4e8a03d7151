package cubu

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// DefaultBeforeHookTimeout is how long we take at most to answer a before-hook. The contract
// asks for an answer within 2 s; Cubu itself gives up after about 5 s and then blocks the
// agent's action, which is exactly what we must never cause.
const DefaultBeforeHookTimeout = 2 * time.Second

// BeforeResponse is the body Cubu reads from a before-hook answer (always sent with 200).
// Omitted keys mean "no change"; Cancel blocks the agent's action and shows Message.
// Only fields is verified in Cubu's documentation; the other names are inferred.
type BeforeResponse struct {
	Fields        map[string]string `json:"fields,omitempty"`
	TagIDs        []string          `json:"tagIds,omitempty"`
	ServiceTypeID string            `json:"serviceTypeId,omitempty"`
	Channel       Channel           `json:"channel,omitempty"`
	Cancel        bool              `json:"cancel,omitempty"`
	Message       string            `json:"message,omitempty"`
}

// Decision is the outcome of a before-hook check.
type Decision struct {
	Allow bool
	// Message is shown to the agent when the action is blocked.
	Message string
	// Missing lists the required neutral fields the case lacks.
	Missing []string
	// Reason explains the outcome for logs and the ticket timeline (not shown to the agent).
	Reason string
}

// Response is the answer body for d: "{}" to allow, {"cancel":true,"message":…} to block.
func (d Decision) Response() BeforeResponse {
	if d.Allow {
		return BeforeResponse{}
	}
	return BeforeResponse{Cancel: true, Message: d.Message}
}

// Body is Response as JSON.
func (d Decision) Body() []byte {
	b, _ := json.Marshal(d.Response()) // plain strings and bools: cannot fail
	return b
}

// verbs name the blocked action in agent messages.
var verbs = map[Hook]string{
	BeforeBookAppointment: "book the appointment for",
	BeforeCheckIn:         "check in",
	BeforeQueueUp:         "queue up",
	BeforeResolve:         "resolve",
}

// Decide checks that the case carries every field the work system needs (required: neutral
// names such as "location.address", "description", or "answers.<question>"; see
// ValidateRequired — unknown names are ignored here so a configuration slip never blocks
// agents). Only a value the case really provides counts: ToNewRequest's fallbacks do not.
// After-hooks and cases with everything present are allowed. Decide does no I/O.
func Decide(p Payload, m FieldMapping, required []string) Decision {
	h := p.Hook()
	if !h.Synchronous() {
		return Decision{Allow: true, Reason: fmt.Sprintf("%s is not a before-hook: nothing to decide", h)}
	}
	c := p.CaseInfo()
	v := m.extract(p)
	var missing []string
	for _, name := range required {
		if name == "" {
			continue
		}
		var present, known bool
		if q, ok := strings.CutPrefix(name, answersPrefix); ok && q != "" {
			present, known = m.hasAnswer(c, q), true
		} else if val, ok := v.values[name]; ok {
			present, known = val != "", true
		}
		if known && !present {
			missing = append(missing, name)
		}
	}
	if len(missing) == 0 {
		return Decision{Allow: true, Reason: "every required field is present"}
	}
	names := make([]string, len(missing))
	for i, n := range missing {
		names[i] = m.displayName(n)
	}
	verb := verbs[h]
	msg := fmt.Sprintf("Please fill in %s before you %s %s: the work order needs it.", joinAnd(names), verb, ticketLabel(c))
	if len(names) > 1 {
		msg = strings.Replace(msg, "needs it", "needs them", 1)
	}
	if len(missing) == 1 && missing[0] == FieldRequestType {
		msg = fmt.Sprintf("This service is not set up to create work orders, so you cannot %s %s here yet. Please ask an administrator.", verb, ticketLabel(c))
	}
	return Decision{Allow: false, Message: msg, Missing: missing,
		Reason: "missing required field(s): " + strings.Join(missing, ", ")}
}

// hasAnswer reports whether the case answers question q, given as a label or a field type id.
func (m FieldMapping) hasAnswer(c *Case, q string) bool {
	for id, val := range c.Fields {
		if (id == q || m.label(id) == q) && strings.TrimSpace(val) != "" {
			return true
		}
	}
	return false
}

// joinAnd renders ["A","B","C"] as "A, B and C".
func joinAnd(ss []string) string {
	switch len(ss) {
	case 0:
		return ""
	case 1:
		return ss[0]
	}
	return strings.Join(ss[:len(ss)-1], ", ") + " and " + ss[len(ss)-1]
}

// DecideWithin runs decide with a deadline and always answers in time. If decide fails,
// panics, or has not answered after timeout (DefaultBeforeHookTimeout when <= 0) or when ctx
// ends, the action is allowed: the contract's receiver answers 200 {} and must never block an
// agent on our own trouble. decide gets a context that ends at the deadline; it may keep
// running in the background after DecideWithin returned, so it must not hold resources
// beyond that context.
func DecideWithin(ctx context.Context, timeout time.Duration, decide func(context.Context) (Decision, error)) Decision {
	if timeout <= 0 {
		timeout = DefaultBeforeHookTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		d   Decision
		err error
	}
	ch := make(chan result, 1) // buffered: a late decide never blocks on send
	go func() {
		defer func() {
			if r := recover(); r != nil {
				ch <- result{err: fmt.Errorf("decision panicked: %v", r)}
			}
		}()
		d, err := decide(ctx)
		ch <- result{d, err}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return Decision{Allow: true, Reason: "allowed by default: " + r.err.Error()}
		}
		return r.d
	case <-ctx.Done():
		return Decision{Allow: true, Reason: fmt.Sprintf("allowed by default: no decision within %s (%v)", timeout, context.Cause(ctx))}
	}
}
