package seeclickfix

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Import of requests raised directly in the work system (e.g. SRs staff enter in Cityworks,
// importCityworksRequests): at most every ImportEvery, the work side lists them
// (vendorapi.ForeignRequests: open, inside an agency's area, of a mapped category) and each
// becomes a SeeClickFix issue reported by our API user, its description ending with a marker
// naming the remote request. The issue then flows through the ordinary intake: the change
// feed sees it, reads the marker back and starts its ticket with the remote id to adopt, so the
// ticket mirrors the existing request instead of creating one.
//
// Exactly once: handled remote ids are kept in the intake cursor for the overlap window, and
// before creating an issue the import searches SeeClickFix for the marker, so a crash between
// the create and the cursor's save does not make a second issue. An issue SeeClickFix refuses
// for good (e.g. a request type with required questions Cityworks cannot answer, or a point
// outside the request type's boundary) is logged and skipped.

const (
	// ImportEvery spaces imports (each costs Cityworks searches).
	ImportEvery = time.Minute
	// importOverlap re-reads a little before the watermark (whole-second dates, clock skew).
	importOverlap = 2 * time.Minute
)

func (c *Connector) runImport(ctx context.Context, cur *intakeCursor) error {
	fr, ok := c.peer().(vendorapi.ForeignRequests)
	if !ok || !fr.ImportsForeign() {
		return nil
	}
	now := c.now()
	if cur.ImportAt != 0 && now.Sub(time.Unix(cur.ImportAt, 0)) < ImportEvery {
		return nil
	}
	if cur.ImportMark == 0 {
		cur.ImportMark = now.Add(-time.Minute).Unix() // a new connection imports from now on
	}
	mark := time.Unix(cur.ImportMark, 0)
	list, err := fr.ForeignRequests(ctx, mark.Add(-importOverlap))
	if err != nil {
		return err
	}
	if cur.Imported == nil {
		cur.Imported = map[string]int64{}
	}
	kind := c.peer().Kind()
	for _, f := range list {
		if _, done := cur.Imported[f.RemoteID]; done {
			continue
		}
		if err := c.importOne(ctx, kind, f); err != nil {
			return err
		}
		cur.Imported[f.RemoteID] = f.CreatedAt.Unix()
		cur.ImportMark = max(cur.ImportMark, f.CreatedAt.Unix())
	}
	for id, at := range cur.Imported {
		if at < cur.ImportMark-int64(2*importOverlap/time.Second) {
			delete(cur.Imported, id)
		}
	}
	cur.ImportAt = now.Unix()
	return nil
}

// importOne creates the issue of a foreign request unless a search finds it already.
func (c *Connector) importOne(ctx context.Context, kind string, f vendorapi.ForeignRequest) error {
	marker := importMarker(kind, f.RemoteID)
	found, err := c.client.ListIssues(ctx, IssueQuery{Search: marker, PerPage: 5,
		Statuses: []string{FilterOpen, FilterAcknowledged, FilterClosed, FilterArchived}})
	if err != nil {
		return err
	}
	for _, is := range found.Issues {
		if strings.Contains(is.Description, marker) {
			return nil
		}
	}
	rt, err := strconv.ParseInt(f.RequestType, 10, 64)
	if err != nil || f.Location.Lat == nil || f.Location.Lng == nil {
		c.log.Warn("import: skipped a request without a request type or point", "connection", c.connection, "remoteId", f.RemoteID)
		return nil
	}
	desc := strings.TrimSpace(f.Description)
	if desc != "" {
		desc += "\n\n"
	}
	ni := NewIssue{Lat: *f.Location.Lat, Lng: *f.Location.Lng, Address: f.Location.Address, RequestTypeID: rt,
		Answers: map[string]any{AnswerKeySummary: f.Title, AnswerKeyDescription: desc + marker}}
	created, err := c.client.CreateIssue(ctx, ni)
	if err != nil {
		if vendorapi.IsRetryable(err) {
			return err
		}
		c.log.Warn("import: SeeClickFix refused the issue; skipped", "connection", c.connection, "remoteId", f.RemoteID, "error", err)
		return nil
	}
	c.log.Info("import: issue created", "connection", c.connection, "remoteId", f.RemoteID, "issue", created.ID, "moderated", created.Moderated)
	return nil
}
