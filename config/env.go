package config

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Version is the build version, set with -ldflags "-X github.com/ticketsync/ticketsync/config.Version=…".
var Version = "dev"

// EnvPrefix prefixes every environment variable: TICKETSYNC_DATABASE_URL etc.
const EnvPrefix = "TICKETSYNC"

// Env is the process configuration (DESIGN.md §8). Tags name the variables after the prefix.
type Env struct {
	DatabaseURL       string        `envconfig:"DATABASE_URL" default:"sqlite://./.ticketsync/ticketsync.db"`
	TemporalAddress   string        `envconfig:"TEMPORAL_ADDRESS" default:"127.0.0.1:7233"`
	TemporalNamespace string        `envconfig:"TEMPORAL_NAMESPACE" default:"default"`
	TaskQueue         string        `envconfig:"TASK_QUEUE" default:"ticketsync"`
	HTTPAddr          string        `envconfig:"HTTP_ADDR" default:"127.0.0.1:8080"`
	PollInterval      time.Duration `envconfig:"POLL_INTERVAL" default:"15m"`  // per-ticket safety-net poll
	ConnectionsFile   string        `envconfig:"CONNECTIONS_FILE"`             // "" = none (dev uses its demo)
	FeedInterval      time.Duration `envconfig:"FEED_INTERVAL" default:"5s"`   // ConnectionSync change-feed reads
	WorkflowPollers   int           `envconfig:"WORKFLOW_POLLERS" default:"8"` // worker task pollers
	ActivityPollers   int           `envconfig:"ACTIVITY_POLLERS" default:"8"`
	// WorkflowCacheSize is how many ticket workflows a worker process keeps in memory between
	// their tasks (the SDK's sticky cache; 0 = the SDK's default, 10,000): the worker's RSS
	// grows with it, not with the open tickets, which beyond it replay on their next task.
	WorkflowCacheSize int           `envconfig:"WORKFLOW_CACHE_SIZE" default:"10000"`
	LogLevel          string        `envconfig:"LOG_LEVEL" default:"info"`    // debug|info|warn|error
	LogFormat         string        `envconfig:"LOG_FORMAT" default:"text"`   // text|json
	EventMaxAge       time.Duration `envconfig:"EVENT_MAX_AGE" default:"24h"` // then delivery is abandoned, ticket parked

	// Reaching a Temporal cluster that wants TLS, mTLS or an API key (Temporal Cloud, a secured
	// self-hosted cluster). TLS is on when TemporalTLS is true or any other TLS setting or the API
	// key is set; with no CA file the system roots verify the server.
	TemporalTLS           bool   `envconfig:"TEMPORAL_TLS"`             // TLS with the system roots
	TemporalTLSCA         string `envconfig:"TEMPORAL_TLS_CA"`          // PEM file: CA(s) that signed the server certificate
	TemporalTLSCert       string `envconfig:"TEMPORAL_TLS_CERT"`        // PEM file: client certificate (mTLS), with TLS_KEY
	TemporalTLSKey        string `envconfig:"TEMPORAL_TLS_KEY"`         // PEM file: the client certificate's private key
	TemporalTLSServerName string `envconfig:"TEMPORAL_TLS_SERVER_NAME"` // name to verify instead of the address's host
	TemporalAPIKey        string `envconfig:"TEMPORAL_API_KEY"`         // sent as "Authorization: Bearer …"; never logged

	// WorkerMetricsAddr is where `ticketsync worker` serves /metrics; "" turns it off.
	WorkerMetricsAddr string `envconfig:"WORKER_METRICS_ADDR" default:"127.0.0.1:9090"`

	// OperatorAPIKeys (comma-separated) authorise the API's operator routes (skip,
	// enable-endpoint, …) across every tenant; tenant keys get 403 there. Never logged.
	OperatorAPIKeys []string `envconfig:"OPERATOR_API_KEYS"`

	// TemporalWebURL is Temporal Web's base URL: every API ticket view links to the ticket's
	// workflow there (<base>/namespaces/<namespace>/workflows/<workflow id>).
	TemporalWebURL string `envconfig:"TEMPORAL_WEB_URL" default:"http://127.0.0.1:8233"`
	// Retention is how long a finished ticket keeps its timeline, request body and inbound
	// delivery records ("90d", "2160h"); 0 keeps them for ever. The ticket row stays.
	Retention RetentionPeriod `envconfig:"RETENTION" default:"0"`

	Version string `ignored:"true"` // from the package var, not the env
}

