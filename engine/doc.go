// Package engine is the one place that turns requests for work into Temporal calls: it starts
// ticket workflows (with their store row), signals and queries them, and executes the intents
// that vendor packages return from inbound hooks and intake polls (start, poke, signal). The
// API (starter), the hook route and the ConnectionSync activities all go through it, so a
// ticket started by a portal's POST, a Cubu webhook or a SeeClickFix poll is started the same
// way: idempotent on its workflow id, never half-created.
package engine
