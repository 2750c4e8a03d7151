package pruvan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// The order book: what ticketsync, as Pruvan's order source, keeps per connection in the
// store (vendorapi.Records), shared by the API process (Pruvan's calls, the request system's
// pushes) and the workers (the tickets' activities). Collections:
//
//	order         key: the request system's id   the project as published and as Pruvan has it
//	project       key: workOrderNumber           index → the request system's id
//	status        key: the request system's id   Pruvan's last status report
//	item:<ext>    key: Pruvan uuid               a photo or survey Pruvan uploaded, and its relay
//	setting       key: pushKey, trigger          the push key Validate sent; the last call of it
//
// Photo bytes are blobs under "photo/<uuid>" until the request system has them.

const (
	collOrder   = "order"
	collProject = "project"
	collStatus  = "status"
	collSetting = "setting"

	settingPushKey = "pushKey"
	settingTrigger = "trigger"

	// casAttempts bounds the optimistic update loop (a record contended this much is a bug).
	casAttempts = 8
	// publishTriggerTimeout bounds the push key call after an update (see Publish).
	publishTriggerTimeout = 5 * time.Second
)

func collItems(externalID string) string { return "item:" + externalID }
func photoBlob(uuid string) string       { return "photo/" + uuid }

// order is one project the order source serves.
type order struct {
	ExternalID string `json:"externalId"`
	// Project is the workOrderNumber, fixed at the first publish (Pruvan's upsert key).
	Project string `json:"project"`
	// Request is the ticket's request as first published: later intake runs start the
	// ticket with exactly this, so a replay is recognised as the same request.
	Request vendorapi.NewRequest `json:"request"`
	// Source is the latest project as the request system describes it.
	Source WorkOrder `json:"source"`
	// Current is the project as Pruvan has it (or will after its next pull); nil until the
	// ticket created it. It is what getWorkOrders serves.
	Current *WorkOrder `json:"current,omitempty"`
	// ImportedAt is when getWorkOrders first served it.
	ImportedAt *time.Time `json:"importedAt,omitempty"`
	// Closed is the source's final status once the source order ended (auto-close).
	Closed string `json:"closed,omitempty"`
	// Notes explain what an update did not change (tasks, shared fields without Auto-Admin),
	// for the ticket's timeline.
	Notes []Note `json:"notes,omitempty"`
}