// Bounds used by Validate. Upper bounds catch unit slips ("15h" meant as "15m" is fine, "15000h" is not).
const (
	MinPollInterval  = time.Second
	MaxPollInterval  = 7 * 24 * time.Hour
	MaxFeedInterval  = 24 * time.Hour
	MaxEventMaxAge   = 30 * 24 * time.Hour
	MaxPollers       = 256
	MaxWorkflowCache = 1_000_000
)

// LogLevels and LogFormats are the accepted values (lower case).
var (
	LogLevels  = []string{"debug", "info", "warn", "error"}
	LogFormats = []string{"text", "json"}
)

type envField struct {
	index int
	name  string // full variable name
	field reflect.StructField
}

func envFields() []envField {
	t := reflect.TypeOf(Env{})
	var out []envField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("envconfig")
		if tag == "" || f.Tag.Get("ignored") == "true" {
			continue
		}
		out = append(out, envField{index: i, name: EnvPrefix + "_" + tag, field: f})
	}
	return out
}

// EnvNames lists every TICKETSYNC_* variable LoadEnv reads, in field order.
func EnvNames() []string {
	var names []string
	for _, f := range envFields() {
		names = append(names, f.name)
	}
	return names
}

// Environ renders the fields of e that are set (non-zero) as the TICKETSYNC_* variables LoadEnv
// reads back into the same values: the environment of a child process configured like this
// one (a worker started by `ticketsync chaos` or `bench --worker-process`). Fields left zero
// take the child's defaults; a variable that must be empty (WORKER_METRICS_ADDR to turn it
// off) is the caller's to add.
func (e Env) Environ() []string {
	v := reflect.ValueOf(e)
	var out []string
	for _, f := range envFields() {
		fv := v.Field(f.index)
		if fv.IsZero() {
			continue
		}
		var s string
		switch x := fv.Interface().(type) {
		case RetentionPeriod:
			s = time.Duration(x).String()
		case []string:
			s = strings.Join(x, ",")
		default:
			s = fmt.Sprint(x) // strings, numbers, bools and time.Duration read back as written
		}
		out = append(out, f.name+"="+s)
	}
	return out
}

// LoadEnv reads the environment, applies defaults and validates. On error the returned Env
// holds whatever did parse and the error is Problems listing every bad variable.
//
// Each field goes through envconfig on its own, under its full name with no prefix. Two
// reasons: a parse error in one variable must not hide the others, and envconfig's whole-struct
// mode silently falls back to the unprefixed name (DATABASE_URL, LOG_LEVEL, HTTP_ADDR…), which
// would pick up another program's settings; only the exact TICKETSYNC_* names count.
func LoadEnv() (Env, error) {
	var env Env
	var probs Problems
	bad := map[string]bool{}
	out := reflect.ValueOf(&env).Elem()
	for _, f := range envFields() {
		sf := f.field
		sf.Tag = reflect.StructTag(fmt.Sprintf(`envconfig:%q default:%q`, f.name, sf.Tag.Get("default")))
		holder := reflect.New(reflect.StructOf([]reflect.StructField{sf}))
		if err := envconfig.Process("", holder.Interface()); err != nil {
			bad[f.name] = true
			probs = append(probs, Problem{Field: f.name, Message: parseMessage(err, sf.Type)})
			continue
		}
		out.Field(f.index).Set(holder.Elem().Field(0))
	}
	env.OperatorAPIKeys = trimKeys(env.OperatorAPIKeys)
	env.LogLevel = strings.ToLower(strings.TrimSpace(env.LogLevel))
	env.LogFormat = strings.ToLower(strings.TrimSpace(env.LogFormat))
	env.Version = Version
	var vp Problems
	if err := env.Validate(); err != nil {
		vp = err.(Problems)
	}
	for _, p := range vp {
		if !bad[p.Field] { // already reported as unparsable
			probs = append(probs, p)
		}
	}
	return env, probs.orNil()
}

