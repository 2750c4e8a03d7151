package config

import (
	"strings"
	"testing"
	"time"
)

func TestRetentionAndTemporalWebURL(t *testing.T) {
	for in, want := range map[string]time.Duration{"90d": 90 * 24 * time.Hour, "2160h": 2160 * time.Hour, "0": 0, " 7d ": 7 * 24 * time.Hour} {
		clearEnv(t)
		t.Setenv("TICKETSYNC_RETENTION", in)
		env, err := LoadEnv()
		if err != nil || env.Retention.Duration() != want {
			t.Errorf("RETENTION=%q: %s, %v; want %s", in, env.Retention.Duration(), err, want)
		}
	}
	for in, msg := range map[string]string{
		"ninety": "a number of days such as 90d", "30m": "out of range", "-1d": "out of range", "40000d": "out of range",
	} {
		clearEnv(t)
		t.Setenv("TICKETSYNC_RETENTION", in)
		if _, err := LoadEnv(); err == nil || !strings.Contains(err.Error(), "TICKETSYNC_RETENTION") || !strings.Contains(err.Error(), msg) {
			t.Errorf("RETENTION=%q: %v, want a problem saying %q", in, err, msg)
		}
	}
	clearEnv(t)
	t.Setenv("TICKETSYNC_TEMPORAL_WEB_URL", "https://temporal.example/ui")
	if env, err := LoadEnv(); err != nil || env.TemporalWebURL != "https://temporal.example/ui" {
		t.Errorf("TEMPORAL_WEB_URL: %q %v", env.TemporalWebURL, err)
	}
	for _, bad := range []string{"temporal.example", "ftp://x/", "http://"} {
		clearEnv(t)
		t.Setenv("TICKETSYNC_TEMPORAL_WEB_URL", bad)
		if _, err := LoadEnv(); err == nil || !strings.Contains(err.Error(), "TICKETSYNC_TEMPORAL_WEB_URL") {
			t.Errorf("TEMPORAL_WEB_URL=%q accepted: %v", bad, err)
		}
	}
}
