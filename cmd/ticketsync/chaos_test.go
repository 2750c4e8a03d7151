package main

import (
	"strings"
	"testing"
)

// The chaos run is bounded: more than 10 minutes of faults, no tickets or a stray argument is
// a usage error (exit 2) naming the flag, before anything starts.
func TestChaosFlagsAreBounded(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"chaos", "--duration", "11m"}, "--duration must be between 20s and 10m0s"},
		{[]string{"chaos", "--duration", "5s"}, "--duration must be between"},
		{[]string{"chaos", "--tickets", "0"}, "--tickets must be between 1 and 2000"},
		{[]string{"chaos", "--tickets", "5000", "--duration", "1m"}, "--tickets must be between"},
		{[]string{"chaos", "--settle", "20m"}, "--settle must be between 0 and 10m0s"},
		{[]string{"chaos", "now"}, "takes no arguments"},
	} {
		code, out, errOut := runCLI(tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q (stdout %q); want exit 2 with %q", tc.args, code, errOut, out, tc.want)
		}
	}
	code, out, _ := runCLI("chaos", "--help")
	for _, w := range []string{"--tickets", "--duration", "--database-url", "--settle", "lost", "duplicates"} {
		if code != 0 || !strings.Contains(out, w) {
			t.Errorf("chaos --help (exit %d) lacks %q", code, w)
		}
	}
}
