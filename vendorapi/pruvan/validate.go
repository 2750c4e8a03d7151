package pruvan

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// importWait is how long a project may wait for Pruvan's pull before validate flags it.
const importWait = 15 * time.Minute

// Validate reports what decides whether projects reach Pruvan by themselves: a push key
// stored by Pruvan's Validate, which Pruvan still accepts (calling it also asks Pruvan to
// import now), and projects left waiting for Pruvan's pull. Without a valid push key,
// projects arrive only when someone presses Refresh in Pruvan: the checks say what to do.
func (w *WorkSystem) Validate(ctx context.Context) []vendorapi.Check {
	name := "workSystem (pruvan): "
	hookPath := "/v1/hooks/pruvan/" + w.conn
	rs, err := w.records()
	if err != nil {
		return []vendorapi.Check{{Name: name + "order book", Detail: err.Error(),
			Fix: "run ticketsync with its store (the worker and api commands do); this process cannot serve Pruvan"}}
	}
	checks := []vendorapi.Check{{Name: name + "integration credentials", OK: true,
		Detail: "username, password and token are set; Pruvan's calls to " + hookPath + "/… are checked against them"}}
	key, err := w.pushKey(ctx, rs)
	push := vendorapi.Check{Name: name + "push key"}
	switch {
	case err != nil:
		push.Detail, push.Fix = "cannot read the stored push key: "+err.Error(), "check the store (TICKETSYNC_DATABASE_URL)"
	case key == "":
		push.Detail = "Pruvan never called validate for this connection, so no push key is stored: " +
			"new work orders reach Pruvan only when someone presses Refresh there (orders only arrive on Refresh)"
		push.Fix = fmt.Sprintf("in Pruvan, set the integration's web service URL to <ticketsync API>%s with this connection's "+
			"username, password (hash) and token, and press Validate", hookPath)
	default:
		switch err := w.trigger(ctx); {
		case err == nil:
			push.OK = true
			push.Detail = "Pruvan accepted the stored push key (an import was requested just now)"
		case IsInvalidPushKey(err):
			push.Detail = "Pruvan refused the stored push key (" + errorMessage(err) + "): new work orders arrive only on Refresh"
			push.Fix = "press Validate in the integration's settings in Pruvan so it sends its current push key"
		default:
			push.Detail = "could not call Pruvan's push API: " + errorMessage(err) + "; until it answers, work orders arrive only on Refresh"
			push.Fix = "check workSystem.baseUrl and that Pruvan is reachable from ticketsync, then validate again"
		}
	}
	checks = append(checks, push)
	return append(checks, w.waitingCheck(ctx, rs, name))
}

// waitingCheck flags projects the tickets made available that Pruvan has not pulled for a while.
func (w *WorkSystem) waitingCheck(ctx context.Context, rs vendorapi.Records, name string) vendorapi.Check {
	c := vendorapi.Check{Name: name + "imports"}
	recs, err := rs.List(ctx, collOrder, time.Time{})
	if err != nil {
		c.Detail, c.Fix = "cannot read the order book: "+err.Error(), "check the store (TICKETSYNC_DATABASE_URL)"
		return c
	}
	waiting, oldest := 0, time.Time{}
	for _, r := range recs {
		var o order
		if json.Unmarshal(r.Value, &o) != nil || o.Current == nil || o.ImportedAt != nil || o.Closed != "" {
			continue
		}
		if w.now().Sub(r.UpdatedAt) > importWait {
			waiting++
			if oldest.IsZero() || r.UpdatedAt.Before(oldest) {
				oldest = r.UpdatedAt
			}
		}
	}
	if waiting == 0 {
		c.OK, c.Detail = true, "no project has waited more than "+importWait.String()+" for Pruvan to pull it"
		return c
	}
	c.Detail = fmt.Sprintf("%d project(s) waiting for Pruvan to pull them, the oldest since %s", waiting, oldest.UTC().Format(time.RFC3339))
	c.Fix = "fix the push key (above) or press Refresh in Pruvan's integration settings"
	return c
}

func errorMessage(err error) string {
	var ve *vendorapi.Error
	if errors.As(err, &ve) && ve.Message != "" {
		return ve.Message
	}
	return err.Error()
}
