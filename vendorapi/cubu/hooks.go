// Package cubu is the connector for Cubu, a queue and appointment system used as a request
// system: Cubu calls our service webhooks (HMAC-signed, no timestamp or delivery id) when a
// case is queued up, served, resolved, …, and we call Cubu's S2S API (Azure AD
// client-credentials tokens) to resolve a case as an agent.
//
// The package is split by concern:
//   - hooks.go: the hook names, which are synchronous, and routing on the URL's last segment;
//   - payload.go, values.go, parse.go: typed payloads per hook, their value types (dates,
//     times, form fields) and a size-limited parser;
//   - hmac.go, replay.go: signature verification (secret rotation) and replay protection;
//   - before.go, mapping.go: the before-hook allow/deny decision and the mapping of a case to
//     a vendor-neutral new request;
//   - options.go: the connection's cubu options (createOn, replayWindow, beforeHookTimeout,
//     afterClose, requiredFields, fields), read strictly by DecodeOptions;
//   - client.go, token.go: the S2S client and its Azure AD client-credentials tokens;
//   - connector.go, receive.go, notify.go: the request side of a connection (Connector): hooks
//     to intents, the before-hook gate, status back to Cubu, and connections validate.
//
// docs/integrations/cubu.md describes the integration for operators.
//
// The wire format follows shared/contracts/cubu.md. The simulator in ./sim implements the same
// contract independently; contract_test.go runs the client against it over real HTTP.
package cubu

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// Vendor is the connection kind and the Vendor field of every error this package returns.
const Vendor = "cubu"

// Hook names one service webhook. The value is our canonical name; Path gives the URL segment
// Cubu documents, which differs for two hooks.
type Hook string

// Service webhooks. The before* hooks are synchronous: Cubu waits for our answer and may
// block the agent's action on it.
const (
	AfterBookAppointment  Hook = "afterBookAppointment"
	AfterCheckIn          Hook = "afterCheckIn"
	AfterClose            Hook = "afterClose"
	AfterQueueUp          Hook = "afterQueueUp"
	AfterResolve          Hook = "afterResolve"
	AfterStartWork        Hook = "afterStartWork"
	BeforeBookAppointment Hook = "beforeBookAppointment"
	BeforeCheckIn         Hook = "beforeCheckIn"
	BeforeQueueUp         Hook = "beforeQueueUp"
	BeforeResolve         Hook = "beforeResolve"
)

// Hooks lists every service webhook, after-hooks first, each group alphabetically.
var Hooks = []Hook{
	AfterBookAppointment, AfterCheckIn, AfterClose, AfterQueueUp, AfterResolve, AfterStartWork,
	BeforeBookAppointment, BeforeCheckIn, BeforeQueueUp, BeforeResolve,
}

// PathPrefix is where Cubu posts service webhooks, below the configured Base URL.
const PathPrefix = "/service/actions/"

// documentedPath holds the two hooks whose documented URL segment is not their name
// (startWork without "after", beforeResolved with a trailing "d").
var documentedPath = map[Hook]string{
	AfterStartWork: "startWork",
	BeforeResolve:  "beforeResolved",
}

// segments maps every accepted last URL segment (both spellings) to its hook.
var segments = func() map[string]Hook {
	m := make(map[string]Hook, len(Hooks)+len(documentedPath))
	for _, h := range Hooks {
		m[string(h)] = h
	}
	for h, seg := range documentedPath {
		m[seg] = h
	}
	return m
}()

// Synchronous reports whether Cubu waits for our answer to h (the before* hooks).
func (h Hook) Synchronous() bool {
	switch h {
	case BeforeBookAppointment, BeforeCheckIn, BeforeQueueUp, BeforeResolve:
		return true
	}
	return false
}

// Valid reports whether h is one of Hooks.
func (h Hook) Valid() bool { return slices.Contains(Hooks, h) }

// Segment is the last URL segment Cubu documents for h ("startWork", "beforeResolved", or the
// hook's own name).
func (h Hook) Segment() string {
	if seg, ok := documentedPath[h]; ok {
		return seg
	}
	return string(h)
}

// Path is the documented path of h below Cubu's Base URL, e.g. "/service/actions/startWork".
func (h Hook) Path() string { return PathPrefix + h.Segment() }

// String returns the canonical name.
func (h Hook) String() string { return string(h) }

// UnknownHookError is returned for a URL whose last segment names no service webhook.
type UnknownHookError struct{ Segment string }

func (e *UnknownHookError) Error() string {
	return fmt.Sprintf("cubu: unknown service webhook %q (want one of %s)", e.Segment, strings.Join(hookNames(), ", "))
}

func hookNames() []string {
	out := make([]string, len(Hooks))
	for i, h := range Hooks {
		out[i] = string(h)
	}
	return out
}

// ParseHook resolves a hook from a request path or its last segment: "afterResolve",
// "/v1/hooks/cubu/c1/service/actions/startWork" and "beforeResolved" all work. Matching is
// exact (case-sensitive), as the paths are configured in Cubu, not typed by people.
func ParseHook(p string) (Hook, error) {
	seg := path.Base(strings.TrimRight(p, "/"))
	if h, ok := segments[seg]; ok {
		return h, nil
	}
	return "", &UnknownHookError{Segment: seg}
}
