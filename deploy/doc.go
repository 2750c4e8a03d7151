// Package deploy holds the production-like deployment files and the tests that check them
// without a Docker engine: docker-compose.temporal.yml and the Dockerfile at the repository
// root, and next to this file the example connections file, the PostgreSQL init script, the
// Temporal dynamic config, the Temporal schema and setup scripts, the Prometheus configuration
// and, under grafana/, the ticketsync dashboard and its provisioning.
//
// The tests parse the compose file and the Dockerfile, check them against the code (every
// TICKETSYNC_* variable exists, the search attributes match the workflow's, Prometheus scrapes
// where each process serves /metrics, every metric the dashboard queries is exported), validate
// the example connections file with the config package, and build the binary the way the
// Dockerfile does to check that it is static. e2e/prodsmoke runs the same Temporal schema
// script and dynamic config for real, on PostgreSQL.
package deploy
