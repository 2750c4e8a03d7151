// Package connectors turns the connections file into live connectors: for each connection, the
// work side (a vendorapi.WorkSystem) and the request side (a vendorapi.RequestSystem), each
// with whatever optional capabilities its vendor package implements, plus the pinned defaults.
// Kinds are registered by package connectors/vendors (the only place that maps a kind to a
// vendor package, imported for its side effect by the binary and tests); the engine, the API
// and the workflows see only this package and the vendorapi interfaces.
package connectors

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/metrics"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// ErrUnknownConnection is returned for a connection id not in the configuration.
var ErrUnknownConnection = errors.New("unknown connection")

// Conn is one configured connection with its two sides.
type Conn struct {
	ID           string
	Tenant       string
	RequestKind  string
	WorkKind     string
	Mapping      string        // resolved mapping version for new tickets
	PollInterval time.Duration // 0 = the global default
	RequestTypes []string      // accepted requestType values (empty = any)
	Required     []string      // request fields the work system requires (API 422s without them)
	Work         vendorapi.WorkSystem
	Request      vendorapi.RequestSystem
	Config       config.Connection
}

// PollIntervalOr returns the connection's poll interval or def.
func (c *Conn) PollIntervalOr(def time.Duration) time.Duration {
	if c.PollInterval > 0 {
		return c.PollInterval
	}
	return def
}

// Hooks returns the hook handler of the side whose kind is kind (nil when that side has none
// or the connection does not use the kind): /v1/hooks/{kind}/{connection}/… dispatches here.
func (c *Conn) Hooks(kind string) vendorapi.HookHandler {
	var side any
	switch kind {
	case c.WorkKind:
		side = c.Work
	case c.RequestKind:
		side = c.Request
	default:
		return nil
	}
	h, _ := side.(vendorapi.HookHandler)
	return h
}

// Sides lists the connection's two sides (work first), for capability discovery.
func (c *Conn) Sides() []any { return []any{c.Work, c.Request} }

// Env is what a kind's constructor gets besides the connection's configuration.
type Env struct {
	HTTPClient *http.Client // base client: no redirects, timeouts; wrap its Transport, never mutate it
	UserAgent  string
	// Limiter returns the shared limiter for a connection's calls to one vendor (nil: none).
	Limiter func(connection, vendor string, perMinute int) vendorapi.Limiter
	// Records returns a connection's durable record store, shared by every worker and API
	// process, for kinds that keep state between their hooks and their activities (Pruvan's
	// order source). nil when the process has no store: such kinds fail on use, not on build.
	Records func(connection string) vendorapi.Records
}

// Client returns a copy of the base HTTP client whose calls are paced by the connection's
// shared limiter for vendor (perMinute <= 0: not paced).
func (e Env) Client(connection, vendor string, perMinute int) *http.Client {
	c := &http.Client{}
	if e.HTTPClient != nil {
		*c = *e.HTTPClient
	}
	if c.CheckRedirect == nil {
		c.CheckRedirect = vendorapi.NoRedirect
	}
	if e.Limiter != nil && perMinute > 0 {
		if l := e.Limiter(connection, vendor, perMinute); l != nil {
			c.Transport = vendorapi.LimitTransport(l, c.Transport)
		}
	}
	// Outermost, so the latency metric includes the wait for a rate-limit slot.
	c.Transport = metrics.InstrumentVendor(vendor, c.Transport)
	return c
}

// WorkKind registers a work system kind.
type WorkKind struct {
	Kind string
	// RequestTypes are the accepted requestType values (empty = any) and Required the request
	// fields (dotted JSON paths, e.g. "location.address") the work system needs.
	RequestTypes []string
	Required     []string
	// RateLimit is the vendor's documented calls per minute per credential (0 = none); a
	// connection may lower it with workSystem.rateLimit.
	RateLimit int
	New       func(c config.Connection, env Env) (vendorapi.WorkSystem, error)
}

// RequestKind registers a request system kind.
type RequestKind struct {
	Kind      string
	RateLimit int
	New       func(c config.Connection, env Env) (vendorapi.RequestSystem, error)
}

