package config

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
)

// clearEnv unsets every TICKETSYNC_* variable (restored after the test) plus the unprefixed
// names envconfig would fall back to, which are set to decoys to prove they are ignored.
func clearEnv(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "TICKETSYNC_") {
			t.Setenv(name, "")
			os.Unsetenv(name)
		}
	}
	for _, n := range EnvNames() {
		t.Setenv(strings.TrimPrefix(n, "TICKETSYNC_"), "decoy-should-be-ignored")
	}
}

func TestEnvNames(t *testing.T) {
	want := []string{
		"TICKETSYNC_DATABASE_URL", "TICKETSYNC_TEMPORAL_ADDRESS", "TICKETSYNC_TEMPORAL_NAMESPACE",
		"TICKETSYNC_TASK_QUEUE", "TICKETSYNC_HTTP_ADDR", "TICKETSYNC_POLL_INTERVAL",
		"TICKETSYNC_CONNECTIONS_FILE", "TICKETSYNC_FEED_INTERVAL", "TICKETSYNC_WORKFLOW_POLLERS",
		"TICKETSYNC_ACTIVITY_POLLERS", "TICKETSYNC_LOG_LEVEL", "TICKETSYNC_LOG_FORMAT", "TICKETSYNC_EVENT_MAX_AGE",
	}
	if got := EnvNames(); !reflect.DeepEqual(got, want) {
		t.Fatalf("EnvNames() = %v", got)
	}
}

func TestLoadEnvDefaults(t *testing.T) {
	clearEnv(t)
	env, err := LoadEnv()
	if err != nil {
		t.Fatal(err)
	}
	want := Env{
		DatabaseURL: "sqlite://./.ticketsync/ticketsync.db", TemporalAddress: "127.0.0.1:7233",
		TemporalNamespace: "default", TaskQueue: "ticketsync", HTTPAddr: "127.0.0.1:8080",
		PollInterval: 15 * time.Minute, FeedInterval: 5 * time.Second, WorkflowPollers: 8, ActivityPollers: 8,
		LogLevel: "info", LogFormat: "text", EventMaxAge: 24 * time.Hour, Version: Version,
	}
	if env != want {
		t.Fatalf("got  %+v\nwant %+v", env, want)
	}
}

func TestLoadEnvOverrides(t *testing.T) {
	clearEnv(t)
	set := map[string]string{
		"TICKETSYNC_DATABASE_URL":       "postgres://ts:secret@db:5432/ts?sslmode=disable",
		"TICKETSYNC_TEMPORAL_ADDRESS":   "temporal:7233",
		"TICKETSYNC_HTTP_ADDR":          ":0",
		"TICKETSYNC_POLL_INTERVAL":      "1s",
		"TICKETSYNC_CONNECTIONS_FILE":   "/etc/ticketsync/connections.yaml",
		"TICKETSYNC_FEED_INTERVAL":      "250ms",
		"TICKETSYNC_WORKFLOW_POLLERS":   "256",
		"TICKETSYNC_ACTIVITY_POLLERS":   "1",
		"TICKETSYNC_LOG_LEVEL":          "WARN",
		"TICKETSYNC_LOG_FORMAT":         "json",
		"TICKETSYNC_EVENT_MAX_AGE":      "48h",
		"TICKETSYNC_TEMPORAL_NAMESPACE": "prod",
	}
	for k, v := range set {
		t.Setenv(k, v)
	}
	env, err := LoadEnv()
	if err != nil {
		t.Fatal(err)
	}
	if env.DatabaseURL != set["TICKETSYNC_DATABASE_URL"] || env.PollInterval != time.Second ||
		env.FeedInterval != 250*time.Millisecond || env.WorkflowPollers != 256 || env.LogLevel != "warn" ||
		env.HTTPAddr != ":0" || env.ConnectionsFile != "/etc/ticketsync/connections.yaml" || env.TemporalNamespace != "prod" {
		t.Fatalf("%+v", env)
	}
	for _, u := range []string{"postgresql://h/db", "sqlite:///var/lib/ticketsync/ts.db", "sqlite://./ts.db"} {
		t.Setenv("TICKETSYNC_DATABASE_URL", u)
		if _, err := LoadEnv(); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestLoadEnvReportsEverythingAtOnce(t *testing.T) {
	clearEnv(t)
	bad := map[string]string{
		"TICKETSYNC_DATABASE_URL":       "mysql://root:hunter2@db/ts",
		"TICKETSYNC_TEMPORAL_ADDRESS":   ":7233",
		"TICKETSYNC_TEMPORAL_NAMESPACE": " ",
		"TICKETSYNC_TASK_QUEUE":         "",
		"TICKETSYNC_HTTP_ADDR":          "8080",
		"TICKETSYNC_POLL_INTERVAL":      "abc",
		"TICKETSYNC_FEED_INTERVAL":      "0s",
		"TICKETSYNC_WORKFLOW_POLLERS":   "eight",
		"TICKETSYNC_ACTIVITY_POLLERS":   "257",
		"TICKETSYNC_LOG_LEVEL":          "verbose",
		"TICKETSYNC_LOG_FORMAT":         "xml",
		"TICKETSYNC_EVENT_MAX_AGE":      "-1h",
	}
	for k, v := range bad {
		t.Setenv(k, v)
	}
	_, err := LoadEnv()
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %T %v", err, err)
	}
	if len(ps) != len(bad) {
		t.Fatalf("want %d problems (one per variable), got %d:\n%v", len(bad), len(ps), err)
	}
	for k := range bad {
		if !ps.Has(k) {
			t.Errorf("no problem for %s", k)
		}
	}
	msg := err.Error()
	if strings.Count(msg, "\n") != len(bad) {
		t.Errorf("want one line per problem:\n%s", msg)
	}
	for _, want := range []string{
		`TICKETSYNC_POLL_INTERVAL: invalid value "abc": want a duration`,
		`TICKETSYNC_WORKFLOW_POLLERS: invalid value "eight": want a whole number`,
		`"mysql"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("missing %q in\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "hunter2") {
		t.Error("the database password leaked into the error")
	}
	t.Setenv("TICKETSYNC_DATABASE_URL", "sqlite://")
	_, err = LoadEnv()
	if !strings.Contains(err.Error(), "sqlite:// needs a file path") {
		t.Errorf("sqlite without path: %v", err)
	}
}

func TestEnvValidateDirect(t *testing.T) {
	e := Env{DatabaseURL: "sqlite://x.db", TemporalAddress: "127.0.0.1:7233", TemporalNamespace: "default",
		TaskQueue: "q", HTTPAddr: "127.0.0.1:8080", PollInterval: 500 * time.Millisecond, FeedInterval: time.Second,
		WorkflowPollers: 0, ActivityPollers: 8, LogLevel: "info", LogFormat: "text", EventMaxAge: time.Hour}
	err := e.Validate()
	ps, _ := err.(Problems)
	if len(ps) != 2 || !ps.Has("TICKETSYNC_POLL_INTERVAL") || !ps.Has("TICKETSYNC_WORKFLOW_POLLERS") {
		t.Fatalf("%v", err)
	}
}
