// Package bench is `ticketsync bench`: it runs the whole embedded stack (devstack, in memory)
// against a TheWorxHub simulator and a portal receiver of its own, creates tickets, plays
// TheWorxHub staff changing statuses and adding feedback, and measures what matters in
// production (issue 8, docs/performance.md):
//
//   - creation throughput (POST /v1/tickets to the request existing in TheWorxHub), next to the
//     bare-Temporal ceiling of the same server and worker settings (a workflow of two no-op
//     activities, as fast as it goes);
//   - notification latency, from the simulator's change time to the portal receiver's arrival
//     time, per path: push (webhook), feed only (pushes dropped) and timer only (feed failing);
//   - vendor calls per open ticket-day, counted at the simulator's door by operation, in a quiet
//     steady state, scaled from bench time to real time per kind of call (per-ticket calls follow
//     the poll interval, feed reads the feed interval);
//   - Temporal history events per quiet ticket-day (a sample of tickets), process RSS and CPU
//     seconds, store size;
//   - the same workload against a naive cron poller (every poll interval, GET every open
//     ticket), with ratios.
//
// The harness owns its simulators (not the dev stack's) so it can count calls by operation,
// drop pushes and fail the feed on cue; the dev stack runs with --connections pointing at them.
package bench
