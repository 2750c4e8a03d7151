package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
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
		"TICKETSYNC_ACTIVITY_POLLERS", "TICKETSYNC_WORKFLOW_CACHE_SIZE", "TICKETSYNC_LOG_LEVEL", "TICKETSYNC_LOG_FORMAT", "TICKETSYNC_EVENT_MAX_AGE",
		"TICKETSYNC_TEMPORAL_TLS", "TICKETSYNC_TEMPORAL_TLS_CA", "TICKETSYNC_TEMPORAL_TLS_CERT",
		"TICKETSYNC_TEMPORAL_TLS_KEY", "TICKETSYNC_TEMPORAL_TLS_SERVER_NAME", "TICKETSYNC_TEMPORAL_API_KEY",
		"TICKETSYNC_WORKER_METRICS_ADDR", "TICKETSYNC_OPERATOR_API_KEYS", "TICKETSYNC_TEMPORAL_WEB_URL", "TICKETSYNC_RETENTION",
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
		WorkflowCacheSize: 10000, LogLevel: "info", LogFormat: "text", EventMaxAge: 24 * time.Hour, WorkerMetricsAddr: "127.0.0.1:9090",
		TemporalWebURL: "http://127.0.0.1:8233", Version: Version,
	}
	if !reflect.DeepEqual(env, want) {
		t.Fatalf("got  %+v\nwant %+v", env, want)
	}
	if env.TemporalTLSEnabled() {
		t.Error("TLS is on by default")
	}
}

func TestLoadEnvOverrides(t *testing.T) {
	clearEnv(t)
	set := map[string]string{
		"TICKETSYNC_DATABASE_URL":        "postgres://ts:secret@db:5432/ts?sslmode=disable",
		"TICKETSYNC_TEMPORAL_ADDRESS":    "temporal:7233",
		"TICKETSYNC_HTTP_ADDR":           ":0",
		"TICKETSYNC_POLL_INTERVAL":       "1s",
		"TICKETSYNC_CONNECTIONS_FILE":    "/etc/ticketsync/connections.yaml",
		"TICKETSYNC_FEED_INTERVAL":       "250ms",
		"TICKETSYNC_WORKFLOW_POLLERS":    "256",
		"TICKETSYNC_ACTIVITY_POLLERS":    "1",
		"TICKETSYNC_WORKFLOW_CACHE_SIZE": "500",
		"TICKETSYNC_LOG_LEVEL":           "WARN",
		"TICKETSYNC_LOG_FORMAT":          "json",
		"TICKETSYNC_EVENT_MAX_AGE":       "48h",
		"TICKETSYNC_TEMPORAL_NAMESPACE":  "prod",
	}
	for k, v := range set {
		t.Setenv(k, v)
	}
	env, err := LoadEnv()
	if err != nil {
		t.Fatal(err)
	}
	if env.DatabaseURL != set["TICKETSYNC_DATABASE_URL"] || env.PollInterval != time.Second ||
		env.FeedInterval != 250*time.Millisecond || env.WorkflowPollers != 256 || env.WorkflowCacheSize != 500 || env.LogLevel != "warn" ||
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
		"TICKETSYNC_DATABASE_URL":        "mysql://root:hunter2@db/ts",
		"TICKETSYNC_TEMPORAL_ADDRESS":    ":7233",
		"TICKETSYNC_TEMPORAL_NAMESPACE":  " ",
		"TICKETSYNC_TASK_QUEUE":          "",
		"TICKETSYNC_HTTP_ADDR":           "8080",
		"TICKETSYNC_POLL_INTERVAL":       "abc",
		"TICKETSYNC_FEED_INTERVAL":       "0s",
		"TICKETSYNC_WORKFLOW_POLLERS":    "eight",
		"TICKETSYNC_ACTIVITY_POLLERS":    "257",
		"TICKETSYNC_WORKFLOW_CACHE_SIZE": "-1",
		"TICKETSYNC_LOG_LEVEL":           "verbose",
		"TICKETSYNC_LOG_FORMAT":          "xml",
		"TICKETSYNC_EVENT_MAX_AGE":       "-1h",
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

func TestWorkerMetricsAddr(t *testing.T) {
	clearEnv(t)
	t.Setenv("TICKETSYNC_WORKER_METRICS_ADDR", "") // set but empty: the worker serves no /metrics
	env, err := LoadEnv()
	if err != nil || env.WorkerMetricsAddr != "" {
		t.Fatalf("empty: %q, %v", env.WorkerMetricsAddr, err)
	}
	t.Setenv("TICKETSYNC_WORKER_METRICS_ADDR", ":9464")
	if env, err = LoadEnv(); err != nil || env.WorkerMetricsAddr != ":9464" {
		t.Fatalf("all interfaces: %q, %v", env.WorkerMetricsAddr, err)
	}
	t.Setenv("TICKETSYNC_WORKER_METRICS_ADDR", "9090")
	_, err = LoadEnv()
	var ps Problems
	if !errors.As(err, &ps) || !ps.Has("TICKETSYNC_WORKER_METRICS_ADDR") || !strings.Contains(err.Error(), "or empty") {
		t.Fatalf("bad address: %v", err)
	}
}

// pki writes a CA and a client certificate signed by it (PEM files in a temp dir).
type pki struct {
	dir                       string
	caFile, certFile, keyFile string
	ca                        *x509.Certificate
	caKey                     *ecdsa.PrivateKey
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir()}
	p.caKey = genKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.caKey.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	if p.ca, err = x509.ParseCertificate(der); err != nil {
		t.Fatal(err)
	}
	p.caFile = p.write(t, "ca.pem", "CERTIFICATE", der)
	p.certFile, p.keyFile = p.client(t, "client", time.Now().Add(time.Hour))
	return p
}

func genKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// client issues a client certificate named cn, valid until notAfter; returns cert and key files.
func (p *pki) client(t *testing.T, cn string, notAfter time.Time) (string, string) {
	t.Helper()
	key := genKey(t)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.ca, &key.PublicKey, p.caKey)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return p.write(t, cn+".pem", "CERTIFICATE", der), p.write(t, cn+"-key.pem", "EC PRIVATE KEY", kder)
}

func (p *pki) write(t *testing.T, name, typ string, der []byte) string {
	t.Helper()
	f := filepath.Join(p.dir, name)
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func validEnv() Env {
	return Env{DatabaseURL: "sqlite://x.db", TemporalAddress: "temporal.example:7233", TemporalNamespace: "default",
		TaskQueue: "q", HTTPAddr: "127.0.0.1:8080", PollInterval: time.Minute, FeedInterval: time.Second,
		WorkflowPollers: 8, ActivityPollers: 8, LogLevel: "info", LogFormat: "text", EventMaxAge: time.Hour}
}

func TestTemporalTLSValidate(t *testing.T) {
	p := newPKI(t)
	expiredCert, expiredKey := p.client(t, "expired", time.Now().Add(-time.Hour))
	otherCert, _ := p.client(t, "other", time.Now().Add(time.Hour))
	missing := filepath.Join(p.dir, "missing.pem")
	for _, tc := range []struct {
		name  string
		set   func(*Env)
		field string
		want  []string // substrings of the message
	}{
		{"cert without key", func(e *Env) { e.TemporalTLSCert = p.certFile }, "TICKETSYNC_TEMPORAL_TLS_KEY",
			[]string{"mTLS needs both", "set TICKETSYNC_TEMPORAL_TLS_KEY to the PEM file"}},
		{"key without cert", func(e *Env) { e.TemporalTLSKey = p.keyFile }, "TICKETSYNC_TEMPORAL_TLS_CERT",
			[]string{"set TICKETSYNC_TEMPORAL_TLS_CERT to the PEM file"}},
		{"unreadable CA", func(e *Env) { e.TemporalTLSCA = missing }, "TICKETSYNC_TEMPORAL_TLS_CA",
			[]string{"cannot read the CA file", "missing.pem", "no such file"}},
		{"CA not PEM", func(e *Env) { e.TemporalTLSCA = p.keyFile }, "TICKETSYNC_TEMPORAL_TLS_CA",
			[]string{"holds no PEM certificate"}},
		{"unreadable key", func(e *Env) { e.TemporalTLSCert, e.TemporalTLSKey = p.certFile, missing }, "TICKETSYNC_TEMPORAL_TLS_CERT",
			[]string{"cannot read the client certificate or key", "missing.pem"}},
		{"key of another certificate", func(e *Env) { e.TemporalTLSCert, e.TemporalTLSKey = otherCert, p.keyFile }, "TICKETSYNC_TEMPORAL_TLS_CERT",
			[]string{"do not load as a pair"}},
		{"expired client certificate", func(e *Env) { e.TemporalTLSCert, e.TemporalTLSKey = expiredCert, expiredKey }, "TICKETSYNC_TEMPORAL_TLS_CERT",
			[]string{"expired on"}},
		{"server name with port", func(e *Env) { e.TemporalTLSServerName = "temporal:7233" }, "TICKETSYNC_TEMPORAL_TLS_SERVER_NAME",
			[]string{"not a host name"}},
		{"API key with a newline", func(e *Env) { e.TemporalAPIKey = "sekrit-key-value\n" }, "TICKETSYNC_TEMPORAL_API_KEY",
			[]string{"line break"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := validEnv()
			tc.set(&e)
			err := e.Validate()
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != 1 || !ps.Has(tc.field) {
				t.Fatalf("want one problem on %s, got %v", tc.field, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("message lacks %q: %v", w, err)
				}
			}
			if strings.Contains(err.Error(), "sekrit") {
				t.Error("the API key leaked into the error")
			}
			if _, cerr := e.TemporalTLSConfig(); cerr == nil {
				t.Error("TemporalTLSConfig accepted what Validate rejects")
			}
		})
	}
}

func TestTemporalTLSConfig(t *testing.T) {
	e := validEnv()
	if cfg, err := e.TemporalTLSConfig(); cfg != nil || err != nil {
		t.Fatalf("plaintext: %v, %v", cfg, err)
	}

	// An API key alone means TLS verified by the system roots (Temporal Cloud).
	e.TemporalAPIKey = "key"
	cfg, err := e.TemporalTLSConfig()
	if err != nil || cfg == nil || cfg.RootCAs != nil || cfg.GetClientCertificate != nil {
		t.Fatalf("API key: %+v, %v", cfg, err)
	}

	p := newPKI(t)
	e = validEnv()
	e.TemporalTLSCA, e.TemporalTLSCert, e.TemporalTLSKey, e.TemporalTLSServerName = p.caFile, p.certFile, p.keyFile, "temporal.internal"
	if err := e.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg, err = e.TemporalTLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ServerName != "temporal.internal" || cfg.MinVersion < tls.VersionTLS12 {
		t.Errorf("server name %q, min version %x", cfg.ServerName, cfg.MinVersion)
	}
	if _, err := p.ca.Verify(x509.VerifyOptions{}); err == nil {
		t.Fatal("the test CA must not be a system root")
	}
	if _, err := p.ca.Verify(x509.VerifyOptions{Roots: cfg.RootCAs}); err != nil {
		t.Errorf("RootCAs do not hold the CA: %v", err)
	}
	leafCN := func() string {
		t.Helper()
		c, err := cfg.GetClientCertificate(&tls.CertificateRequestInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf.Subject.CommonName
	}
	if got := leafCN(); got != "client" {
		t.Fatalf("client certificate %q", got)
	}

	// Renewed on disk: the next handshake presents the new certificate.
	renewedCert, renewedKey := p.client(t, "renewed", time.Now().Add(time.Hour))
	for src, dst := range map[string]string{renewedCert: p.certFile, renewedKey: p.keyFile} {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if got := leafCN(); got != "renewed" {
		t.Fatalf("after renewal: %q", got)
	}
	// Half-replaced (new certificate, key of another): the last good pair is kept.
	otherCert, _ := p.client(t, "other", time.Now().Add(time.Hour))
	b, _ := os.ReadFile(otherCert)
	if err := os.WriteFile(p.certFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if got := leafCN(); got != "renewed" {
		t.Fatalf("inconsistent files: %q", got)
	}
}

// Environ is what a child process needs to load the same settings: every field set round-trips
// through LoadEnv; a field left zero is not written (the child takes its default).
func TestEnvironRoundTrips(t *testing.T) {
	clearEnv(t)
	want := Env{DatabaseURL: "postgres://ts@db:5432/ts?sslmode=disable", TemporalAddress: "temporal:7233",
		TemporalNamespace: "prod", TaskQueue: "q", HTTPAddr: "127.0.0.1:9999", PollInterval: 90 * time.Second,
		ConnectionsFile: "/etc/ts/connections.yaml", FeedInterval: 250 * time.Millisecond, WorkflowPollers: 3,
		ActivityPollers: 4, WorkflowCacheSize: 500, LogLevel: "warn", LogFormat: "json", EventMaxAge: 48 * time.Hour,
		TemporalTLS: true, TemporalTLSServerName: "temporal.internal", WorkerMetricsAddr: "127.0.0.1:9191",
		OperatorAPIKeys: []string{strings.Repeat("a", 32), strings.Repeat("b", 32)},
		TemporalWebURL:  "https://temporal.example/", Retention: RetentionPeriod(90 * 24 * time.Hour), Version: Version}
	vars := want.Environ()
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	got, err := LoadEnv()
	if err != nil {
		t.Fatalf("%v\n%s", err, strings.Join(vars, "\n"))
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if n := len((Env{TaskQueue: "q"}).Environ()); n != 1 {
		t.Errorf("an Env with one field set wrote %d variables", n)
	}
}
