//go:build chaos || benchsmoke

package main

import (
	"os"
	"testing"
)

// TestMain lets the test binary be the worker of a chaos run or of a bench with
// --worker-process: they re-execute os.Executable() with "worker", which here is this binary.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "worker" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}