var (
	kindsMu      sync.RWMutex
	workKinds    = map[string]WorkKind{}
	requestKinds = map[string]RequestKind{}
)

// RegisterWork adds a work system kind (kinds.go; tests may add toy kinds).
func RegisterWork(k WorkKind) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	workKinds[k.Kind] = k
	config.RegisterKind(config.SideWork, k.Kind)
}

// RegisterRequest adds a request system kind.
func RegisterRequest(k RequestKind) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	requestKinds[k.Kind] = k
	config.RegisterKind(config.SideRequest, k.Kind)
}

// WorkKinds and RequestKinds list the registered kinds, sorted.
func WorkKinds() []string {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	return slices.Sorted(maps.Keys(workKinds))
}

// RequestKinds lists the registered request system kinds, sorted.
func RequestKinds() []string {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	return slices.Sorted(maps.Keys(requestKinds))
}

// LookupWorkKind returns a registered work system kind. A request kind's constructor uses it to
// learn what the connection's work system requires (Required, RequestTypes) without knowing
// which kind that is, e.g. to refuse incomplete requests before they are raised.
func LookupWorkKind(kind string) (WorkKind, bool) {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	k, ok := workKinds[kind]
	return k, ok
}

// Registry holds every connection by id. It is immutable after Build.
type Registry struct {
	conns map[string]*Conn
}

// Build creates both sides of every connection in a validated file. Every connection that
// cannot be built is reported (all at once), never silently skipped.
func Build(f *config.File, env Env) (*Registry, error) {
	reg := &Registry{conns: map[string]*Conn{}}
	var errs []error
	for _, c := range f.Connections {
		conn, err := build(c, env)
		if err != nil {
			errs = append(errs, fmt.Errorf("connection %s: %w", c.ID, err))
			continue
		}
		reg.conns[c.ID] = conn
	}
	return reg, errors.Join(errs...)
}

func build(c config.Connection, env Env) (*Conn, error) {
	kindsMu.RLock()
	wk, okW := workKinds[c.WorkSystem.Kind]
	rk, okR := requestKinds[c.RequestSystem.Kind]
	kindsMu.RUnlock()
	if !okW {
		return nil, fmt.Errorf("work system kind %q is not supported by this build (known: %v)", c.WorkSystem.Kind, WorkKinds())
	}
	if !okR {
		return nil, fmt.Errorf("request system kind %q is not supported by this build (known: %v)", c.RequestSystem.Kind, RequestKinds())
	}
	m, err := c.ResolvedMapping()
	if err != nil {
		return nil, err
	}
	conn := &Conn{ID: c.ID, Tenant: c.Tenant, RequestKind: rk.Kind, WorkKind: wk.Kind, Mapping: m.Name,
		PollInterval: c.PollInterval.Duration, Config: c, RequestTypes: wk.RequestTypes, Required: wk.Required}
	var errs []error
	if conn.Work, err = wk.New(c, env); err != nil {
		errs = append(errs, fmt.Errorf("workSystem: %w", err))
	}
	if conn.Request, err = rk.New(c, env); err != nil {
		errs = append(errs, fmt.Errorf("requestSystem: %w", err))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if p, ok := conn.Request.(vendorapi.WorkPeer); ok {
		p.UseWorkSystem(conn.Work) // e.g. SeeClickFix importing requests raised in Cityworks
	}
	return conn, nil
}

// RateLimit is the connection's rateLimit when set (a contract may grant more or less than
// the vendor's documented default), else the default.
func RateLimit(vendorDefault, override int) int {
	if override > 0 {
		return override
	}
	return vendorDefault
}

// Get returns a connection by id.
func (r *Registry) Get(id string) (*Conn, error) {
	if r != nil {
		if c, ok := r.conns[id]; ok {
			return c, nil
		}
	}
	return nil, fmt.Errorf("%w %q: not in the connections file", ErrUnknownConnection, id)
}

// IDs lists connection ids, sorted.
func (r *Registry) IDs() []string {
	if r == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(r.conns))
}
