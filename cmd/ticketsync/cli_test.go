package main

import (
	"strings"
	"testing"
)

// Help is per verb, on stdout, exit 0; only the verb's own flags are shown.
func TestHelp(t *testing.T) {
	for _, tc := range []struct {
		args          []string
		want, notWant []string
	}{
		{[]string{"--help"}, []string{"tickets", "connections", "events", "tenants", "completion", "worker"}, nil},
		{[]string{"help"}, []string{"Usage:", "tickets"}, nil},
		{[]string{"tickets", "--help"}, []string{"create", "stuck", "remap", "erase", "patch", "skip", "--api", "--key"}, []string{"--text"}},
		{[]string{"tickets", "list", "--help"}, []string{"--status", "--needs-attention", "--output"}, []string{"--text", "--reason", "--requester-name"}},
		{[]string{"tickets", "comment", "-h"}, []string{"--text", "--author"}, []string{"--status", "--reason"}},
		{[]string{"help", "tickets", "show"}, []string{"--external-id"}, []string{"--text"}},
		{[]string{"connections", "validate", "--help"}, []string{"-f, --file", "connection-id"}, nil},
		{[]string{"tenants", "keys", "revoke", "--help"}, []string{"--tenant", "key-id"}, []string{"--api"}},
		{[]string{"dev", "--help"}, []string{"-data-dir", "-connections", "-demo"}, nil},
		{[]string{"help", "dev"}, []string{"-data-dir"}, nil},
	} {
		code, out, errOut := runCLI(tc.args...)
		if code != 0 {
			t.Errorf("%v: exit %d (%s)", tc.args, code, errOut)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: help lacks %q:\n%s", tc.args, w, out)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(out, w) {
				t.Errorf("%v: help shows another verb's %q:\n%s", tc.args, w, out)
			}
		}
	}
}

// Unknown commands, verbs and flags exit 2 with a message naming them — also with --help.
func TestUnknownCommandsAndFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate" for "ticketsync"`},
		{[]string{"tickets", "frob", "--help"}, `unknown command "frob" for "ticketsync tickets"`},
		{[]string{"tickets", "--api", "http://127.0.0.1:1", "frob"}, `unknown command "frob"`},
		{[]string{"tickets", "lst"}, `did you mean list?`},
		{[]string{"tenants", "keys", "rotate", "-h"}, `unknown command "rotate" for "ticketsync tenants keys"`},
		{[]string{"help", "tickets", "frob"}, `unknown command "frob" for "ticketsync tickets"`},
		{[]string{"tickets", "list", "--colour", "blue"}, `unknown flag: --colour`},
		{[]string{"tickets", "comment", "tkt_1", "--status", "x"}, `unknown flag: --status`},
		{[]string{"worker", "extra"}, `takes no arguments`},
		{[]string{"tickets"}, `missing verb`},
	} {
		code, out, errOut := runCLI(tc.args...)
		if code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", tc.args, code, errOut, tc.want)
		}
		if strings.Contains(out, "Available Commands") && tc.args[len(tc.args)-1] == "--help" {
			t.Errorf("%v: printed help for an unknown verb", tc.args)
		}
	}
}

func TestCompletion(t *testing.T) {
	for shell, want := range map[string]string{"bash": "__start_ticketsync", "zsh": "#compdef ticketsync", "fish": "complete -c ticketsync"} {
		code, out, errOut := runCLI("completion", shell)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("completion %s: %d %s (%d bytes)", shell, code, errOut, len(out))
		}
	}
	// Dynamic completion of verbs and of flag values.
	_, out, _ := runCLI("__complete", "tickets", "st")
	if !strings.Contains(out, "stuck") {
		t.Errorf("verb completion: %q", out)
	}
	_, out, _ = runCLI("__complete", "tickets", "list", "--status", "")
	if !strings.Contains(out, "OnHold") || !strings.Contains(out, "Canceled") {
		t.Errorf("--status completion: %q", out)
	}
	_, out, _ = runCLI("__complete", "tickets", "show", "-o", "")
	if !strings.Contains(out, "json") || !strings.Contains(out, "table") {
		t.Errorf("--output completion: %q", out)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-v"}} {
		if code, out, _ := runCLI(args...); code != 0 || !strings.HasPrefix(out, "ticketsync ") {
			t.Errorf("%v: %d %q", args, code, out)
		}
	}
}
