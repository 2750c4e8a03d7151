package seeclickfix

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// SyncCatalog publishes the work system's categories as SeeClickFix request types
// (vendorapi.CatalogSink): PUT …/integrations/cityworks/request_types/{remote_id}, idempotent
// on (kind, template id), each in its agency, retired categories as inactive (never deleted).
// Questions follow SCF Connect's import rules (NewCityworksQuestion: select when there are
// fixed answers, keyed by the work system's answer id; private when the text asks for an
// e-mail address or a phone number; always required). What this process sent last is
// remembered, so an unchanged category costs no call (SCF allows 20 a minute). A category SCF
// refuses for good (validation) counts as failed and the others go on; a transient failure
// stops the sync with an error (the CatalogSync workflow retries it).
func (c *Connector) SyncCatalog(ctx context.Context, cats []vendorapi.Category) (vendorapi.CatalogCounts, error) {
	var counts vendorapi.CatalogCounts
	for _, cat := range cats {
		rt, ok := cityworksRequestType(cat)
		if !ok {
			counts.Failed++
			c.log.Warn("catalog: category without numeric id or agency; skipped", "connection", c.connection, "category", cat.ID, "kind", cat.Kind)
			continue
		}
		key := rt.RemoteKind + ":" + strconv.FormatInt(rt.RemoteID, 10)
		b, _ := json.Marshal(rt)
		sum := sha256.Sum256(b)
		hash := hex.EncodeToString(sum[:])
		c.mu.Lock()
		same := c.published[key] == hash
		c.mu.Unlock()
		if same {
			counts.Unchanged++
			continue
		}
		_, created, err := c.client.UpsertCityworksRequestType(ctx, rt)
		if err != nil {
			if vendorapi.IsRetryable(err) {
				return counts, err
			}
			counts.Failed++
			c.log.Warn("catalog: SeeClickFix refused a request type", "connection", c.connection, "category", key, "error", err)
			continue
		}
		c.mu.Lock()
		c.published[key] = hash
		c.mu.Unlock()
		if created {
			counts.Created++
		} else {
			counts.Updated++
		}
	}
	return counts, nil
}

// cityworksRequestType renders a category in SCF's reference contract.
func cityworksRequestType(cat vendorapi.Category) (CityworksRequestType, bool) {
	id, err1 := strconv.ParseInt(cat.ID, 10, 64)
	agency, err2 := strconv.ParseInt(cat.Agency, 10, 64)
	kind := cat.Kind
	if kind == "" {
		kind = RemoteKindSR
	}
	if err1 != nil || err2 != nil || id <= 0 || agency <= 0 || (kind != RemoteKindSR && kind != RemoteKindWO) {
		return CityworksRequestType{}, false
	}
	rt := CityworksRequestType{Title: cat.Name, AgencyID: agency, RemoteKind: kind, RemoteID: id, Active: !cat.Retired,
		Questions: []CityworksQuestion{}}
	for _, q := range cat.Questions {
		qid, err := strconv.ParseInt(q.ID, 10, 64)
		if err != nil {
			continue
		}
		var values []SelectValue
		for _, ch := range q.Choices {
			values = append(values, SelectValue{Key: FlexString(ch.ID), Name: ch.Text})
		}
		if len(q.Choices) == 0 {
			for i, a := range q.Answers {
				values = append(values, SelectValue{Key: FlexString(strconv.Itoa(i + 1)), Name: a})
			}
		}
		rt.Questions = append(rt.Questions, NewCityworksQuestion(qid, q.Text, values))
	}
	return rt, true
}
