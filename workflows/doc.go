// Package workflows holds ticketsync's deterministic orchestration: the Ticket workflow (one per
// ticket, long running), ConnectionSync (one per connection: the work system's change feed and
// the request system's intake) and CatalogSync. No I/O here: every effect is an activity
// (package activities), and no vendor package is imported: connectors/ maps kinds to vendors.
//
// The Ticket workflow is split by concern: ticket.go (entry, main loop, continue-as-new),
// signals.go (signal handlers and the one timer-or-signal wait), steps.go (create, poll,
// cancel, comment at the work system), events.go (timeline events, status and parking),
// delivery.go (in-order delivery to the request system) and readmodel.go (store sync,
// search attributes, Temporal Web details).
package workflows
