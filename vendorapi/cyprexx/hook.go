package cyprexx

import (
	"context"
	"errors"
	"net/http"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// HandleHook receives Cyprexx's pushes, POST /v1/hooks/cyprexx/{connection}: the push key
// (X-Cyprexx-Push-Key, compared in constant time with requestSystem.webhookSecret) is checked
// before anything is read or any Cyprexx call is made; a missing or wrong key is 401. A push
// only names the work order, so it is fetched and published like Refresh does; the delivery
// id makes Cyprexx's retries and duplicates harmless. A push for a work order that is not
// this vendor's (403/404) is acknowledged and ignored.
func (r *RequestSystem) HandleHook(ctx context.Context, _ vendorapi.HookEnv, req vendorapi.HookRequest) (vendorapi.HookResult, error) {
	if req.Path != "" {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusNotFound, "Cyprexx pushes to /v1/hooks/cyprexx/{connection}")
	}
	if err := VerifyPush(r.pushKey, req.Header); err != nil {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusUnauthorized, "push key missing or wrong")
	}
	if len(req.Body) > MaxPushBody {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusRequestEntityTooLarge, "push body too large")
	}
	ev, err := ParsePush(req.Body)
	if err != nil {
		return vendorapi.HookResult{}, vendorapi.HookErrorf(http.StatusBadRequest, err.Error())
	}
	ev.DeliveryID = req.Header.Get(DeliveryHeader)
	if ev.Event == EventPing {
		return vendorapi.HookResult{}, nil // the Validate step's reachability check
	}
	wo, err := r.cx.WorkOrder(ctx, ev.WorkOrderID)
	var ve *vendorapi.Error
	if errors.As(err, &ve) && (ve.HTTPStatus == http.StatusNotFound || ve.HTTPStatus == http.StatusForbidden) {
		return vendorapi.HookResult{DeliveryKey: ev.DeliveryID}, nil
	}
	if err != nil {
		return vendorapi.HookResult{}, err // Cyprexx retries the push (and Refresh is the safety net)
	}
	res, err := r.sync(ctx, *wo)
	if err != nil {
		return vendorapi.HookResult{}, err
	}
	out := vendorapi.HookResult{DeliveryKey: ev.DeliveryID}
	if res.Intent != nil {
		out.Intents = []vendorapi.Intent{*res.Intent}
	}
	return out, nil
}
