// Package metrics defines ticketsync's Prometheus metrics: our own families (tickets by status,
// parked tickets, event delivery, vendor calls, safety-net and change-feed lag, inbound hooks),
// the Temporal SDK's metrics bridged through tally (SDKHandler), and the worker's /metrics
// server (Serve). The recording functions are package level so any package records without
// threading a registry through; Register puts the families on a registry, Default is the
// process's registry with all of them.
//
// Label values are bounded sets (connection ids from the connections file, statuses, reason
// classes, vendor kinds, operation names chosen in code); never put a ticket id or an error
// message in a label.
package metrics

import (
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metric family names (the dashboard in deploy/grafana and docs/operations.md use them).
const (
	NameTickets              = "ticketsync_tickets"
	NameTicketsParked        = "ticketsync_tickets_parked"
	NameEventDeliveryLag     = "ticketsync_event_delivery_lag_seconds"
	NameEventDeliveryRetries = "ticketsync_event_delivery_retries_total"
	NameVendorDuration       = "ticketsync_vendor_request_duration_seconds"
	NameVendorErrors         = "ticketsync_vendor_request_errors_total"
	NameSafetyNetLag         = "ticketsync_safety_net_lag_seconds"
	NameChangeFeedLag        = "ticketsync_change_feed_lag_seconds"
	NameInboundHooks         = "ticketsync_inbound_hooks_total"
)

// Names lists our metric families.
func Names() []string {
	return []string{NameTickets, NameTicketsParked, NameEventDeliveryLag, NameEventDeliveryRetries,
		NameVendorDuration, NameVendorErrors, NameSafetyNetLag, NameChangeFeedLag, NameInboundHooks}
}

// Results of an inbound webhook, the result label of ticketsync_inbound_hooks_total.
const (
	HookAccepted          = "accepted"           // verified and handed to the ticket
	HookDuplicate         = "duplicate"          // a delivery id seen before (vendor retry)
	HookBadSignature      = "bad_signature"      // signature or timestamp rejected
	HookUnknownConnection = "unknown_connection" // no such connection, or not of this kind
	HookInvalid           = "invalid"            // unparsable body
	HookUnmatched         = "unmatched"          // no ticket for the remote id
	HookError             = "error"              // our failure (store, Temporal); the vendor retries
)

// Latency buckets in seconds: vendor calls and deliveries take from milliseconds to, when a
// vendor throttles or a portal is down, minutes or hours.
var (
	vendorBuckets   = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	deliveryBuckets = []float64{.1, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600}
)

var (
	tickets = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameTickets,
		Help: "Tickets by connection and status (read model)."}, []string{"connection", "status"})
	parked = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameTicketsParked,
		Help: "Tickets that need attention, by connection and reason class."}, []string{"connection", "reason"})
	deliveryLag = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: NameEventDeliveryLag,
		Help:    "Time from an event's creation to the portal's 2xx, by connection.",
		Buckets: deliveryBuckets}, []string{"connection"})
	deliveryRetries = prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameEventDeliveryRetries,
		Help: "Event deliveries to the portal that failed and will be retried, by connection."}, []string{"connection"})
	vendorDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: NameVendorDuration,
		Help:    "Vendor API calls: time to response headers, by vendor and operation (every attempt).",
		Buckets: vendorBuckets}, []string{"vendor", "operation"})
	vendorErrors = prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameVendorErrors,
		Help: "Failed vendor API calls by vendor, operation and class (timeout, transport, rate_limited, server, auth, client, redirect)."},
		[]string{"vendor", "operation", "class"})
	safetyNetLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameSafetyNetLag,
		Help: "How far the most overdue safety-net poll of a connection is behind schedule (0 = on time)."}, []string{"connection"})
	changeFeedLag = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: NameChangeFeedLag,
		Help: "Age of a connection's change-feed watermark: how far behind the vendor's changes ticketsync reads."}, []string{"connection"})
	inboundHooks = prometheus.NewCounterVec(prometheus.CounterOpts{Name: NameInboundHooks,
		Help: "Inbound vendor webhooks by kind and result."}, []string{"kind", "result"})

	families = []prometheus.Collector{tickets, parked, deliveryLag, deliveryRetries, vendorDuration, vendorErrors,
		safetyNetLag, changeFeedLag, inboundHooks}
)

// Register puts our families on reg. Registering on the same registry again is fine.
func Register(reg prometheus.Registerer) error {
	var errs []error
	for _, c := range families {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) && are.ExistingCollector == c {
				continue
			}
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var (
	defaultOnce sync.Once
	defaultReg  *prometheus.Registry
)

// Default is the process's registry: our families and the Go runtime and process collectors.
// DialTemporal adds the Temporal SDK's metrics to it (SDKHandler(Default())); the worker serves
// it and the API's /metrics includes it.
func Default() *prometheus.Registry {
	defaultOnce.Do(func() {
		r := prometheus.NewRegistry()
		r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
		if err := Register(r); err != nil {
			panic(err) // a fresh registry: only a programming error gets here
		}
		defaultReg = r
	})
	return defaultReg
}

// TicketCount is the number of tickets of one connection in one status.
type TicketCount struct {
	Connection, Status string
	N                  int
}

// SetTickets replaces ticketsync_tickets with counts; combinations not listed are dropped, so
// a status no ticket has any more disappears instead of freezing at its last value.
func SetTickets(counts []TicketCount) {
	tickets.Reset()
	for _, c := range counts {
		tickets.WithLabelValues(c.Connection, c.Status).Set(float64(c.N))
	}
}

// ParkedCount is the number of tickets of one connection parked for one reason class.
type ParkedCount struct {
	Connection, Reason string
	N                  int
}

// SetParked replaces ticketsync_tickets_parked with counts (as SetTickets).
func SetParked(counts []ParkedCount) {
	parked.Reset()
	for _, c := range counts {
		parked.WithLabelValues(c.Connection, c.Reason).Set(float64(c.N))
	}
}

// ObserveEventDelivery records an event the portal acknowledged, lag after it was created.
func ObserveEventDelivery(connection string, lag time.Duration) {
	deliveryLag.WithLabelValues(connection).Observe(max(lag, 0).Seconds())
}

// CountEventDeliveryRetry records a failed delivery attempt that will be retried.
func CountEventDeliveryRetry(connection string) {
	deliveryRetries.WithLabelValues(connection).Inc()
}

// SetSafetyNetLag records how far the connection's most overdue safety-net poll is late.
func SetSafetyNetLag(connection string, lag time.Duration) {
	safetyNetLag.WithLabelValues(connection).Set(max(lag, 0).Seconds())
}

// SetChangeFeedLag records the age of the connection's change-feed watermark.
func SetChangeFeedLag(connection string, lag time.Duration) {
	changeFeedLag.WithLabelValues(connection).Set(max(lag, 0).Seconds())
}

// ForgetConnection drops the per-connection gauges of a connection that no longer exists
// (removed from the connections file), so dashboards stop showing its last values.
func ForgetConnection(connection string) {
	for _, g := range []*prometheus.GaugeVec{tickets, parked} {
		g.DeletePartialMatch(prometheus.Labels{"connection": connection})
	}
	safetyNetLag.DeleteLabelValues(connection)
	changeFeedLag.DeleteLabelValues(connection)
}

// CountInboundHook records one inbound webhook of kind (the vendor kind, e.g. "theworxhub")
// with one of the Hook* results.
func CountInboundHook(kind, result string) {
	inboundHooks.WithLabelValues(kind, result).Inc()
}