func parseMessage(err error, t reflect.Type) string {
	var pe *envconfig.ParseError
	if !errors.As(err, &pe) {
		return err.Error()
	}
	want := "a value of type " + t.String()
	switch {
	case t == reflect.TypeOf(time.Duration(0)):
		want = "a duration such as 30s, 5m or 1h30m"
	case t.Kind() == reflect.Int:
		want = "a whole number"
	case t.Kind() == reflect.Bool:
		want = "true or false"
	case t == reflect.TypeOf(RetentionPeriod(0)):
		want = "a number of days such as 90d, or a duration such as 720h (0 keeps data for ever)"
	}
	return fmt.Sprintf("invalid value %q: want %s", pe.Value, want)
}

// Validate checks every field and returns Problems (nil when fine).
func (e Env) Validate() error {
	var ps Problems
	add := func(field, format string, a ...any) {
		ps = append(ps, Problem{Field: EnvPrefix + "_" + field, Message: fmt.Sprintf(format, a...)})
	}
	if msg := checkDatabaseURL(e.DatabaseURL); msg != "" {
		add("DATABASE_URL", "%s", msg)
	}
	if msg := checkHostPort(e.TemporalAddress, false); msg != "" {
		add("TEMPORAL_ADDRESS", "%s", msg)
	}
	if strings.TrimSpace(e.TemporalNamespace) == "" {
		add("TEMPORAL_NAMESPACE", "must not be empty")
	}
	if strings.TrimSpace(e.TaskQueue) == "" {
		add("TASK_QUEUE", "must not be empty")
	}
	if msg := checkHostPort(e.HTTPAddr, true); msg != "" {
		add("HTTP_ADDR", "%s", msg)
	}
	checkDur := func(field string, d, lo, hi time.Duration) {
		if d < lo || d > hi {
			add(field, "%s is out of range: want between %s and %s", d, lo, hi)
		}
	}
	checkDur("POLL_INTERVAL", e.PollInterval, MinPollInterval, MaxPollInterval)
	checkDur("FEED_INTERVAL", e.FeedInterval, time.Millisecond, MaxFeedInterval)
	checkDur("EVENT_MAX_AGE", e.EventMaxAge, time.Second, MaxEventMaxAge)
	if e.WorkflowPollers < 1 || e.WorkflowPollers > MaxPollers {
		add("WORKFLOW_POLLERS", "%d is out of range: want 1 to %d", e.WorkflowPollers, MaxPollers)
	}
	if e.ActivityPollers < 1 || e.ActivityPollers > MaxPollers {
		add("ACTIVITY_POLLERS", "%d is out of range: want 1 to %d", e.ActivityPollers, MaxPollers)
	}
	if e.WorkflowCacheSize < 0 || e.WorkflowCacheSize > MaxWorkflowCache {
		add("WORKFLOW_CACHE_SIZE", "%d is out of range: want 1 to %d (0: the SDK's default)", e.WorkflowCacheSize, MaxWorkflowCache)
	}
	if !oneOf(e.LogLevel, LogLevels) {
		add("LOG_LEVEL", "%q is not one of %s", e.LogLevel, strings.Join(LogLevels, ", "))
	}
	if !oneOf(e.LogFormat, LogFormats) {
		add("LOG_FORMAT", "%q is not one of %s", e.LogFormat, strings.Join(LogFormats, ", "))
	}
	for _, p := range e.checkTemporalTLS() {
		add(p.Field, "%s", p.Message)
	}
	if e.WorkerMetricsAddr != "" {
		if msg := checkHostPort(e.WorkerMetricsAddr, true); msg != "" {
			add("WORKER_METRICS_ADDR", "%s (or empty to turn the worker's /metrics off)", msg)
		}
	}
	if u, err := url.Parse(e.TemporalWebURL); e.TemporalWebURL != "" && (err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "") {
		add("TEMPORAL_WEB_URL", "%q is not an http(s) URL (e.g. http://127.0.0.1:8233)", e.TemporalWebURL)
	}
	if r := e.Retention.Duration(); r < 0 || (r > 0 && r < time.Hour) || r > MaxRetention {
		add("RETENTION", "%s is out of range: want 0 (keep for ever) or between 1h and %dd", r, MaxRetention/(24*time.Hour))
	}
	for i, k := range e.OperatorAPIKeys {
		if len(k) < MinOperatorKeyLength {
			add("OPERATOR_API_KEYS", "key %d is %d characters; an operator key needs at least %d (e.g. openssl rand -hex 32)", i+1, len(k), MinOperatorKeyLength)
		}
	}
	return ps.orNil()
}

