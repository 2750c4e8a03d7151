package pruvan

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// sinceOverlap widens an incremental getWorkOrders: Pruvan's timestamp is its own clock (and
// whole seconds), ours stamps the records, so a small skew must not lose an update. Serving
// an unchanged project again costs Pruvan nothing.
const sinceOverlap = 5 * time.Minute

// StreamsHook: uploadPictures bodies (framed photos, several MB) are streamed, never read whole.
func (w *WorkSystem) StreamsHook(path string) bool { return MethodOf(path) == MethodUploadPictures }

// HandleHook serves Pruvan's order-source calls, POST /v1/hooks/pruvan/{connection}/{validate |
// getWorkOrders | status | uploadPictures}: the order-source handler (credentials checked on
// every call before anything else, the contract's answers) over this connection's order book.
// What Pruvan reports comes back as intents: the project's ticket is poked to read it.
func (w *WorkSystem) HandleHook(ctx context.Context, _ vendorapi.HookEnv, req vendorapi.HookRequest) (vendorapi.HookResult, error) {
	if MethodOf(req.Path) == "" {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusNotFound,
			"unknown order-source method: Pruvan calls validate, getWorkOrders, status and uploadPictures")
	}
	if _, err := w.records(); err != nil {
		return vendorapi.HookResult{}, err
	}
	var body io.Reader = bytes.NewReader(req.Body)
	if req.Stream != nil {
		body = req.Stream
	}
	method := req.Method
	if method == "" {
		method = http.MethodPost
	}
	hr, err := http.NewRequestWithContext(ctx, method, "/"+strings.TrimPrefix(req.Path, "/"), body)
	if err != nil {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusBadRequest, "malformed order-source call")
	}
	if req.Header != nil {
		hr.Header = req.Header.Clone()
	}
	opts := []HandlerOption{WithValidatorURL(w.opts.ValidatorURL)}
	if w.spool != "" {
		opts = append(opts, WithSpoolDir(w.spool))
	}
	call := &sourceCall{w: w}
	rec := &recorder{header: http.Header{}}
	NewOrderSourceHandler(call, w.creds, opts...).ServeHTTP(rec, hr)
	if rec.status == http.StatusUnauthorized {
		// The route answers every failed verification alike, so a caller cannot tell an
		// existing connection with other credentials from one that does not exist.
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusUnauthorized, errBadCredentials)
	}
	return vendorapi.HookResult{Intents: call.intents, Status: rec.status, ContentType: rec.header.Get("Content-Type"),
		Body: rec.body.Bytes()}, nil
}

