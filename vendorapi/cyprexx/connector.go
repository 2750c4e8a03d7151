package cyprexx

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/ticketsync/ticketsync/ticket"
	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

// The Cyprexx request side of a Cyprexx → Pruvan connection ("Cyprexx Enhanced Integration"):
// one ticket per work order. New and changed work orders come from Cyprexx's signed pushes
// (hook.go) and from Refresh / Full Refresh of its feed (intake.go); each is mapped onto a
// Pruvan project (ToPruvan) and published to the Pruvan work side, which serves it to Pruvan.
// What the crew produces in Pruvan reaches the ticket as feedback; Notify relays it to
// Cyprexx: photos, surveys and, once the project is complete and nothing required is
// missing, the completion date (notify.go).

// RateLimitPerMinute is Cyprexx's documented limit per API token.
const RateLimitPerMinute = 60

// RequestConfig configures the Cyprexx request side of one connection.
type RequestConfig struct {
	Connection string
	Client     *Client
	// PushKey authenticates Cyprexx's pushes (requestSystem.webhookSecret); empty refuses
	// every push (Refresh still works).
	PushKey string
	Options Options
	// Records keeps the Refresh watermark (connectors.Env.Records).
	Records vendorapi.Records
	// PageSize is the feed page size (default 100).
	PageSize int
}

// RequestSystem is the Cyprexx request side: vendorapi.RequestSystem plus Intake,
// HookHandler, Validator and WorkPeer (it needs the connection's Pruvan work side).
type RequestSystem struct {
	conn    string
	cx      *Client
	pushKey string
	opts    Options
	rec     vendorapi.Records
	page    int
	pv      *pruvan.WorkSystem
}

var (
	_ vendorapi.RequestSystem = (*RequestSystem)(nil)
	_ vendorapi.Intake        = (*RequestSystem)(nil)
	_ vendorapi.HookHandler   = (*RequestSystem)(nil)
	_ vendorapi.Validator     = (*RequestSystem)(nil)
	_ vendorapi.WorkPeer      = (*RequestSystem)(nil)
)

// NewRequestSystem validates cfg; no network call is made.
func NewRequestSystem(cfg RequestConfig) (*RequestSystem, error) {
	if cfg.Client == nil || cfg.Connection == "" {
		return nil, errors.New("cyprexx: request system needs a client and a connection id")
	}
	r := &RequestSystem{conn: cfg.Connection, cx: cfg.Client, pushKey: strings.TrimSpace(cfg.PushKey), opts: cfg.Options,
		rec: cfg.Records, page: cfg.PageSize}
	if r.page <= 0 || r.page > MaxPageSize {
		r.page = 100
	}
	return r, nil
}

// Kind is the connection kind.
func (r *RequestSystem) Kind() string { return Vendor }

// UseWorkSystem takes the connection's work side: Cyprexx work orders go to Pruvan only.
func (r *RequestSystem) UseWorkSystem(w vendorapi.WorkSystem) {
	r.pv, _ = w.(*pruvan.WorkSystem)
}

// peer is the Pruvan work side (an error when the connection pairs Cyprexx with another
// kind, which the registration refuses at build time already).
func (r *RequestSystem) peer() (*pruvan.WorkSystem, error) {
	if r.pv == nil {
		return nil, &vendorapi.Error{Vendor: Vendor, Op: "relay", Code: "no_pruvan",
			Message: "a Cyprexx request system needs a Pruvan work system on its connection"}
	}
	return r.pv, nil
}

// Request is the ticket's request for a work order: what a person reads in the ticket list.
// It leaves out what Pruvan gets only through the order book (lockbox and key codes, tasks,
// forms), so nothing sensitive travels in workflow histories.
func Request(wo WorkOrder) vendorapi.NewRequest {
	var addr []string
	for _, p := range []string{wo.Address1, wo.Address2, wo.City, strings.TrimSpace(wo.State + " " + wo.Zip)} {
		if strings.TrimSpace(p) != "" {
			addr = append(addr, strings.TrimSpace(p))
		}
	}
	title := wo.Service
	if wo.Address1 != "" {
		title += " at " + wo.Address1
	}
	desc := fmt.Sprintf("Cyprexx work order %s (%s)", wo.WorkOrderNumber, wo.Service)
	if wo.ServiceDue != "" {
		desc += ", due " + wo.ServiceDue
	}
	answers := map[string]string{"workOrderId": wo.WorkOrderID, "projectId": ProjectID(wo)}
	for k, v := range map[string]string{"workOrderNumber": wo.WorkOrderNumber, "jobNumber": wo.JobNumber, "serviceDue": wo.ServiceDue} {
		if v != "" {
			answers[k] = v
		}
	}
	return vendorapi.NewRequest{RequestType: wo.Service, Title: title, Description: desc,
		Location: vendorapi.Location{Address: strings.Join(addr, ", ")}, Requester: vendorapi.Person{Name: "Cyprexx"},
		Answers: answers}
}

// syncOutcome says what sync did with a work order (for counts and tests).
type syncOutcome struct {
	Intent *vendorapi.Intent
	Notes  []string
}

// sync publishes a work order to the Pruvan side and says what its ticket must do:
//   - a new open order starts its ticket;
//   - a changed one pokes it (the ticket reads the project; notes on what Pruvan keeps as it
//     is show on its timeline);
//   - an unchanged one starts it again with the request it was first started with, which the
//     engine counts as unchanged (and which heals a ticket whose workflow was never started);
//   - a cancelled order cancels the ticket, a completed one closes the project (auto-close)
//     and pokes the ticket, which then reads it Closed and ends (a finished ticket's poke
//     counts as unchanged, so seeing the order again changes nothing); a finished order that
//     never had a ticket is left alone.
func (r *RequestSystem) sync(ctx context.Context, wo WorkOrder) (syncOutcome, error) {
	pv, err := r.peer()
	if err != nil {
		return syncOutcome{}, err
	}
	ext := wo.WorkOrderID
	if IsClosed(wo.Status) {
		known, err := pv.IsPublished(ctx, ext)
		if err != nil || !known {
			return syncOutcome{}, err
		}
		pub, err := pv.Publish(ctx, ext, Request(wo), ToPruvan(wo))
		if err != nil {
			return syncOutcome{}, err
		}
		if err := pv.Close(ctx, ext, wo.Status); err != nil {
			return syncOutcome{}, err
		}
		if strings.EqualFold(wo.Status, StatusCancelled) {
			return syncOutcome{Notes: pub.Notes, Intent: &vendorapi.Intent{Kind: vendorapi.IntentSignal, ExternalID: ext,
				Signal: ticket.SignalCancel, Payload: ticket.CancelSignal{Reason: "work order cancelled in Cyprexx"}}}, nil
		}
		return syncOutcome{Notes: pub.Notes, Intent: &vendorapi.Intent{Kind: vendorapi.IntentPoke, ExternalID: ext}}, nil
	}
	pub, err := pv.Publish(ctx, ext, Request(wo), ToPruvan(wo))
	if err != nil {
		return syncOutcome{}, err
	}
	out := syncOutcome{Notes: pub.Notes}
	switch {
	case pub.Known && pub.Changed:
		out.Intent = &vendorapi.Intent{Kind: vendorapi.IntentPoke, ExternalID: ext}
	default:
		req := pub.Request
		out.Intent = &vendorapi.Intent{Kind: vendorapi.IntentStart, ExternalID: ext, Request: &req}
	}
	return out, nil
}