// Note is a remark about a project for the ticket's timeline.
type Note struct {
	ID   string    `json:"id"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// ProjectStatus is Pruvan's last status report for a project.
type ProjectStatus struct {
	Status        string    `json:"status"`
	CompletedDate string    `json:"completedDate,omitempty"`
	Completed     time.Time `json:"completed,omitzero"`
	ReportedAt    time.Time `json:"reportedAt"`
}

// IsComplete reports whether Pruvan said the field work is done.
func (s ProjectStatus) IsComplete() bool { return strings.EqualFold(s.Status, StatusComplete) }

// errNoStore: the connection has no record store (a process built without one).
var errNoStore = &vendorapi.Error{Vendor: Vendor, Op: "order book", Code: "no_store",
	Message: "this process has no store for Pruvan's order source (build connectors with connectors.Env.Records)"}

func (w *WorkSystem) records() (vendorapi.Records, error) {
	if w.rec == nil {
		return nil, errNoStore
	}
	return w.rec, nil
}

// storeErr classifies a store failure: transient (the activity or Pruvan retries).
func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ve *vendorapi.Error
	if errors.As(err, &ve) {
		return err
	}
	return &vendorapi.Error{Vendor: Vendor, Op: op, Message: "store", Err: err, Retryable: true}
}

func getJSON[T any](ctx context.Context, rs vendorapi.Records, coll, key string) (T, vendorapi.Record, bool, error) {
	var v T
	rec, ok, err := rs.Get(ctx, coll, key)
	if err != nil || !ok {
		return v, rec, ok, err
	}
	if err := json.Unmarshal(rec.Value, &v); err != nil {
		return v, rec, false, fmt.Errorf("pruvan: record %s/%s: %w", coll, key, err)
	}
	return v, rec, true, nil
}

// update applies fn to a record under optimistic concurrency: read, change, write if still
// at the version read, else again. fn reports whether to write; create makes a missing record
// (nil: a missing record is left missing and ok is false).
func update[T any](ctx context.Context, rs vendorapi.Records, coll, key string, create func() T, fn func(*T) (bool, error)) (v T, ok bool, err error) {
	for range casAttempts {
		cur, rec, found, err := getJSON[T](ctx, rs, coll, key)
		if err != nil {
			return v, false, err
		}
		if !found {
			if create == nil {
				return v, false, nil
			}
			cur = create()
		}
		write, err := fn(&cur)
		if err != nil {
			return cur, found, err
		}
		if !write {
			return cur, true, nil
		}
		b, err := json.Marshal(cur)
		if err != nil {
			return cur, found, err
		}
		_, err = rs.Put(ctx, coll, key, b, rec.Version)
		if errors.Is(err, vendorapi.ErrRecordChanged) {
			continue
		}
		return cur, err == nil, err
	}
	return v, false, fmt.Errorf("pruvan: record %s/%s: %w %d times", coll, key, vendorapi.ErrRecordChanged, casAttempts)
}

// noteID is stable for a text, so a repeated remark is recorded (and shown) once.
func noteID(externalID, text string) string {
	sum := sha256.Sum256([]byte(externalID + "\x00" + text))
	return "pruvan-note:" + hex.EncodeToString(sum[:8])
}

func (o *order) addNotes(texts []string, at time.Time) []string {
	var added []string
	for _, t := range texts {
		id := noteID(o.ExternalID, t)
		if slices.ContainsFunc(o.Notes, func(n Note) bool { return n.ID == id }) {
			continue
		}
		o.Notes = append(o.Notes, Note{ID: id, Text: t, At: at.UTC()})
		added = append(added, t)
	}
	return added
}

// sameJSON compares two values as they are stored.
func sameJSON(a, b any) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}

// Published says what a Publish did.
type Published struct {
	// Known: the project was published before (its ticket was started by then).
	Known bool
	// Changed: the source's project differs from what was published before.
	Changed bool
	// Request is the ticket's request as first published (start the ticket with it).
	Request vendorapi.NewRequest
	// Notes are the remarks this update added (what Pruvan will not change, and why).
	Notes []string
}

// Publish records the request system's current version of a project (e.g. a Cyprexx work
// order mapped with cyprexx.ToPruvan) under the request system's id. The first publish
// fixes the project id and the ticket's request; later ones update what Pruvan gets, as
// Pruvan's field ownership and the connection's Auto-Admin allow (tasks never change after
// import: a note says why). Once the ticket created the project, a change calls the push key
// so Pruvan pulls it at once. Publishing the same version again changes nothing.
func (w *WorkSystem) Publish(ctx context.Context, externalID string, req vendorapi.NewRequest, wo WorkOrder) (Published, error) {
	const op = "publish project"
	rs, err := w.records()
	if err != nil {
		return Published{}, err
	}
	if externalID == "" || strings.TrimSpace(wo.WorkOrderNumber) == "" {
		return Published{}, &vendorapi.Error{Vendor: Vendor, Op: op, Code: "invalid_argument", Message: "project without id or workOrderNumber"}
	}
	var res Published
	var pruvanChanged bool
	now := w.now()
	o, _, err := update(ctx, rs, collOrder, externalID,
		func() order { return order{ExternalID: externalID, Project: wo.WorkOrderNumber, Request: req} },
		func(o *order) (bool, error) {
			res, pruvanChanged = Published{Known: o.Source.WorkOrderNumber != "", Request: o.Request}, false
			incoming := wo
			incoming.Services = append([]Service(nil), wo.Services...)
			var notes []string
			if incoming.WorkOrderNumber != o.Project {
				notes = append(notes, fmt.Sprintf("the project keeps its id %q: the request system now names it %q, but Pruvan's projects are keyed by the id they were imported with", o.Project, incoming.WorkOrderNumber))
				incoming.WorkOrderNumber = o.Project
			}
			if o.Closed != "" {
				incoming.ClientStatus = o.Closed // a closed project stays closed
			}
			if sameJSON(o.Source, incoming) {
				return false, nil
			}
			res.Changed = true
			o.Source = incoming
			if o.Current != nil {
				m, err := Merge(o.Current, incoming, w.opts.AutoAdmin)
				if err != nil {
					return false, err
				}
				if len(m.Changed) > 0 {
					cur := m.WorkOrder
					o.Current, pruvanChanged = &cur, true
				}
				notes = append(notes, m.Notes...)
			}
			res.Notes = o.addNotes(notes, now)
			return true, nil
		})
	if err != nil {
		return Published{}, storeErr(op, err)
	}
	if !res.Known {
		if err := w.index(ctx, rs, o.Project, externalID); err != nil {
			return Published{}, err
		}
	}
	if pruvanChanged {
		// Best effort, and short: a push receiver waits for this, and the change is served on
		// Pruvan's next pull anyway.
		tctx, cancel := context.WithTimeout(ctx, publishTriggerTimeout)
		_ = w.trigger(tctx)
		cancel()
	}
	return res, nil
}

// IsPublished reports whether a project was published for the request system's id.
func (w *WorkSystem) IsPublished(ctx context.Context, externalID string) (bool, error) {
	rs, err := w.records()
	if err != nil {
		return false, err
	}
	_, ok, err := rs.Get(ctx, collOrder, externalID)
	return ok, storeErr("find project", err)
}

// FirstOpen is when the oldest project still open in the book was first published (zero when
// none is open). A request system's first Full Refresh lists only active orders: its
// watermark must start before the tickets pushes may already have opened, or an order that
// ended meanwhile would never reach its ticket.
func (w *WorkSystem) FirstOpen(ctx context.Context) (time.Time, error) {
	rs, err := w.records()
	if err != nil {
		return time.Time{}, err
	}
	recs, err := rs.List(ctx, collOrder, time.Time{})
	if err != nil {
		return time.Time{}, storeErr("list projects", err)
	}
	for _, rec := range recs { // oldest created first
		var o order
		if json.Unmarshal(rec.Value, &o) == nil && o.Closed == "" {
			return rec.CreatedAt, nil
		}
	}
	return time.Time{}, nil
}

// index records workOrderNumber → the request system's id (Pruvan's calls name projects by
// number).
func (w *WorkSystem) index(ctx context.Context, rs vendorapi.Records, project, externalID string) error {
	b, _ := json.Marshal(map[string]string{"externalId": externalID})
	_, err := rs.Put(ctx, collProject, project, b, 0)
	if errors.Is(err, vendorapi.ErrRecordChanged) {
		return nil // indexed already (a publish that raced or was repeated)
	}
	return storeErr("index project", err)
}

// lookup finds the request system's id of a project number.
func (w *WorkSystem) lookup(ctx context.Context, rs vendorapi.Records, project string) (string, bool, error) {
	v, _, ok, err := getJSON[map[string]string](ctx, rs, collProject, project)
	if err != nil || !ok {
		return "", false, storeErr("find project", err)
	}
	return v["externalId"], v["externalId"] != "", nil
}

// Close ends a project whose source order finished (auto-close): clientStatus becomes the
// source's final status (e.g. "Completed", "Cancelled"), it is pushed to Pruvan, and full
// refreshes no longer return the project (incremental ones still carry the final status).
func (w *WorkSystem) Close(ctx context.Context, externalID, finalStatus string) error {
	const op = "close project"
	rs, err := w.records()
	if err != nil {
		return err
	}
	if strings.TrimSpace(finalStatus) == "" {
		return &vendorapi.Error{Vendor: Vendor, Op: op, Code: "invalid_argument", Message: "empty final status"}
	}
	o, ok, err := update(ctx, rs, collOrder, externalID, nil, func(o *order) (bool, error) {
		if o.Closed == finalStatus {
			return false, nil
		}
		o.Closed, o.Source.ClientStatus = finalStatus, finalStatus
		if o.Current != nil {
			cur := *o.Current
			cur.ClientStatus = finalStatus
			o.Current = &cur
		}
		return true, nil
	})
	if err != nil {
		return storeErr(op, err)
	}
	if !ok {
		return &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: 404, Code: "not_found", Message: "no project for " + externalID}
	}
	if err := w.dropUnrelayed(ctx, rs, externalID, finalStatus); err != nil {
		return err
	}
	if o.Current != nil {
		if key, _ := w.pushKey(ctx, rs); key != "" {
			// Best effort: the closed status also goes out with Pruvan's next pull.
			_ = w.push.CloseProject(ctx, key, o.Project, finalStatus)
		}
	}
	return nil
}

// ReportedStatus is Pruvan's last status report for a project (zero when none yet).
func (w *WorkSystem) ReportedStatus(ctx context.Context, externalID string) (ProjectStatus, error) {
	rs, err := w.records()
	if err != nil {
		return ProjectStatus{}, err
	}
	st, _, _, err := getJSON[ProjectStatus](ctx, rs, collStatus, externalID)
	return st, storeErr("read status", err)
}

// pushKey is the push key Pruvan sent to validate ("" when none yet).
func (w *WorkSystem) pushKey(ctx context.Context, rs vendorapi.Records) (string, error) {
	key, _, _, err := getJSON[string](ctx, rs, collSetting, settingPushKey)
	return key, storeErr("read push key", err)
}

// triggerOutcome is the last call of the push key, for connections validate.
type triggerOutcome struct {
	At    time.Time `json:"at"`
	OK    bool      `json:"ok"`
	Error string    `json:"error,omitempty"`
}

// trigger calls the push key so Pruvan pulls at once; errNoPushKey when Pruvan never
// validated the integration. The outcome is remembered for connections validate.
func (w *WorkSystem) trigger(ctx context.Context) error {
	rs, err := w.records()
	if err != nil {
		return err
	}
	key, err := w.pushKey(ctx, rs)
	if err != nil {
		return err
	}
	if key == "" {
		return errNoPushKey
	}
	err = w.push.Trigger(ctx, key)
	out := triggerOutcome{At: w.now().UTC(), OK: err == nil}
	if err != nil {
		out.Error = err.Error()
	}
	b, _ := json.Marshal(out)
	if _, _, err := update(ctx, rs, collSetting, settingTrigger, func() json.RawMessage { return nil },
		func(v *json.RawMessage) (bool, error) { *v = b; return true, nil }); err != nil {
		return storeErr("record push key call", err)
	}
	return err
}

var errNoPushKey = errors.New("pruvan: no push key yet (the integration was never validated in Pruvan)")
