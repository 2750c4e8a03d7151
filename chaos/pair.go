package chaos

import (
	"context"
	"slices"
	"strings"

	"github.com/ticketsync/ticketsync/store"
)

// pair is a connector pair the run drives besides portal → TheWorxHub and Cubu → TheWorxHub
// (those two share the TheWorxHub simulator and its checks, in driver.go and check.go): its
// simulators behind fault proxies, its connection, how a ticket is raised and lives, how its
// faults are armed, and how a ticket is checked against its simulators' truth. Every ticket of
// the run belongs to one connection; t.conn == p.conn() routes it here.
type pair interface {
	// conn is the connection id; name the pair's ("seeclickfix-cityworks", see portalPair);
	// kinds the connector kinds it exercises.
	conn() string
	name() string
	kinds() []string
	// start brings the simulators and their fault proxies up (proxies are added with
	// st.addProxy, so the schedule slows and stop closes them) and returns the connection's
	// entry of the connections YAML (indented as an item of `connections:`). The API's URL is
	// st.apiURL already; it serves only after ready.
	start(st *stack, seed uint64) (yaml string, err error)
	// ready runs once the API serves: what the vendor does to wire itself to ticketsync
	// (push-key registration, an integration's Validate, …).
	ready(ctx context.Context, st *stack) error
	// scripts are the lives of the pair's tickets, each ending in a terminal status.
	scripts() []script
	// raise is the requester raising the ticket on the request side; it sets t.ext and t.id
	// and returns once ticketsync has accepted it (t.created set, d.created counted).
	raise(ctx context.Context, d *driver, t *tracked) error
	// waitRemote waits until the work system holds the ticket's remote object (and records
	// its id with t.remoteID).
	waitRemote(ctx context.Context, d *driver, t *tracked) error
	// faults arms the base faults; tick tops up the bursts of second n of the fault phase;
	// clear stops every fault.
	faults()
	tick(n int)
	clear()
	// check compares one accepted ticket (its store row read) with the simulators' truth:
	// it adds to c.v's duplicates and lost counters and reports whether the ticket converged
	// (why not, through why).
	check(ctx context.Context, c *checker, t *tracked, row store.Ticket, why func(format string, a ...any)) bool
	// count adds the faults only the simulators know of (lost or duplicated pushes) once the
	// run is over.
	count(f *faultCounts)
	stop()
}

// Names of the two TheWorxHub pairs (the extra pairs name themselves): request kind, "-",
// work kind, as --pairs takes them; the report shows "→" for the "-".
const (
	portalPair = "portal-theworxhub"
	cubuPair   = "cubu-theworxhub"
)

// pairMakers make the extra pairs; each pair's file registers its own (init).
var pairMakers []func() pair

// newPairs are every extra pair, in the order tickets are dealt to them (by name).
func newPairs() []pair {
	var out []pair
	for _, mk := range pairMakers {
		out = append(out, mk())
	}
	slices.SortFunc(out, func(a, b pair) int { return strings.Compare(a.name(), b.name()) })
	return out
}

// arrow is a pair's name as the report shows it.
func arrow(name string) string { return strings.Replace(name, "-", "→", 1) }

// PairNames are the connector pairs a run can drive (Options.Pairs).
func PairNames() []string {
	names := []string{portalPair, cubuPair}
	for _, p := range newPairs() {
		names = append(names, p.name())
	}
	return names
}

// pairFor is the extra pair that owns a connection (nil for the TheWorxHub ones).
func (s *stack) pairFor(conn string) pair {
	for _, p := range s.pairs {
		if p.conn() == conn {
			return p
		}
	}
	return nil
}

// driven are the connector kinds exercised: those of every connection that had tickets.
func (s *stack) driven(perConnection map[string]int) []string {
	var kinds []string
	if perConnection[connectionID] > 0 {
		kinds = append(kinds, "portal", "theworxhub")
	}
	if perConnection[cubuConnID] > 0 {
		kinds = append(kinds, "cubu", "theworxhub")
	}
	for _, p := range s.pairs {
		if perConnection[p.conn()] > 0 {
			kinds = append(kinds, p.kinds()...)
		}
	}
	slices.Sort(kinds)
	return slices.Compact(kinds)
}

// selectPairs are the extra pairs named (every one when names is empty).
func selectPairs(names []string) []pair {
	var out []pair
	for _, p := range newPairs() {
		if len(names) == 0 || slices.Contains(names, p.name()) {
			out = append(out, p)
		}
	}
	return out
}

// topUp sets a fault counter to `to` on every every-th second of the fault phase when less is
// left, and reports whether it did: bursts come back regularly without piling up a backlog on an
// API called rarely (SetFaults replaces the counters).
func topUp(n, every int, counter *int, to int) bool {
	if n%every == 0 && *counter < to {
		*counter = to
		return true
	}
	return false
}
