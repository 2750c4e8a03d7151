// Package connectors turns the connections file into live clients: for each connection, the
// work-system client (vendorapi), the request system's delivery target and the pinned defaults.
// It is the only place that knows which vendor package serves which `kind`.
package connectors

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/portal"
	"github.com/ticketsync/ticketsync/vendorapi/theworxhub"
)

// ErrUnknownConnection is returned for a connection id not in the configuration.
var ErrUnknownConnection = errors.New("unknown connection")

// Conn is one configured connection with its clients.
type Conn struct {
	ID            string
	Tenant        string
	RequestKind   string
	WorkKind      string
	Mapping       string        // resolved mapping version for new tickets
	PollInterval  time.Duration // 0 = the global default
	RequestTypes  []string      // accepted requestType values (empty = any)
	Work          vendorapi.WorkSystem
	Portal        portal.Target
	WebhookSecret string // verifies the work system's pushes ("" = unsigned pushes accepted)
	Config        config.Connection
}

// PollIntervalOr returns the connection's poll interval or def.
func (c *Conn) PollIntervalOr(def time.Duration) time.Duration {
	if c.PollInterval > 0 {
		return c.PollInterval
	}
	return def
}

// Registry holds every connection by id. It is immutable after Build.
type Registry struct {
	conns map[string]*Conn
}

// Options tune the clients built for every connection.
type Options struct {
	HTTPClient *http.Client
	UserAgent  string
}

// RequestTypes per work-system kind (DESIGN.md §6).
var RequestTypes = map[string][]string{
	"theworxhub": {"Maintenance", "Housekeeping", "IT Support"},
}

// Build creates the clients of every connection in a validated file. Kinds whose connector is
// not built yet are reported as errors rather than silently ignored.
func Build(f *config.File, opts Options) (*Registry, error) {
	reg := &Registry{conns: map[string]*Conn{}}
	var errs []error
	for _, c := range f.Connections {
		conn, err := build(c, opts)
		if err != nil {
			errs = append(errs, fmt.Errorf("connection %s: %w", c.ID, err))
			continue
		}
		reg.conns[c.ID] = conn
	}
	return reg, errors.Join(errs...)
}

func build(c config.Connection, opts Options) (*Conn, error) {
	conn := &Conn{ID: c.ID, Tenant: c.Tenant, RequestKind: c.RequestSystem.Kind, WorkKind: c.WorkSystem.Kind,
		PollInterval: c.PollInterval.Duration, Config: c, RequestTypes: RequestTypes[c.WorkSystem.Kind]}
	m := c.Mapping
	if m == "" {
		latest, err := mapping.Latest(c.WorkSystem.Kind)
		if err != nil {
			return nil, err
		}
		m = latest.Name
	}
	conn.Mapping = m
	switch c.WorkSystem.Kind {
	case "theworxhub":
		client, err := theworxhub.New(theworxhub.Config{BaseURL: c.WorkSystem.BaseURL, ClientID: c.WorkSystem.ClientID,
			ClientSecret: c.WorkSystem.ClientSecret, HTTPClient: opts.HTTPClient, UserAgent: opts.UserAgent})
		if err != nil {
			return nil, err
		}
		conn.Work = client
		conn.WebhookSecret = c.WorkSystem.WebhookSecret
	default:
		return nil, fmt.Errorf("work system kind %q is not supported by this version", c.WorkSystem.Kind)
	}
	switch c.RequestSystem.Kind {
	case "portal":
		target := portal.Target{URL: c.RequestSystem.URL}
		for _, s := range c.RequestSystem.PortalSecrets() {
			sec, err := portal.ParseSecret(s)
			if err != nil {
				return nil, fmt.Errorf("requestSystem.secret: %w", err)
			}
			target.Secrets = append(target.Secrets, sec)
		}
		conn.Portal = target
	default:
		return nil, fmt.Errorf("request system kind %q is not supported by this version", c.RequestSystem.Kind)
	}
	return conn, nil
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
	ids := make([]string, 0, len(r.conns))
	for id := range r.conns {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}
