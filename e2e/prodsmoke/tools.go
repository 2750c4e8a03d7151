//go:build tools

package prodsmoke

// The smoke test builds these two commands of the Temporal server module ticketsync pins; this
// import keeps their dependencies in go.mod and go.sum (go mod tidy sees every build tag). The
// file is never compiled: main packages cannot be imported.
import (
	_ "go.temporal.io/server/cmd/server"
	_ "go.temporal.io/server/cmd/tools/sql"
)