// recorder captures the handler's (small) JSON answer for the route to send.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}
func (r *recorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// sourceCall is the order source for one hook call: the order book, plus the intents the call
// leads to.
type sourceCall struct {
	w       *WorkSystem
	intents []vendorapi.Intent
}

func (c *sourceCall) add(in vendorapi.Intent) {
	for _, have := range c.intents {
		if have.Kind == in.Kind && have.ExternalID == in.ExternalID && have.Signal == in.Signal {
			return
		}
	}
	c.intents = append(c.intents, in)
}

func (c *sourceCall) poke(externalID string) {
	c.add(vendorapi.Intent{Kind: vendorapi.IntentPoke, ExternalID: externalID})
}

// Validate stores the push key Pruvan issued for this integration (a URL or a bare key). A
// URL pointing anywhere but the configured Pruvan is refused: we will never call it.
func (c *sourceCall) Validate(ctx context.Context, pushKey string) error {
	if _, err := c.w.push.APIKey(pushKey); err != nil {
		var ve *vendorapi.Error
		if errors.As(err, &ve) {
			return Reject("push key refused: %s", ve.Message)
		}
		return Reject("push key refused")
	}
	rs, err := c.w.records()
	if err != nil {
		return err
	}
	b, _ := json.Marshal(strings.TrimSpace(pushKey))
	_, _, err = update(ctx, rs, collSetting, settingPushKey, func() json.RawMessage { return nil },
		func(v *json.RawMessage) (bool, error) { *v = b; return true, nil })
	return storeErr("store push key", err)
}

// WorkOrders serves the projects the tickets made available: with since, those changed since
// then (closed ones included, so their final client status reaches Pruvan); without, every
// open one (full refresh). A project served for the first time is marked imported (its
// status moves on from Available at the ticket's next poll). It pokes nobody on purpose:
// Pruvan's pull must never fail (or wait) because a ticket could not be signalled.
func (c *sourceCall) WorkOrders(ctx context.Context, since *time.Time) ([]WorkOrder, error) {
	rs, err := c.w.records()
	if err != nil {
		return nil, err
	}
	var from time.Time
	if since != nil {
		from = since.Add(-sinceOverlap)
	}
	recs, err := rs.List(ctx, collOrder, from)
	if err != nil {
		return nil, storeErr("list projects", err)
	}
	out := []WorkOrder{}
	for _, r := range recs {
		var o order
		if err := json.Unmarshal(r.Value, &o); err != nil {
			return nil, storeErr("read project", err)
		}
		if o.Current == nil || (since == nil && o.Closed != "") {
			continue
		}
		out = append(out, *o.Current)
		if o.ImportedAt == nil {
			now := c.w.now().UTC()
			if _, _, err := update(ctx, rs, collOrder, o.ExternalID, nil, func(o *order) (bool, error) {
				if o.ImportedAt != nil {
					return false, nil
				}
				o.ImportedAt = &now
				return true, nil
			}); err != nil {
				return nil, storeErr("record import", err)
			}
		}
	}
	return out, nil
}

// Status records Pruvan's status report for one project and pokes its ticket.
func (c *sourceCall) Status(ctx context.Context, u StatusUpdate) error {
	rs, err := c.w.records()
	if err != nil {
		return err
	}
	ext, ok, err := c.w.lookup(ctx, rs, u.WorkOrderNumber)
	if err != nil {
		return err
	}
	if !ok {
		return ErrUnknownWorkOrder
	}
	status := u.Status
	if u.IsComplete() {
		status = StatusComplete // one spelling for the status mapping
	}
	now := c.w.now().UTC()
	if _, _, err := update(ctx, rs, collStatus, ext, func() ProjectStatus { return ProjectStatus{} },
		func(st *ProjectStatus) (bool, error) {
			if st.Status == status && st.CompletedDate == u.CompletedDate && !st.ReportedAt.IsZero() {
				return false, nil // a repeated report
			}
			*st = ProjectStatus{Status: status, CompletedDate: u.CompletedDate, Completed: u.Completed, ReportedAt: now}
			return true, nil
		}); err != nil {
		return storeErr("record status", err)
	}
	c.poke(ext)
	return nil
}

// UploadPictures keeps one published photo (streamed into the order book, bytes unaltered) or
// survey until the request system has it, and pokes the project's ticket: the item shows up
// as feedback, which the request system relays. A uuid already kept is acknowledged without
// reading its bytes again (Pruvan's retries and re-publishes). An item arriving after Pruvan
// reported the project complete also asks the ticket to retry a completion held for it.
func (c *sourceCall) UploadPictures(ctx context.Context, up Upload) error {
	rs, err := c.w.records()
	if err != nil {
		return err
	}
	pic := up.Picture
	ext, ok, err := c.w.lookup(ctx, rs, pic.WorkOrderNumber())
	if err != nil {
		return err
	}
	if !ok {
		return ErrUnknownWorkOrder
	}
	if _, ok, err := rs.Get(ctx, collItems(ext), pic.UUID); err != nil {
		return storeErr("find item", err)
	} else if ok {
		c.afterUpload(ctx, rs, ext)
		return nil // kept already: the body stays unread
	}
	it := Item{UUID: pic.UUID, Kind: ItemPhoto, Picture: pic, FileName: up.FileName, ContentType: up.ContentType,
		VerificationLink: up.VerificationLink, ReceivedAt: c.w.now().UTC(), State: ItemPending}
	if it.FileName == "" {
		it.FileName = pic.FileName
		if it.FileName != "" && pic.FileExt != "" && !strings.Contains(it.FileName, ".") {
			it.FileName += "." + pic.FileExt
		}
	}
	if pic.IsSurvey() {
		it.Kind, it.FileName, it.ContentType = ItemSurvey, "", ""
	} else {
		if !up.HasFile {
			return Reject("photo %s came without its file", pic.UUID)
		}
		if it.ContentType == "" || it.ContentType == "application/octet-stream" {
			it.ContentType = "image/jpeg"
		}
		sum := sha256.New()
		n, err := rs.WriteBlob(ctx, photoBlob(pic.UUID), io.TeeReader(up.Body, sum))
		if err != nil {
			return storeErr("keep photo", err)
		}
		it.Size, it.SHA256 = n, hex.EncodeToString(sum.Sum(nil))
	}
	b, err := json.Marshal(it)
	if err != nil {
		return err
	}
	if _, err := rs.Put(ctx, collItems(ext), pic.UUID, b, 0); err != nil && !errors.Is(err, vendorapi.ErrRecordChanged) {
		return storeErr("record item", err) // ErrRecordChanged: a concurrent copy recorded it
	}
	c.afterUpload(ctx, rs, ext)
	return nil
}

// afterUpload pokes the ticket and, once the crew completed the project, asks it to retry: the
// completion may be held for exactly this item.
func (c *sourceCall) afterUpload(ctx context.Context, rs vendorapi.Records, ext string) {
	c.poke(ext)
	st, _, _, err := getJSON[ProjectStatus](ctx, rs, collStatus, ext)
	if err == nil && st.IsComplete() {
		c.add(vendorapi.Intent{Kind: vendorapi.IntentSignal, ExternalID: ext, Signal: ticket.SignalRetry})
	}
}
