package app

import (
	"context"
	"time"

	"github.com/ticketsync/ticketsync/engine"
	"github.com/ticketsync/ticketsync/metrics"
)

// recordGauges refreshes the gauges read from the store (tickets by status, parked tickets by
// reason class, change-feed lag) every interval until ctx ends. The API process does it, once
// per deployment's API, so workers stay free of store scans.
func (a *App) recordGauges(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		a.RecordGauges(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// RecordGauges reads the store once and sets ticketsync_tickets, ticketsync_tickets_parked and
// ticketsync_change_feed_lag_seconds.
func (a *App) RecordGauges(ctx context.Context) {
	if byStatus, err := a.Store.CountByStatus(ctx); err == nil {
		counts := make([]metrics.TicketCount, 0, len(byStatus))
		for _, c := range byStatus {
			counts = append(counts, metrics.TicketCount{Connection: c.Connection, Status: c.Value, N: c.N})
		}
		metrics.SetTickets(counts)
	} else {
		a.Logger.Warn("ticket gauges", "error", err)
	}
	if parked, err := a.Store.CountParked(ctx); err == nil {
		byClass := map[[2]string]int{}
		for _, c := range parked {
			byClass[[2]string{c.Connection, engine.ReasonClass(c.Value)}] += c.N
		}
		counts := make([]metrics.ParkedCount, 0, len(byClass))
		for k, n := range byClass {
			counts = append(counts, metrics.ParkedCount{Connection: k[0], Reason: k[1], N: n})
		}
		metrics.SetParked(counts)
	} else {
		a.Logger.Warn("parked gauges", "error", err)
	}
	for _, id := range a.Registry.IDs() {
		last, err := a.Store.GetCursor(ctx, id, engine.FeedLastReadCursor)
		if err != nil || last == "" {
			continue
		}
		if t, err := time.Parse(time.RFC3339Nano, last); err == nil {
			metrics.SetChangeFeedLag(id, time.Since(t))
		}
	}
}
