package simkit

import (
	"context"
	"math/rand/v2"
	"net/http"
	"time"
)

// NewRand returns the seeded RNG behind a simulator's probabilistic faults: the same seed draws
// the same faults, so a failing run can be repeated.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
}

// Take counts down a "next N calls" fault and reports whether it fires. Callers hold the
// simulator's lock.
func Take(n *int) bool {
	if *n > 0 {
		*n--
		return true
	}
	return false
}

// Chance draws against a rate in [0,1]. A zero rate draws nothing, so faults that are off do
// not shift the seeded sequence of the others. Callers hold the simulator's lock.
func Chance(rng *rand.Rand, rate float64) bool { return rate > 0 && rng.Float64() < rate }

// Pick returns one of xs at random.
func Pick[T any](rng *rand.Rand, xs ...T) T { return xs[rng.IntN(len(xs))] }

// Kind says which of the APIFaults fired.
type Kind int

// The APIFaults, in the order Inject draws them.
const (
	NoFault     Kind = iota
	RateLimited      // 429 with Retry-After
	ServerError      // a random 5xx
	HTMLOn200        // 200 with an HTML page where JSON was expected
)

// APIFaults are the faults most vendor APIs share, pointing into a simulator's Faults.
type APIFaults struct {
	// RateLimitBurst: the next N calls get 429 with Retry-After RetryAfterSeconds (at least 1).
	RateLimitBurst    *int
	RetryAfterSeconds int
	// ErrorRate answers a random one of Answers.ServerErrors.
	ErrorRate float64
	// HTMLOn200: the next N calls get 200 with Answers.HTMLPage (a proxy's or a sign-in page).
	HTMLOn200 *int
}

// Answers are a vendor's own bodies for the APIFaults.
type Answers struct {
	// TooMany writes the 429 (Retry-After is already set).
	TooMany func(w http.ResponseWriter)
	// ServerErrors are the statuses ErrorRate picks from; ServerError writes the one picked.
	ServerErrors []int
	ServerError  func(w http.ResponseWriter, status int)
	// HTMLPage is the page of HTMLOn200.
	HTMLPage string
}

// Inject draws the faults for one call, under the simulator's lock: the burst first, then the
// rate, then the HTML page. It returns what fired and the writer of its answer, to be called
// once the lock is released; NoFault and nil when nothing fired.
func (f APIFaults) Inject(rng *rand.Rand, a Answers) (Kind, func(http.ResponseWriter)) {
	switch {
	case Take(f.RateLimitBurst):
		ra := max(f.RetryAfterSeconds, 1)
		return RateLimited, func(w http.ResponseWriter) {
			SetRetryAfter(w.Header(), ra)
			a.TooMany(w)
		}
	case Chance(rng, f.ErrorRate):
		status := Pick(rng, a.ServerErrors...)
		return ServerError, func(w http.ResponseWriter) { a.ServerError(w, status) }
	case Take(f.HTMLOn200):
		return HTMLOn200, Page(http.StatusOK, a.HTMLPage, 0)
	}
	return NoFault, nil
}

// IISFaults are the front-end faults of an on-premises IIS server (Cityworks, ArcGIS Server):
// its 500 and 503 pages on the next N calls, then the APIFaults answered with IIS pages (a
// random 500 or 503, a 429 page) and signIn as the HTML on 200.
type IISFaults struct {
	ServerErrors, Unavailable *int
	APIFaults
}

// Inject draws the faults for one call, under the simulator's lock, and returns the writer of
// the answer (503s carry Retry-After when RetryAfterSeconds > 0), or nil.
func (f IISFaults) Inject(rng *rand.Rand, signIn string) func(http.ResponseWriter) {
	unavailable := Page(http.StatusServiceUnavailable, IIS503Page, f.RetryAfterSeconds)
	switch {
	case Take(f.ServerErrors):
		return Page(http.StatusInternalServerError, IIS500Page, 0)
	case Take(f.Unavailable):
		return unavailable
	}
	_, answer := f.APIFaults.Inject(rng, Answers{
		TooMany:      func(w http.ResponseWriter) { WriteHTML(w, http.StatusTooManyRequests, TooManyRequestsPage) },
		ServerErrors: []int{http.StatusInternalServerError, http.StatusServiceUnavailable},
		ServerError: func(w http.ResponseWriter, status int) {
			if status == http.StatusServiceUnavailable {
				unavailable(w)
				return
			}
			WriteHTML(w, status, IIS500Page)
		},
		HTMLPage: signIn,
	})
	return answer
}

// Sleep waits d (latency, a slow answer, a retry delay) unless ctx ends first; it reports
// whether ctx is still live, so a handler stops when its client has gone.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// DropConnection closes the client's connection without an answer (e.g. after committing a
// create, so the client cannot know whether it worked).
func DropConnection(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler) // e.g. HTTP/2: net/http resets the stream
}
