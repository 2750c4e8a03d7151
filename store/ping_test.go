package store

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

// Ping's error is safe to show (/readyz); the driver's error goes to the log.
func TestPingErrorIsSafeAndLogged(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "secret-schema-name", "ts.db"))
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping on an open store: %v", err)
	}
	if logs.Len() != 0 {
		t.Errorf("a successful ping logged: %s", logs.String())
	}
	s.Close()
	err = s.Ping(ctx)
	if !errors.Is(err, ErrUnavailable) || err.Error() != "database unreachable" {
		t.Fatalf("Ping on a closed store = %v, want exactly %q", err, "database unreachable")
	}
	if !strings.Contains(logs.String(), "database is closed") || !strings.Contains(logs.String(), "component=database") {
		t.Errorf("the raw error was not logged: %q", logs.String())
	}
}

func TestPingPostgresUnreachable(t *testing.T) {
	ctx := context.Background()
	s := openURL(t, newPGSchemaURL(t))
	var logs bytes.Buffer
	s.SetLogger(slog.New(slog.NewTextHandler(&logs, nil)))
	s.Close()
	if err := s.Ping(ctx); err == nil || err.Error() != "database unreachable" {
		t.Fatalf("Ping = %v", err)
	}
	if logs.Len() == 0 {
		t.Error("nothing logged")
	}
}