// RetentionPeriod is TICKETSYNC_RETENTION: days ("90d") or a Go duration ("2160h"); 0 = off.
type RetentionPeriod time.Duration

// Decode implements envconfig.Decoder.
func (r *RetentionPeriod) Decode(v string) error {
	v = strings.TrimSpace(v)
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return fmt.Errorf("%q is not a number of days", v)
		}
		*r = RetentionPeriod(time.Duration(n) * 24 * time.Hour)
		return nil
	}
	if v == "0" || v == "" {
		*r = 0
		return nil
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		return err
	}
	*r = RetentionPeriod(d)
	return nil
}

// Duration is the period as a time.Duration.
func (r RetentionPeriod) Duration() time.Duration { return time.Duration(r) }

// MaxRetention bounds TICKETSYNC_RETENTION (catches unit slips; 100 years is "for ever").
const MaxRetention = 100 * 365 * 24 * time.Hour

// MinOperatorKeyLength is the shortest operator API key accepted: it opens every tenant.
const MinOperatorKeyLength = 32

// trimKeys drops spaces around each key and empty entries ("a, b," is two keys).
func trimKeys(keys []string) []string {
	var out []string
	for _, k := range keys {
		if k = strings.TrimSpace(k); k != "" {
			out = append(out, k)
		}
	}
	return out
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

// checkDatabaseURL accepts postgres:// or postgresql:// URLs and sqlite://<path> (three
// slashes for an absolute path). The message never repeats the URL: it may hold a password.
func checkDatabaseURL(u string) string {
	u = strings.TrimSpace(u)
	switch {
	case u == "":
		return "must not be empty (postgres://… or sqlite://<path>)"
	case strings.HasPrefix(u, "sqlite://"):
		if strings.TrimPrefix(u, "sqlite://") == "" {
			return "sqlite:// needs a file path, e.g. sqlite://./ts.db or sqlite:///var/lib/ticketsync/ts.db"
		}
		return ""
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		if _, err := parseURL(u); err != nil {
			return "not a valid postgres URL"
		}
		return ""
	default:
		scheme, _, ok := strings.Cut(u, "://")
		if ok && !strings.ContainsAny(scheme, "@/:") {
			return fmt.Sprintf("unsupported scheme %q: want postgres://, postgresql:// or sqlite://<path>", scheme)
		}
		return "want postgres://, postgresql:// or sqlite://<path>"
	}
}

// checkHostPort wants host:port with a numeric port; listen addresses may omit the host
// (":8080", all interfaces) and use port 0 (pick a free port, tests).
func checkHostPort(addr string, listen bool) string {
	host, port, err := net.SplitHostPort(strings.TrimSpace(addr))
	if err != nil {
		return fmt.Sprintf("%q is not host:port", addr)
	}
	if host == "" && !listen {
		return fmt.Sprintf("%q has no host", addr)
	}
	n, err := strconv.Atoi(port)
	lo := 1
	if listen {
		lo = 0
	}
	if err != nil || n < lo || n > 65535 {
		return fmt.Sprintf("%q has an invalid port", addr)
	}
	return ""
}

// TemporalTLSEnabled reports whether ticketsync dials Temporal over TLS.
func (e Env) TemporalTLSEnabled() bool {
	return e.TemporalTLS || e.TemporalTLSCA != "" || e.TemporalTLSCert != "" || e.TemporalTLSKey != "" ||
		e.TemporalTLSServerName != "" || e.TemporalAPIKey != ""
}

// checkTemporalTLS validates the TLS and API-key settings; fields are without the prefix.
// Files are read here so a bad path fails at start, not at the first reconnect.
func (e Env) checkTemporalTLS() []Problem {
	var ps []Problem
	add := func(field, format string, a ...any) {
		ps = append(ps, Problem{Field: field, Message: fmt.Sprintf(format, a...)})
	}
	if e.TemporalTLSCA != "" {
		if _, err := loadCAPool(e.TemporalTLSCA); err != nil {
			add("TEMPORAL_TLS_CA", "%v", err)
		}
	}
	switch {
	case e.TemporalTLSCert != "" && e.TemporalTLSKey == "":
		add("TEMPORAL_TLS_KEY", "not set, but %s_TEMPORAL_TLS_CERT is: mTLS needs both; set %s_TEMPORAL_TLS_KEY to the PEM file of the client certificate's private key (or unset %s_TEMPORAL_TLS_CERT)",
			EnvPrefix, EnvPrefix, EnvPrefix)
	case e.TemporalTLSKey != "" && e.TemporalTLSCert == "":
		add("TEMPORAL_TLS_CERT", "not set, but %s_TEMPORAL_TLS_KEY is: mTLS needs both; set %s_TEMPORAL_TLS_CERT to the PEM file of the client certificate (or unset %s_TEMPORAL_TLS_KEY)",
			EnvPrefix, EnvPrefix, EnvPrefix)
	case e.TemporalTLSCert != "":
		if _, err := loadKeyPair(e.TemporalTLSCert, e.TemporalTLSKey, time.Now()); err != nil {
			add("TEMPORAL_TLS_CERT", "%v", err)
		}
	}
	if strings.ContainsAny(e.TemporalTLSServerName, " \t\r\n/:") {
		add("TEMPORAL_TLS_SERVER_NAME", "%q is not a host name (no port, no scheme)", e.TemporalTLSServerName)
	}
	// Never echo the key: it is a credential.
	if e.TemporalAPIKey != "" && strings.TrimSpace(e.TemporalAPIKey) != e.TemporalAPIKey {
		add("TEMPORAL_API_KEY", "has leading or trailing white space or a line break (copied with a newline?)")
	} else if strings.ContainsAny(e.TemporalAPIKey, " \t\r\n") {
		add("TEMPORAL_API_KEY", "contains white space: an API key is a single token")
	}
	return ps
}

// TemporalTLSConfig is the TLS configuration for dialing Temporal, or nil for plaintext.
//
// The client certificate is read again at every TLS handshake, so a certificate renewed on disk
// is used from the next reconnect on without a restart; when the files are momentarily
// inconsistent (one replaced, the other not yet) the last good pair is kept.
func (e Env) TemporalTLSConfig() (*tls.Config, error) {
	if !e.TemporalTLSEnabled() {
		return nil, nil
	}
	if err := e.checkTemporalTLSProblems(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: e.TemporalTLSServerName}
	if e.TemporalTLSCA != "" {
		pool, err := loadCAPool(e.TemporalTLSCA)
		if err != nil {
			return nil, fmt.Errorf("%s_TEMPORAL_TLS_CA: %w", EnvPrefix, err)
		}
		cfg.RootCAs = pool
	}
	if e.TemporalTLSCert != "" {
		certFile, keyFile := e.TemporalTLSCert, e.TemporalTLSKey
		first, err := loadKeyPair(certFile, keyFile, time.Now())
		if err != nil {
			return nil, fmt.Errorf("%s_TEMPORAL_TLS_CERT: %w", EnvPrefix, err)
		}
		var mu sync.Mutex
		last := first
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			mu.Lock()
			defer mu.Unlock()
			if c, err := loadKeyPair(certFile, keyFile, time.Now()); err == nil {
				last = c
			}
			return last, nil
		}
	}
	return cfg, nil
}

// checkTemporalTLSProblems is checkTemporalTLS as an error, prefixed names.
func (e Env) checkTemporalTLSProblems() error {
	var ps Problems
	for _, p := range e.checkTemporalTLS() {
		ps = append(ps, Problem{Field: EnvPrefix + "_" + p.Field, Message: p.Message})
	}
	return ps.orNil()
}

func loadCAPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate (want the CA that signed the Temporal server's certificate, -----BEGIN CERTIFICATE-----)", path)
	}
	return pool, nil
}

func loadKeyPair(certFile, keyFile string, now time.Time) (*tls.Certificate, error) {
	for _, f := range []string{certFile, keyFile} {
		if _, err := os.ReadFile(f); err != nil {
			return nil, fmt.Errorf("cannot read the client certificate or key: %w", err)
		}
	}
	c, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("client certificate %s and key %s do not load as a pair: %w", certFile, keyFile, err)
	}
	if now.After(c.Leaf.NotAfter) {
		return nil, fmt.Errorf("client certificate %s expired on %s", certFile, c.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return &c, nil
}
