package pruvan

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// The photos and surveys Pruvan uploaded (uploadPictures), kept in the order book until the
// request system has them, and what became of each.

// Item kinds and relay states.
const (
	ItemPhoto  = "photo"
	ItemSurvey = "survey"

	// ItemPending: received, not yet relayed. Relayed, Skipped (the request system's
	// settings say not to relay it) and Failed (it can never be relayed as it is) are final.
	ItemPending = "pending"
	ItemRelayed = "relayed"
	ItemSkipped = "skipped"
	ItemFailed  = "failed"
)

// Item is a photo or survey Pruvan uploaded for a project, with what became of it.
type Item struct {
	UUID        string  `json:"uuid"`
	Kind        string  `json:"kind"` // ItemPhoto or ItemSurvey
	Picture     Picture `json:"picture"`
	FileName    string  `json:"fileName,omitempty"`
	ContentType string  `json:"contentType,omitempty"`
	Size        int64   `json:"size,omitempty"`
	SHA256      string  `json:"sha256,omitempty"`
	// VerificationLink is Pruvan's Validator link for the item (the frame's barcode points
	// there): kept with the photo's metadata.
	VerificationLink string    `json:"verificationLink,omitempty"`
	ReceivedAt       time.Time `json:"receivedAt"`

	State string `json:"state"`
	// RelayedAs is the request system's id for the item (e.g. a Cyprexx photoId); Target
	// what it was relayed onto (a task or form id); Detail why it was skipped or failed.
	RelayedAs string    `json:"relayedAs,omitempty"`
	Target    string    `json:"target,omitempty"`
	Detail    string    `json:"detail,omitempty"`
	RelayedAt time.Time `json:"relayedAt,omitzero"`
}

// Upload rebuilds the uploadPictures call of a stored item; body is the photo's bytes (nil
// for a survey).
func (it Item) Upload(body io.Reader) Upload {
	up := Upload{Picture: it.Picture, HasFile: body != nil, FileName: it.FileName, ContentType: it.ContentType,
		VerificationLink: it.VerificationLink}
	if body != nil {
		up.Body = body
	}
	return up
}

// Items lists the photos and surveys Pruvan uploaded for a project, in arrival order.
func (w *WorkSystem) Items(ctx context.Context, externalID string) ([]Item, error) {
	rs, err := w.records()
	if err != nil {
		return nil, err
	}
	recs, err := rs.List(ctx, collItems(externalID), time.Time{})
	if err != nil {
		return nil, storeErr("list items", err)
	}
	out := make([]Item, 0, len(recs))
	for _, r := range recs {
		var it Item
		if err := json.Unmarshal(r.Value, &it); err != nil {
			return nil, fmt.Errorf("pruvan: item %s: %w", r.Key, err)
		}
		out = append(out, it)
	}
	return out, nil
}

// Relay records what became of an item in the request system (state ItemRelayed, ItemSkipped
// or ItemFailed). A relayed or skipped photo's bytes are no longer kept.
func (w *WorkSystem) Relay(ctx context.Context, externalID, uuid, state, relayedAs, target, detail string) error {
	rs, err := w.records()
	if err != nil {
		return err
	}
	_, ok, err := update(ctx, rs, collItems(externalID), uuid, nil, func(it *Item) (bool, error) {
		it.State, it.RelayedAs, it.Target, it.Detail = state, relayedAs, target, detail
		it.RelayedAt = w.now().UTC()
		return true, nil
	})
	if err != nil {
		return storeErr("record relay", err)
	}
	if !ok {
		return &vendorapi.Error{Vendor: Vendor, Op: "record relay", HTTPStatus: 404, Code: "not_found", Message: "no item " + uuid}
	}
	if state == ItemRelayed || state == ItemSkipped {
		if err := rs.DeleteBlob(ctx, photoBlob(uuid)); err != nil {
			return storeErr("drop relayed photo", err)
		}
	}
	return nil
}

// dropUnrelayed: once the source order ended, what was not relayed never will be (the request
// system refuses items for a closed order), so its bytes are not kept; the items stay, failed.
func (w *WorkSystem) dropUnrelayed(ctx context.Context, rs vendorapi.Records, externalID, finalStatus string) error {
	items, err := w.Items(ctx, externalID)
	if err != nil {
		return err
	}
	for _, it := range items {
		if it.State != ItemPending && it.State != ItemFailed {
			continue
		}
		if it.State == ItemPending {
			detail := "the source order ended (" + finalStatus + ") before it was relayed"
			if err := w.Relay(ctx, externalID, it.UUID, ItemFailed, "", it.Target, detail); err != nil {
				return err
			}
		}
		if err := rs.DeleteBlob(ctx, photoBlob(it.UUID)); err != nil {
			return storeErr("drop photo", err)
		}
	}
	return nil
}
