package cyprexx

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

// NotifiesThroughAPI implements vendorapi.APINotifier: notifications are calls to its API.
func (r *RequestSystem) NotifiesThroughAPI() bool { return true }

// Notify is the ticket's voice towards Cyprexx, which has no status or comment channel for
// vendors: what it takes is the crew's output. Every notification first relays what Pruvan
// uploaded and Cyprexx does not have yet (photos, then surveys, in arrival order). The
// feedback item that says the crew marked the project complete in Pruvan then sets the
// completion date — only when every required photo and survey was relayed; otherwise it is
// refused with exactly what is missing (the ticket parks with that reason, and the next
// upload asks it to retry). Completing closes the Pruvan project (auto-close); Cyprexx's
// update push (or the next Refresh) then finishes the ticket as Done.
//
// The relay is resumable per photo: each accepted photo is recorded at once with Cyprexx's
// photoId, so an attempt that dies halfway (worker crash, timeout) is followed by one that
// sends only what is left; a photo whose answer was lost is sent again with the same
// sourceId, which Cyprexx stores once. Progress is heartbeated.
func (r *RequestSystem) Notify(ctx context.Context, n vendorapi.Notification) error {
	switch n.Kind {
	case vendorapi.NotifyStatusChanged, vendorapi.NotifyFeedbackAdded, vendorapi.NotifyClosed:
	default:
		return nil // needs_attention: Cyprexx has no channel for it; the ticket shows it
	}
	own := ""
	if n.Feedback != nil {
		own = n.Feedback.ID
	}
	wo, err := r.relay(ctx, n.ExternalID, own)
	if err != nil {
		return err
	}
	if pruvan.IsCompletion(own) {
		return r.complete(ctx, n, wo)
	}
	return nil
}

// relayProgress is heartbeated after every item.
type relayProgress struct {
	WorkOrder string `json:"workOrder"`
	Pending   int    `json:"pending"`
	Relayed   int    `json:"relayed"`
	Skipped   int    `json:"skipped"`
	Failed    int    `json:"failed"`
}

// relay sends the project's items that are not relayed yet. A failure that retrying cannot
// fix is recorded on the item; it fails the notification only when the notification is about
// that item (its feedback id), so the ticket parks with the reason while other items keep
// flowing — and an operator's retry of that notification tries the item again (the work
// order may have been fixed meanwhile). It returns the work order it read (nil when there was
// nothing to relay).
func (r *RequestSystem) relay(ctx context.Context, ext, own string) (*WorkOrder, error) {
	pv, err := r.peer()
	if err != nil {
		return nil, err
	}
	items, err := pv.Items(ctx, ext)
	if err != nil {
		return nil, err
	}
	todo := slices.DeleteFunc(slices.Clone(items), func(it pruvan.Item) bool {
		return it.State != pruvan.ItemPending && !(it.State == pruvan.ItemFailed && pruvan.FeedbackID(it.UUID) == own)
	})
	if len(todo) == 0 {
		return nil, nil
	}
	wo, err := r.cx.WorkOrder(ctx, ext)
	if err != nil {
		return nil, err
	}
	photoIDs := map[string]string{}
	for _, it := range items {
		if it.Kind == pruvan.ItemPhoto && it.State == pruvan.ItemRelayed {
			photoIDs[it.UUID] = it.RelayedAs
		}
	}
	prog := relayProgress{WorkOrder: ext, Pending: len(todo)}
	var ownErr error
	// Photos first: a survey refers to photos by the ids Cyprexx gave them.
	slices.SortStableFunc(todo, func(a, b pruvan.Item) int { return strings.Compare(kindRank(a.Kind), kindRank(b.Kind)) })
	for _, it := range todo {
		vendorapi.Heartbeat(ctx, prog)
		var state, as, target, detail string
		var err error
		if it.Kind == pruvan.ItemSurvey {
			state, as, target, detail, err = r.relaySurvey(ctx, *wo, it, photoIDs)
		} else {
			state, as, target, detail, err = r.relayPhoto(ctx, pv, *wo, it)
		}
		if err != nil {
			return wo, err // retryable: the next attempt resumes with this item
		}
		if state == "" {
			continue // waits for a photo it refers to
		}
		if err := pv.Relay(ctx, ext, it.UUID, state, as, target, detail); err != nil {
			return wo, err
		}
		prog.Pending--
		switch state {
		case pruvan.ItemRelayed:
			prog.Relayed++
			if it.Kind == pruvan.ItemPhoto {
				photoIDs[it.UUID] = as
			}
		case pruvan.ItemSkipped:
			prog.Skipped++
		case pruvan.ItemFailed:
			prog.Failed++
			if own == pruvan.FeedbackID(it.UUID) {
				ownErr = &vendorapi.Error{Vendor: Vendor, Op: "relay " + it.Kind, HTTPStatus: http.StatusUnprocessableEntity,
					Code: "not_relayable", Message: fmt.Sprintf("%s %s cannot be relayed: %s", it.Kind, it.UUID, detail)}
			}
		}
	}
	vendorapi.Heartbeat(ctx, prog)
	return wo, ownErr
}

func kindRank(kind string) string {
	if kind == pruvan.ItemPhoto {
		return "0"
	}
	return "1"
}

