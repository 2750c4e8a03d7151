package metrics

import (
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// Every family is exported under the name Names lists and passes promlint; Register twice is
// harmless; Default also has the runtime collectors the dashboard shows.
func TestFamiliesRegistered(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := Register(reg); err != nil {
		t.Fatal(err)
	}
	if err := Register(reg); err != nil {
		t.Fatalf("second Register: %v", err)
	}
	SetTickets([]TicketCount{{Connection: "c1", Status: "Open", N: 1}})
	SetParked([]ParkedCount{{Connection: "c1", Reason: "mapping", N: 1}})
	ObserveEventDelivery("c1", time.Second)
	CountEventDeliveryRetry("c1")
	SetSafetyNetLag("c1", 0)
	SetChangeFeedLag("c1", 0)
	CountInboundHook("theworxhub", HookAccepted)
	vendorErrors.WithLabelValues("theworxhub", "get_request", "server").Inc()
	vendorDuration.WithLabelValues("theworxhub", "get_request").Observe(.1)

	got := gathered(t, reg)
	for _, n := range Names() {
		if !got[n] {
			t.Errorf("%s not exported (have %v)", n, got)
		}
	}
	if len(got) != len(Names()) {
		t.Errorf("exported %d families, Names lists %d: %v", len(got), len(Names()), got)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint %s: %s", p.Metric, p.Text)
	}
	def := gathered(t, Default())
	for _, n := range append(Names(), "go_goroutines", "process_resident_memory_bytes") {
		if !def[n] {
			t.Errorf("Default lacks %s", n)
		}
	}
}

func gathered(t *testing.T, g prometheus.Gatherer) map[string]bool {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	return names
}

// Snapshots replace the gauges: a status no ticket has any more goes away instead of freezing.
func TestTicketGaugesReplaceSnapshot(t *testing.T) {
	SetTickets([]TicketCount{{Connection: "snap", Status: "Open", N: 3}, {Connection: "snap", Status: "OnHold", N: 2}})
	if got := testutil.ToFloat64(tickets.WithLabelValues("snap", "OnHold")); got != 2 {
		t.Fatalf("OnHold = %v", got)
	}
	SetTickets([]TicketCount{{Connection: "snap", Status: "Open", N: 5}})
	if n := testutil.CollectAndCount(tickets); n != 1 {
		t.Errorf("%d series after the last OnHold ticket resumed, want 1", n)
	}
	if got := testutil.ToFloat64(tickets.WithLabelValues("snap", "Open")); got != 5 {
		t.Errorf("Open = %v", got)
	}

	SetParked([]ParkedCount{{Connection: "snap", Reason: "vendor_rejected", N: 4}, {Connection: "other", Reason: "mapping", N: 1}})
	SetParked([]ParkedCount{{Connection: "snap", Reason: "vendor_rejected", N: 3}})
	if got := testutil.ToFloat64(parked.WithLabelValues("snap", "vendor_rejected")); got != 3 || testutil.CollectAndCount(parked) != 1 {
		t.Errorf("parked = %v in %d series", got, testutil.CollectAndCount(parked))
	}
}

func TestLagGauges(t *testing.T) {
	SetSafetyNetLag("lag", 90*time.Second)
	SetChangeFeedLag("lag", -time.Second) // clock skew: never negative
	if got := testutil.ToFloat64(safetyNetLag.WithLabelValues("lag")); got != 90 {
		t.Errorf("safety-net lag = %v", got)
	}
	if got := testutil.ToFloat64(changeFeedLag.WithLabelValues("lag")); got != 0 {
		t.Errorf("change-feed lag = %v", got)
	}

	// A connection removed from the file: its gauges go.
	SetTickets([]TicketCount{{Connection: "lag", Status: "Open", N: 1}, {Connection: "stays", Status: "Open", N: 1}})
	SetParked([]ParkedCount{{Connection: "lag", Reason: "mapping", N: 1}})
	ForgetConnection("lag")
	for name, c := range map[string]prometheus.Collector{"tickets": tickets, "parked": parked,
		"safety net": safetyNetLag, "change feed": changeFeedLag} {
		for _, m := range collect(t, c) {
			if m.GetLabel()[0].GetValue() == "lag" {
				t.Errorf("%s keeps a series of the removed connection: %v", name, m.GetLabel())
			}
		}
	}
	if got := testutil.ToFloat64(tickets.WithLabelValues("stays", "Open")); got != 1 {
		t.Errorf("another connection's series went too: %v", got)
	}
}

func TestDeliveryAndHooks(t *testing.T) {
	before := testutil.ToFloat64(deliveryRetries.WithLabelValues("deliv"))
	CountEventDeliveryRetry("deliv")
	CountEventDeliveryRetry("deliv")
	if got := testutil.ToFloat64(deliveryRetries.WithLabelValues("deliv")) - before; got != 2 {
		t.Errorf("retries = %v", got)
	}
	deliveryLag.DeleteLabelValues("deliv") // a fresh series (go test -count)
	ObserveEventDelivery("deliv", 3*time.Second)
	ObserveEventDelivery("deliv", 2*time.Hour)
	ObserveEventDelivery("deliv", -time.Second) // clock skew: counted as 0
	ms := slices.DeleteFunc(collect(t, deliveryLag), func(m *dto.Metric) bool { return m.GetLabel()[0].GetValue() != "deliv" })
	if len(ms) != 1 {
		t.Fatalf("%d delivery lag series", len(ms))
	}
	if h := ms[0].GetHistogram(); h.GetSampleCount() != 3 || h.GetSampleSum() != 3+7200 {
		t.Errorf("delivery lag count %d sum %v", h.GetSampleCount(), h.GetSampleSum())
	}

	inboundHooks.DeletePartialMatch(map[string]string{"kind": "hookkind"})
	CountInboundHook("hookkind", HookBadSignature)
	CountInboundHook("hookkind", HookBadSignature)
	CountInboundHook("hookkind", HookAccepted)
	if got := testutil.ToFloat64(inboundHooks.WithLabelValues("hookkind", HookBadSignature)); got != 2 {
		t.Errorf("bad signatures = %v", got)
	}
	if got := testutil.ToFloat64(inboundHooks.WithLabelValues("hookkind", HookAccepted)); got != 1 {
		t.Errorf("accepted = %v", got)
	}
}

// collect reads every series of c.
func collect(t *testing.T, c prometheus.Collector) []*dto.Metric {
	t.Helper()
	ch := make(chan prometheus.Metric, 100)
	go func() { c.Collect(ch); close(ch) }()
	var out []*dto.Metric
	for m := range ch {
		var d dto.Metric
		if err := m.Write(&d); err != nil {
			t.Fatal(err)
		}
		out = append(out, &d)
	}
	return out
}
