package cityworks

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// feedMinInterval spaces the change feed's reads. ConnectionSync reads a feed every few
// seconds; each Cityworks read is three searches and a ByIds on an on-prem IIS server that
// saturates easily, and service-request changes are rare, so reads closer together than this
// answer an empty page (the watermark does not move, nothing is lost).
const feedMinInterval = 30 * time.Second

// Changes lists our service requests created, closed or cancelled at or after since
// (vendorapi.ChangeFeed). Cityworks has no modified-date filter: status moves between open
// states, comments and work orders are picked up by each ticket's own poll. The cursor is an
// offset into the matching ids.
func (c *Connector) Changes(ctx context.Context, since time.Time, cursor string, limit int) (vendorapi.ChangePage, error) {
	offset := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return vendorapi.ChangePage{}, &vendorapi.Error{Vendor: Vendor, Op: "read change feed", Code: "invalid_cursor", Message: "unreadable cursor"}
		}
		offset = n
	} else {
		c.feedMu.Lock()
		if !c.lastFeed.IsZero() && c.now().Sub(c.lastFeed) < feedMinInterval {
			c.feedMu.Unlock()
			return vendorapi.ChangePage{}, nil
		}
		c.lastFeed = c.now()
		c.feedMu.Unlock()
	}
	if limit <= 0 {
		limit = batchSize
	}
	from := NewTime(since.Truncate(time.Second))
	app := []string{c.client.app}
	var ids []int
	for _, s := range []RequestSearch{
		{InitiatedByApp: app, DateTimeInitBegin: from},
		{InitiatedByApp: app, DateTimeClosedBegin: from},
		{InitiatedByApp: app, DateCancelledBegin: from},
	} {
		found, err := c.client.SearchRequests(ctx, s)
		if err != nil {
			c.forgetFeedRead()
			return vendorapi.ChangePage{}, err
		}
		ids = append(ids, found...)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if offset >= len(ids) {
		return vendorapi.ChangePage{}, nil
	}
	page := ids[offset:min(len(ids), offset+limit)]
	srs, err := c.client.Requests(ctx, page)
	if err != nil {
		c.forgetFeedRead()
		return vendorapi.ChangePage{}, err
	}
	var out vendorapi.ChangePage
	for _, sr := range srs {
		out.Items = append(out.Items, vendorapi.RemoteRequest{ID: srRemote(sr.RequestId), ExternalReference: sr.OtherSystemId,
			Status: sr.Status, Category: sr.Description, CreatedAt: sr.DateTimeInit.Time,
			ModifiedAt: latest(sr.DateTimeInit, sr.DateTimeClosed, sr.DateCancelled)})
	}
	if next := offset + len(page); next < len(ids) {
		out.NextCursor = strconv.Itoa(next)
	}
	return out, nil
}

// FeedMissesChanges: the feed sees only creates, closes and cancels of our service requests, so
// tickets keep their poll interval for the rest (vendorapi.PartialFeed).
func (c *Connector) FeedMissesChanges() bool { return true }

// forgetFeedRead lets the next read go ahead at once after a failed one.
func (c *Connector) forgetFeedRead() {
	c.feedMu.Lock()
	c.lastFeed = time.Time{}
	c.feedMu.Unlock()
}

// ImportsForeign reports whether importCityworksRequests is on (vendorapi.ForeignRequests).
func (c *Connector) ImportsForeign() bool { return c.opts.ImportCityworksRequests }

// ForeignRequests lists the open service requests entered directly in Cityworks (not by us)
// at or after since whose point lies inside an agency's service area and whose problem maps to
// a request type (options.categories), oldest first. SRX/SRY are read as WGS84 longitude and
// latitude.
func (c *Connector) ForeignRequests(ctx context.Context, since time.Time) ([]vendorapi.ForeignRequest, error) {
	if !c.opts.ImportCityworksRequests {
		return nil, nil
	}
	srs, err := c.client.CreatedElsewhereSince(ctx, since)
	if err != nil {
		return nil, err
	}
	var out []vendorapi.ForeignRequest
	for _, sr := range srs {
		if sr.Closed() || sr.Cancelled() || (sr.SRX == 0 && sr.SRY == 0) {
			continue
		}
		agency, ok := c.agencyAt(sr.SRX, sr.SRY)
		if !ok {
			continue
		}
		rt, ok := c.opts.requestTypeOf(KindSR, strconv.Itoa(sr.ProblemSid))
		if !ok {
			continue
		}
		lat, lng := sr.SRY, sr.SRX
		addr := strings.TrimSpace(strings.Join(slices.DeleteFunc([]string{sr.ProbAddress, sr.ProbCity, sr.ProbZip},
			func(s string) bool { return strings.TrimSpace(s) == "" }), ", "))
		out = append(out, vendorapi.ForeignRequest{RemoteID: srRemote(sr.RequestId), RequestType: rt, Category: sr.ProblemCode,
			Agency: agency.ID, Title: sr.Description, Description: sr.Details,
			Location: vendorapi.Location{Address: addr, Lat: &lat, Lng: &lng}, CreatedAt: sr.DateTimeInit.Time})
	}
	slices.SortStableFunc(out, func(a, b vendorapi.ForeignRequest) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return out, nil
}

// agencyAt returns the first agency whose service area holds the point.
func (c *Connector) agencyAt(lng, lat float64) (Agency, bool) {
	for _, a := range c.agencies {
		if a.Area.Contains(lng, lat) {
			return a, true
		}
	}
	return Agency{}, false
}
