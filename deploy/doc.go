// Package deploy holds the production-like deployment files and the tests that check them
// without a Docker engine: docker-compose.temporal.yml and the Dockerfile at the repository
// root, and next to this file the example connections file, the PostgreSQL init script, the
// Temporal dynamic config and the Temporal schema and setup scripts the compose file mounts.
//
// The tests parse the compose file and the Dockerfile, check them against the code (every
// TICKETSYNC_* variable exists, the search attributes match the workflow's), validate the
// example connections file with the config package, and build the binary the way the
// Dockerfile does to check that it is static.
package deploy
