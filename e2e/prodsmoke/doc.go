// Package prodsmoke runs ticketsync in its production shape, for real, on one machine: the
// Temporal server built from the go.temporal.io/server module ticketsync pins, on PostgreSQL
// with the schemas made by deploy/temporal-schema.sh and deploy/temporal-dynamicconfig.yaml;
// `ticketsync migrate`, two `ticketsync worker` processes and one `ticketsync api` configured
// only through TICKETSYNC_* and a connections file; the TheWorxHub simulator and the fake
// portal as a separate process (simserver). Tickets run end to end while a worker is killed.
//
// It is slow (the Temporal server takes minutes to build on two cores) and needs PostgreSQL,
// so it sits behind the prodsmoke build tag, out of `go test ./...`. Run it with
// scripts/prod-smoke.sh (docs/operations.md: "The production smoke test").
package prodsmoke
