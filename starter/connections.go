package starter

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/ticketsync/ticketsync/connectors"
	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// ConnectionView is a connection as the API shows it: kinds, pinned defaults, what each side
// can do, and the state of its two inbound streams.
type ConnectionView struct {
	ID            string        `json:"id"`
	Tenant        string        `json:"tenant"`
	RequestSystem string        `json:"requestSystem"`
	WorkSystem    string        `json:"workSystem"`
	Mapping       string        `json:"mapping"`
	PollInterval  string        `json:"pollInterval"`
	RequestTypes  []string      `json:"requestTypes"`
	Capabilities  []string      `json:"capabilities"`
	Feed          *StreamStatus `json:"feed"`
	Intake        *StreamStatus `json:"intake"`
}

// StreamStatus is the state of a change feed or an intake poller.
type StreamStatus struct {
	Cursor     *string `json:"cursor"`
	LastRead   *string `json:"lastRead"`
	LagSeconds *int    `json:"lagSeconds"`
	LastError  *string `json:"lastError"`
}

// capabilities names what a connection's sides implement (for operators and the CLI).
func capabilities(c *connectors.Conn) []string {
	caps := []string{}
	add := func(ok bool, name string) {
		if ok {
			caps = append(caps, name)
		}
	}
	_, feed := c.Work.(vendorapi.ChangeFeed)
	_, intake := c.Request.(vendorapi.Intake)
	_, catalog := c.Work.(vendorapi.CatalogSource)
	_, sink := c.Request.(vendorapi.CatalogSink)
	_, attach := c.Work.(vendorapi.Attachments)
	add(feed, "changeFeed")
	add(intake, "intake")
	add(catalog && sink, "catalog")
	add(attach, "attachments")
	add(c.Hooks(c.WorkKind) != nil, "workHooks")
	add(c.Hooks(c.RequestKind) != nil, "requestHooks")
	return caps
}

func (a *API) streamStatus(r *http.Request, conn, cursorName, lastReadName, lastErrorName string) *StreamStatus {
	cur := func(name string) *string {
		v, _ := a.Store.GetCursor(r.Context(), conn, name)
		if v == "" {
			return nil
		}
		return &v
	}
	st := &StreamStatus{Cursor: cur(cursorName), LastRead: cur(lastReadName), LastError: cur(lastErrorName)}
	if st.LastRead != nil {
		if t, err := time.Parse(time.RFC3339Nano, *st.LastRead); err == nil {
			lag := int(time.Since(t).Seconds())
			st.LagSeconds = &lag
		}
	}
	return st
}

func (a *API) connectionView(r *http.Request, c *connectors.Conn) ConnectionView {
	v := ConnectionView{ID: c.ID, Tenant: c.Tenant, RequestSystem: c.RequestKind, WorkSystem: c.WorkKind,
		Mapping: c.Mapping, PollInterval: c.PollIntervalOr(a.PollInterval).String(), RequestTypes: c.RequestTypes,
		Capabilities: capabilities(c)}
	if v.RequestTypes == nil {
		v.RequestTypes = []string{}
	}
	if _, ok := c.Work.(vendorapi.ChangeFeed); ok {
		v.Feed = a.streamStatus(r, c.ID, engine.FeedWatermarkCursor, engine.FeedLastReadCursor, engine.FeedLastErrorCursor)
	}
	if _, ok := c.Request.(vendorapi.Intake); ok {
		v.Intake = a.streamStatus(r, c.ID, engine.IntakeCursor, engine.IntakeLastReadCursor, engine.IntakeLastErrorCursor)
	}
	return v
}

// tenantConnection returns the caller's connection {id} (another tenant's is 404; an operator
// key sees every tenant's).
func (a *API) tenantConnection(r *http.Request) (*connectors.Conn, *Problem) {
	id := r.PathValue("id")
	c, err := a.Connections.Get(id)
	if err != nil || !canSee(r, c.Tenant) {
		return nil, problem(http.StatusNotFound, fmt.Sprintf("connection %q not found", id))
	}
	return c, nil
}

func (a *API) listConnections(w http.ResponseWriter, r *http.Request) *Problem {
	out := struct {
		Items []ConnectionView `json:"items"`
	}{Items: []ConnectionView{}}
	for _, id := range a.Connections.IDs() {
		if c, _ := a.Connections.Get(id); canSee(r, c.Tenant) {
			out.Items = append(out.Items, a.connectionView(r, c))
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) getConnection(w http.ResponseWriter, r *http.Request) *Problem {
	c, p := a.tenantConnection(r)
	if p != nil {
		return p
	}
	writeJSON(w, http.StatusOK, a.connectionView(r, c))
	return nil
}

// ValidateResult answers POST /v1/connections/{id}/validate.
type ValidateResult struct {
	Connection string            `json:"connection"`
	OK         bool              `json:"ok"`
	Checks     []vendorapi.Check `json:"checks"`
}

func (a *API) validateConnection(w http.ResponseWriter, r *http.Request) *Problem {
	c, p := a.tenantConnection(r)
	if p != nil {
		return p
	}
	res := ValidateResult{Connection: c.ID, OK: true, Checks: a.Engine.Validate(r.Context(), c)}
	for _, ch := range res.Checks {
		res.OK = res.OK && ch.OK
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// RefreshResult answers POST /v1/connections/{id}/refresh.
type RefreshResult struct {
	Connection string `json:"connection"`
	Full       bool   `json:"full"`
	engine.Counts
	DurationMS int64 `json:"durationMs"`
}

func (a *API) refreshConnection(w http.ResponseWriter, r *http.Request) *Problem {
	c, p := a.tenantConnection(r)
	if p != nil {
		return p
	}
	full := false
	if v := r.URL.Query().Get("full"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return validationProblem([]FieldError{{"full", "must be true or false"}})
		}
		full = b
	}
	if _, ok := c.Request.(vendorapi.Intake); !ok {
		return problem(http.StatusConflict, fmt.Sprintf("connection %s: request system %s has no intake to refresh (requests arrive through the API or hooks)", c.ID, c.RequestKind))
	}
	start := time.Now()
	counts, err := a.Engine.RunIntake(r.Context(), c, full, nil)
	if err != nil {
		a.log().Warn("refresh failed", "connection", c.ID, "error", err)
		return problem(http.StatusBadGateway, fmt.Sprintf("refresh stopped after new=%d updated=%d unchanged=%d failed=%d: %v",
			counts.New, counts.Updated, counts.Unchanged, counts.Failed, err))
	}
	writeJSON(w, http.StatusOK, RefreshResult{Connection: c.ID, Full: full, Counts: counts, DurationMS: time.Since(start).Milliseconds()})
	return nil
}

// CatalogResult answers POST /v1/connections/{id}/sync-catalog.
type CatalogResult struct {
	Connection string `json:"connection"`
	Categories int    `json:"categories"`
	vendorapi.CatalogCounts
}

func (a *API) syncCatalog(w http.ResponseWriter, r *http.Request) *Problem {
	c, p := a.tenantConnection(r)
	if p != nil {
		return p
	}
	counts, n, err := a.Engine.SyncCatalog(r.Context(), c)
	if errors.Is(err, engine.ErrNoCapability) {
		return problem(http.StatusConflict, fmt.Sprintf("connection %s: %v", c.ID, err))
	}
	if err != nil {
		return problem(http.StatusBadGateway, err.Error())
	}
	writeJSON(w, http.StatusOK, CatalogResult{Connection: c.ID, Categories: n, CatalogCounts: counts})
	return nil
}