// relayPhoto streams one photo from the order book to Cyprexx, unaltered (the Pruvan frame,
// when enabled, is in the bytes; its Validator link stays on the item). It reports the item's
// new state, or a retryable error.
func (r *RequestSystem) relayPhoto(ctx context.Context, pv *pruvan.WorkSystem, wo WorkOrder, it pruvan.Item) (state, as, target, detail string, err error) {
	body, _, err := pv.OpenAttachment(ctx, it.Attachment())
	if vendorapi.IsNotFound(err) {
		return pruvan.ItemFailed, "", "", "the photo's bytes are no longer kept; ask the crew to publish it again", nil
	}
	if err != nil {
		return "", "", "", "", err
	}
	defer body.Close()
	p, err := PhotoFromPruvan(wo, it.Upload(body), r.opts.QA.RelayCategories)
	switch {
	case errors.Is(err, ErrNotRelayed):
		return pruvan.ItemSkipped, "", "", fmt.Sprintf("%s photos are not relayed (QA settings: %s)", it.Picture.EvidenceType,
			strings.Join(r.opts.QA.RelayCategories, ", ")), nil
	case err != nil:
		return pruvan.ItemFailed, "", "", err.Error(), nil
	}
	if p.ContentType == "" {
		p.ContentType = it.ContentType
	}
	rec, err := r.cx.UploadPhoto(ctx, wo.WorkOrderID, p)
	if err != nil {
		if vendorapi.IsRetryable(err) {
			return "", "", "", "", err
		}
		return pruvan.ItemFailed, "", p.TaskID, err.Error(), nil
	}
	return pruvan.ItemRelayed, rec.PhotoID, p.TaskID, fmt.Sprintf("task %s, category %s", p.TaskID, p.Category), nil
}

// relaySurvey submits one survey (a later one for the same form replaces it at Cyprexx). A
// survey that refers to a photo not relayed yet waits (state ""), and goes with a later call.
func (r *RequestSystem) relaySurvey(ctx context.Context, wo WorkOrder, it pruvan.Item, photoIDs map[string]string) (state, as, target, detail string, err error) {
	formID, s, err := SurveyFromPruvan(wo, it.Upload(nil), func(uuid string) (string, bool) {
		id, ok := photoIDs[uuid]
		return id, ok
	})
	switch {
	case errors.Is(err, ErrPhotoPending):
		return "", "", "", "", nil
	case err != nil:
		return pruvan.ItemFailed, "", "", err.Error(), nil
	}
	if _, err := r.cx.SubmitSurvey(ctx, wo.WorkOrderID, formID, s); err != nil {
		if vendorapi.IsRetryable(err) {
			return "", "", "", "", err
		}
		detail := err.Error()
		if IsFormVersionMismatch(err) {
			detail = "the form changed in Cyprexx since the project was imported; the crew must fill in the current version (" + detail + ")"
		}
		return pruvan.ItemFailed, "", formTarget(formID), detail, nil
	}
	return pruvan.ItemRelayed, s.SubmissionID, formTarget(formID), "form " + formID, nil
}

func formTarget(formID string) string { return "form:" + formID }

// complete sets the completion date in Cyprexx once Pruvan reported the project complete and
// every required photo and survey was relayed; otherwise it refuses with exactly what is
// missing. Then the Pruvan project is closed. A project reopened in Pruvan since (e.g. REWORK)
// is left alone: its next "complete" brings a new cue.
func (r *RequestSystem) complete(ctx context.Context, n vendorapi.Notification, wo *WorkOrder) error {
	const op = "complete work order"
	pv, err := r.peer()
	if err != nil {
		return err
	}
	st, err := pv.ReportedStatus(ctx, n.ExternalID)
	if err != nil {
		return err
	}
	if !st.IsComplete() {
		return nil
	}
	if wo == nil {
		if wo, err = r.cx.WorkOrder(ctx, n.ExternalID); err != nil {
			return err
		}
	}
	if !strings.EqualFold(wo.Status, StatusCompleted) {
		items, err := pv.Items(ctx, n.ExternalID)
		if err != nil {
			return err
		}
		if missing := Missing(*wo, items, r.opts.QA); len(missing) > 0 {
			return &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: http.StatusUnprocessableEntity, Code: CodeIncomplete,
				Message: "completion held until Pruvan sends: " + strings.Join(missing, "; ")}
		}
		at := st.Completed
		if at.IsZero() {
			at = st.ReportedAt
		}
		if at.IsZero() {
			at = time.Now()
		}
		if _, err := r.cx.Complete(ctx, n.ExternalID, at); err != nil {
			return err
		}
	}
	return pv.Close(ctx, n.ExternalID, StatusCompleted)
}

// Missing lists what keeps a work order from completion, in words: per task, the photos
// relayed against max(task minPhotos, QA requiredPhotosPerTask); per form with a required
// question, a relayed survey; and the items that could not be relayed, with why.
func Missing(wo WorkOrder, items []pruvan.Item, qa QA) []string {
	var out []string
	for _, t := range wo.Tasks {
		need := max(t.MinPhotos, qa.RequiredPhotosPerTask)
		have := 0
		for _, it := range items {
			if it.Kind == pruvan.ItemPhoto && it.State == pruvan.ItemRelayed && it.Target == t.TaskID {
				have++
			}
		}
		if have < need {
			out = append(out, fmt.Sprintf("task %s (%s): %d of %d photos relayed", t.TaskID, t.Name, have, need))
		}
	}
	for _, f := range wo.Forms {
		if !slices.ContainsFunc(f.Questions, func(q Question) bool { return q.Required }) {
			continue
		}
		done := slices.ContainsFunc(items, func(it pruvan.Item) bool {
			return it.Kind == pruvan.ItemSurvey && it.State == pruvan.ItemRelayed && it.Target == formTarget(f.FormID)
		})
		if !done {
			out = append(out, fmt.Sprintf("form %s (%s): no survey relayed", f.FormID, f.Name))
		}
	}
	for _, it := range items {
		if it.State == pruvan.ItemFailed {
			out = append(out, fmt.Sprintf("%s %s (%s, %s) could not be relayed: %s", it.Kind, it.UUID,
				it.Picture.EvidenceType, it.Picture.ServiceName(), it.Detail))
		}
	}
	return out
}
