package main

import (
	"strings"
	"testing"
)

// bench documents its flags and refuses wrong settings before starting anything (exit 2).
func TestBenchFlags(t *testing.T) {
	code, out, errOut := runCLI("bench", "--help")
	if code != 0 {
		t.Fatalf("bench --help: exit %d (%s)", code, errOut)
	}
	for _, w := range []string{"--tickets", "--duration", "--json", "--markdown", "--change-rate", "--poll-interval",
		"--feed-interval", "--feed", "--push", "--store", "--cpuprofile", "--phases"} {
		if !strings.Contains(out, w) {
			t.Errorf("bench --help lacks %s", w)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--push", "maybe"}, `--push "maybe": want on or off`},
		{[]string{"bench", "--feed", "sometimes"}, `--feed "sometimes": want on or off`},
		{[]string{"bench", "--store", "oracle"}, `--store "oracle"`},
		{[]string{"bench", "--poll-interval", "10ms"}, `--poll-interval 10ms`},
		{[]string{"bench", "--phases", "create,warp"}, `unknown phase "warp"`},
		{[]string{"bench", "--store", "postgres", "--database-url", ""}, `--store postgres needs --database-url`},
	} {
		t.Setenv("TICKETSYNC_DATABASE_URL", "")
		code, _, errOut := runCLI(tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d naming %q", tc.args, code, errOut, exitUsage, tc.want)
		}
	}
}
