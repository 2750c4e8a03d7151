package devstack

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

// BenchmarkCreateToRequested measures tickets per second from POST /v1/tickets to the signed
// `Requested` event at the portal, through the whole dev stack (embedded Temporal on SQLite,
// worker, TheWorxHub simulator without its 120 calls/min limit), for 2 workflow-task pollers (the SDK default) and 8 (ours).
// Compare the two in one run: go test ./devstack -run '^$' -bench CreateToRequested -benchtime 40x
func BenchmarkCreateToRequested(b *testing.B) {
	for _, pollers := range []int{2, 8} {
		b.Run(fmt.Sprintf("pollers=%d", pollers), func(b *testing.B) {
			o := Options{Ephemeral: true, HTTPAddr: "127.0.0.1:0", TemporalPort: -1, UIPort: -1, NoUI: true,
				WorkflowPollers: pollers, NoSimRateLimit: true}
			for _, sim := range simulators {
				*sim.port(&o) = -1
			}
			s, err := Start(context.Background(), o)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Stop()
			b.ResetTimer()
			began := time.Now()
			var wg sync.WaitGroup
			sem := make(chan struct{}, 16)
			for i := 0; i < b.N; i++ {
				wg.Add(1)
				sem <- struct{}{}
				go func(i int) {
					defer wg.Done()
					defer func() { <-sem }()
					if err := s.apiPost("/v1/tickets", demoTicket(fmt.Sprintf("bench-%d-%d", pollers, i))); err != nil {
						b.Error(err)
					}
				}(i)
			}
			wg.Wait()
			deadline := time.Now().Add(5 * time.Minute)
			for {
				n := 0
				for _, e := range s.Portal.Events() {
					if e.Event.Type == "ticket.status_changed" && e.Event.Ticket.Status == "Requested" {
						n++
					}
				}
				if n >= b.N {
					break
				}
				if time.Now().After(deadline) {
					b.Fatalf("only %d of %d tickets reached Requested", n, b.N)
				}
				time.Sleep(20 * time.Millisecond)
			}
			b.ReportMetric(float64(b.N)/time.Since(began).Seconds(), "tickets/s")
		})
	}
}
