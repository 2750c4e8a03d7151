package deploy

import (
	"bufio"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ticketsync/ticketsync/codec"
	"github.com/ticketsync/ticketsync/config"
)

// Paths relative to this package's directory (go test runs in it).
const (
	repoRoot           = ".."
	composeName        = "docker-compose.temporal.yml"
	dockerfileName     = "Dockerfile"
	dockerignoreName   = ".dockerignore"
	connectionsExample = "connections.example.yaml"
	temporalSetup      = "temporal-setup.sh"
	postgresInit       = "postgres-init.sql"
)

// expectedSearchAttributes are the Ticket workflow's custom search attributes (DESIGN.md §3, the
// same as devstack.SearchAttributes). They are written out here because importing devstack
// would pull the Temporal server into this test binary; searchattributes_test.go compares the
// setup script with the workflow code itself.
var expectedSearchAttributes = map[string]string{
	"TicketTenant":         "Keyword",
	"TicketConnection":     "Keyword",
	"TicketExternalId":     "Keyword",
	"TicketRemoteId":       "Keyword",
	"TicketStatus":         "Keyword",
	"TicketNeedsAttention": "Bool",
}

// The services of the stack (DESIGN.md §2) and the ones that run ticketsync.
var (
	requiredServices = []string{
		"postgresql", "temporal-schema", "temporal", "temporal-setup", "temporal-ui",
		"ticketsync-migrate", "ticketsync-worker", "ticketsync-api",
	}
	ticketsyncServices = []string{"ticketsync-migrate", "ticketsync-worker", "ticketsync-api"}
	subcommands        = map[string]string{
		"ticketsync-migrate": "migrate", "ticketsync-worker": "worker", "ticketsync-api": "api",
	}
)

// ---- the compose file --------------------------------------------------------------------

type composeFile struct {
	Name     string              `yaml:"name"`
	Services map[string]*service `yaml:"services"`
	Volumes  map[string]any      `yaml:"volumes"`
}

// service holds the keys the tests look at, in the forms the file must use: exec-form command,
// entrypoint and healthcheck, short-syntax ports and volumes, depends_on with conditions.
type service struct {
	Image       string                `yaml:"image"`
	Build       yaml.Node             `yaml:"build"`
	Command     []string              `yaml:"command"`
	Entrypoint  []string              `yaml:"entrypoint"`
	Environment yaml.Node             `yaml:"environment"`
	Ports       []string              `yaml:"ports"`
	Volumes     []string              `yaml:"volumes"`
	DependsOn   map[string]dependency `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Restart string `yaml:"restart"`
}

type dependency struct {
	Condition string `yaml:"condition"`
}

var (
	composeOnce sync.Once
	composeData *composeFile
	composeErr  error
)

func loadCompose(t *testing.T) *composeFile {
	t.Helper()
	composeOnce.Do(func() {
		b, err := os.ReadFile(filepath.Join(repoRoot, composeName))
		if err != nil {
			composeErr = err
			return
		}
		var c composeFile
		if err := yaml.Unmarshal(b, &c); err != nil {
			composeErr = fmt.Errorf("%s: %w", composeName, err)
			return
		}
		composeData = &c
	})
	if composeErr != nil {
		t.Fatal(composeErr)
	}
	return composeData
}

func mustService(t *testing.T, c *composeFile, name string) *service {
	t.Helper()
	s, ok := c.Services[name]
	if !ok || s == nil {
		t.Fatalf("%s: service %q is missing", composeName, name)
	}
	return s
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// environment returns a service's environment (mapping or KEY=VALUE list form), values not
// interpolated.
func environment(t *testing.T, name string, s *service) map[string]string {
	t.Helper()
	env := map[string]string{}
	n := resolve(&s.Environment)
	switch {
	case n == nil || n.Kind == 0:
	case n.Kind == yaml.MappingNode:
		if err := n.Decode(&env); err != nil {
			t.Fatalf("%s: environment: %v", name, err)
		}
	case n.Kind == yaml.SequenceNode:
		var list []string
		if err := n.Decode(&list); err != nil {
			t.Fatalf("%s: environment: %v", name, err)
		}
		for _, kv := range list {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	default:
		t.Fatalf("%s: environment must be a mapping or a list", name)
	}
	return env
}

// ---- compose interpolation ---------------------------------------------------------------

type varRef struct {
	Name       string
	HasDefault bool // ${X:-d} or ${X-d}
	Required   bool // ${X:?msg} or ${X?msg}
	Default    string
}

var interpRe = regexp.MustCompile(`\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)`)

// interpolate expands compose variables like `docker compose` does; a variable without a
// default gets dummy(name).
func interpolate(s string, dummy func(string) string) (string, []varRef) {
	var refs []varRef
	out := interpRe.ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		sub := interpRe.FindStringSubmatch(m)
		r := varRef{Name: sub[1]}
		if r.Name == "" {
			r.Name = sub[4]
		}
		switch sub[2] {
		case ":-", "-":
			r.HasDefault, r.Default = true, sub[3]
		case ":?", "?":
			r.Required = true
		}
		refs = append(refs, r)
		if r.HasDefault {
			return r.Default
		}
		return dummy(r.Name)
	})
	return out, refs
}

func dummyValue(name string) string {
	return "dummy" + strings.ToLower(strings.ReplaceAll(name, "_", ""))
}

// ---- tests: compose ----------------------------------------------------------------------

func TestComposeServices(t *testing.T) {
	c := loadCompose(t)
	for _, name := range requiredServices {
		s := mustService(t, c, name)
		if s.Image == "" {
			t.Errorf("%s: no image", name)
		}
	}
	for _, name := range ticketsyncServices {
		s := mustService(t, c, name)
		want := subcommands[name]
		if len(s.Command) != 1 || s.Command[0] != want {
			t.Errorf("%s: command = %q, want [%q] (the image's entrypoint is the binary)", name, s.Command, want)
		}
		if len(s.Entrypoint) != 0 {
			t.Errorf("%s: overrides the image's entrypoint: %q", name, s.Entrypoint)
		}
	}
}

// imageRef splits repo[:tag][@digest].
func imageRef(image string) (repo, tag, digest string) {
	repo, digest, _ = strings.Cut(image, "@")
	if i := strings.LastIndex(repo, ":"); i > strings.LastIndex(repo, "/") {
		repo, tag = repo[:i], repo[i+1:]
	}
	return repo, tag, digest
}

func TestComposeImagesPinned(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		if s.Image == "" {
			continue // TestComposeServices reports it
		}
		_, tag, digest := imageRef(s.Image)
		switch {
		case digest != "":
		case tag == "":
			t.Errorf("%s: image %q has no tag", name, s.Image)
		case tag == "latest":
			t.Errorf("%s: image %q is not pinned", name, s.Image)
		}
		if strings.Contains(s.Image, "$") {
			t.Errorf("%s: image %q is a variable; pin it in the file", name, s.Image)
		}
	}

	want := map[string]string{
		"postgresql":      "postgres",
		"temporal-schema": "temporalio/admin-tools",
		"temporal":        "temporalio/server",
		"temporal-setup":  "temporalio/admin-tools",
		"temporal-ui":     "temporalio/ui",
	}
	for name, repo := range want {
		if got, _, _ := imageRef(mustService(t, c, name).Image); got != repo {
			t.Errorf("%s: image repository %q, want %q", name, got, repo)
		}
	}

	// The server and its admin tools (schema files, CLI) run the Temporal line go.mod builds
	// against; Temporal Web the ui-server line.
	serverLine := majorMinor(t, modVersion(t, "go.temporal.io/server"))
	for _, name := range []string{"temporal", "temporal-schema", "temporal-setup"} {
		_, tag, _ := imageRef(mustService(t, c, name).Image)
		if got := majorMinor(t, tag); got != serverLine {
			t.Errorf("%s: image tag %q is Temporal %s, go.mod has go.temporal.io/server %s", name, tag, got, serverLine)
		}
	}
	_, serverTag, _ := imageRef(mustService(t, c, "temporal").Image)
	_, toolsTag, _ := imageRef(mustService(t, c, "temporal-schema").Image)
	if serverTag != toolsTag {
		t.Errorf("temporal-schema runs admin-tools %s but the server is %s: the schema must match the server", toolsTag, serverTag)
	}
	uiLine := majorMinor(t, modVersion(t, "github.com/temporalio/ui-server/v2"))
	if _, tag, _ := imageRef(mustService(t, c, "temporal-ui").Image); majorMinor(t, tag) != uiLine {
		t.Errorf("temporal-ui: image tag %q, go.mod has ui-server %s", tag, uiLine)
	}
	if _, tag, _ := imageRef(mustService(t, c, "postgresql").Image); versionPart(tag, 0) < 15 {
		// postgres-init.sql uses psql's \getenv (15+); Temporal's postgres12 plugin wants 12+.
		t.Errorf("postgresql: %s is older than PostgreSQL 15", tag)
	}
}

func TestComposeBuild(t *testing.T) {
	c := loadCompose(t)
	if _, err := os.Stat(filepath.Join(repoRoot, dockerfileName)); err != nil {
		t.Fatal(err)
	}
	image := ""
	for _, name := range ticketsyncServices {
		s := mustService(t, c, name)
		b := resolve(&s.Build)
		context, dockerfile := "", dockerfileName
		switch {
		case b == nil || b.Kind == 0:
			t.Errorf("%s: no build section: it must be built from the repository's Dockerfile", name)
			continue
		case b.Kind == yaml.ScalarNode:
			context = b.Value
		case b.Kind == yaml.MappingNode:
			var m struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			}
			if err := b.Decode(&m); err != nil {
				t.Fatalf("%s: build: %v", name, err)
			}
			context = m.Context
			if m.Dockerfile != "" {
				dockerfile = m.Dockerfile
			}
		}
		if filepath.Clean(context) != "." || dockerfile != dockerfileName {
			t.Errorf("%s: build context %q, dockerfile %q; want %q and %q", name, context, dockerfile, ".", dockerfileName)
		}
		if image == "" {
			image = s.Image
		} else if s.Image != image {
			t.Errorf("%s: image %q, the other ticketsync services use %q", name, s.Image, image)
		}
	}
}

// port is one short-syntax port mapping: [ip:][host:]container[/proto].
type port struct {
	IP              string
	Host, Container int
}

func parsePort(t *testing.T, service, spec string) port {
	t.Helper()
	spec, _, _ = strings.Cut(spec, "/")
	parts := strings.Split(spec, ":")
	var p port
	var err error
	atoi := func(s string) int {
		n, e := strconv.Atoi(s)
		if e != nil {
			err = e
		}
		return n
	}
	switch len(parts) {
	case 1:
		p.Container = atoi(parts[0])
	case 2:
		p.Host, p.Container = atoi(parts[0]), atoi(parts[1])
	case 3:
		p.IP, p.Host, p.Container = parts[0], atoi(parts[1]), atoi(parts[2])
	default:
		t.Fatalf("%s: port %q: want [ip:]host:container", service, spec)
	}
	if err != nil {
		t.Fatalf("%s: port %q: %v (ranges and variables are not used here)", service, spec, err)
	}
	return p
}

func TestComposePorts(t *testing.T) {
	c := loadCompose(t)
	want := map[string]port{
		"ticketsync-api": {Host: 8080, Container: 8080},
		"temporal-ui":    {Host: 8233, Container: 8080},
		"temporal":       {Host: 7233, Container: 7233}, // if published at all
	}
	published := map[int]string{}
	for name, s := range c.Services {
		for _, spec := range s.Ports {
			p := parsePort(t, name, spec)
			if p.Host != 0 {
				if other, dup := published[p.Host]; dup {
					t.Errorf("host port %d is published by %s and %s", p.Host, other, name)
				}
				published[p.Host] = name
			}
		}
	}
	for name, w := range want {
		s := mustService(t, c, name)
		if name == "temporal" && len(s.Ports) == 0 {
			continue
		}
		found := false
		for _, spec := range s.Ports {
			p := parsePort(t, name, spec)
			found = found || (p.Host == w.Host && p.Container == w.Container)
		}
		if !found {
			t.Errorf("%s: ports %q do not publish %d:%d", name, s.Ports, w.Host, w.Container)
		}
	}
}

func TestComposeEnvironment(t *testing.T) {
	c := loadCompose(t)
	known := map[string]bool{}
	for _, n := range config.EnvNames() {
		known[n] = true
	}
	// The payload codec's settings are read by app.CodecFromEnv, not config.Env.
	for _, n := range []string{codec.EnvKeys, codec.EnvTokens, codec.EnvOrigins, "TICKETSYNC_CODEC_DISABLED"} {
		known[n] = true
	}
	for name, s := range c.Services {
		for k := range environment(t, name, s) {
			if strings.HasPrefix(k, config.EnvPrefix+"_") && !known[k] {
				t.Errorf("%s: %s is not a ticketsync variable (config.EnvNames: %s)", name, k, strings.Join(config.EnvNames(), ", "))
			}
		}
	}

	setupNS := environment(t, "temporal-setup", mustService(t, c, "temporal-setup"))["NAMESPACE"]
	for _, name := range []string{"ticketsync-worker", "ticketsync-api", "ticketsync-migrate"} {
		s := mustService(t, c, name)
		env := environment(t, name, s)
		required := []string{"DATABASE_URL"}
		if name != "ticketsync-migrate" {
			required = append(required, "TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "CONNECTIONS_FILE")
		}
		for _, r := range required {
			if env[config.EnvPrefix+"_"+r] == "" {
				t.Errorf("%s: %s_%s is not set", name, config.EnvPrefix, r)
			}
		}

		// The process would start with this environment: load it the way the binary does.
		for _, k := range config.EnvNames() {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
		for k, v := range env {
			if strings.HasPrefix(k, config.EnvPrefix+"_") {
				val, _ := interpolate(v, dummyValue)
				t.Setenv(k, val)
			}
		}
		got, err := config.LoadEnv()
		if err != nil {
			t.Errorf("%s: its environment does not load: %v", name, err)
			continue
		}
		u, err := url.Parse(got.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			t.Errorf("%s: TICKETSYNC_DATABASE_URL is not a postgres URL", name)
		} else {
			if host := u.Hostname(); host != "postgresql" {
				t.Errorf("%s: database host %q, want the postgresql service", name, host)
			}
			if db := strings.TrimPrefix(u.Path, "/"); db != "ticketsync" {
				t.Errorf("%s: database %q, want ticketsync (Temporal has its own databases)", name, db)
			}
		}
		if name == "ticketsync-migrate" {
			continue
		}
		if host, p, _ := net.SplitHostPort(got.TemporalAddress); host != "temporal" || p != "7233" {
			t.Errorf("%s: TICKETSYNC_TEMPORAL_ADDRESS = %q, want temporal:7233", name, got.TemporalAddress)
		}
		if got.TemporalNamespace != setupNS {
			t.Errorf("%s: namespace %q, but temporal-setup creates %q", name, got.TemporalNamespace, setupNS)
		}
		if got.LogFormat != "json" {
			t.Errorf("%s: TICKETSYNC_LOG_FORMAT = %q, want json", name, got.LogFormat)
		}
		if name == "ticketsync-api" {
			host, p, _ := net.SplitHostPort(got.HTTPAddr)
			if host != "0.0.0.0" && host != "" {
				t.Errorf("ticketsync-api: TICKETSYNC_HTTP_ADDR = %q: not reachable from outside the container", got.HTTPAddr)
			}
			if p != "8080" {
				t.Errorf("ticketsync-api: listens on port %s, publishes 8080", p)
			}
		}
	}
}

// A compose variable for a secret must not have a default in the file.
var secretName = regexp.MustCompile(`(?i)(PASSWORD|PASSWD|_PWD$|SECRET|TOKEN|API_KEY|CLIENT_ID|HMAC)`)

func TestComposeSecrets(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		for k, v := range environment(t, name, s) {
			_, refs := interpolate(v, dummyValue)
			for _, r := range refs {
				if secretName.MatchString(r.Name) && r.HasDefault {
					t.Errorf("%s: %s uses ${%s} with a default: secrets have no default in the file", name, k, r.Name)
				}
			}
			if secretName.MatchString(k) && len(refs) == 0 {
				t.Errorf("%s: %s is written in the file; reference a variable (${NAME:?…}) instead", name, k)
			}
		}
	}
	// The database password is a reference too.
	for _, name := range ticketsyncServices {
		raw := environment(t, name, mustService(t, c, name))[config.EnvPrefix+"_DATABASE_URL"]
		m := regexp.MustCompile(`^postgres(?:ql)?://[^:@/]+(?::([^@]*))?@`).FindStringSubmatch(raw)
		if m == nil || !regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*(:\?[^}]*)?\}$`).MatchString(m[1]) {
			t.Errorf("%s: the password in TICKETSYNC_DATABASE_URL must be one required variable, ${NAME:?…}", name)
		}
	}
}

// bindMount splits a short-syntax volume: source:target[:mode].
func bindMount(v string) (source, target, mode string) {
	parts := strings.SplitN(v, ":", 3)
	switch len(parts) {
	case 1:
		return "", parts[0], ""
	case 2:
		return parts[0], parts[1], ""
	}
	return parts[0], parts[1], parts[2]
}

func TestComposeVolumes(t *testing.T) {
	c := loadCompose(t)
	for name, s := range c.Services {
		for _, v := range s.Volumes {
			src, target, mode := bindMount(v)
			switch {
			case strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../"):
				if _, err := os.Stat(filepath.Join(repoRoot, src)); err != nil {
					t.Errorf("%s: mounts %s, which does not exist: %v", name, src, err)
				}
				if mode != "ro" {
					t.Errorf("%s: bind mount %q should be read-only (:ro)", name, v)
				}
			case src != "" && !strings.HasPrefix(src, "/"):
				if _, ok := c.Volumes[src]; !ok {
					t.Errorf("%s: named volume %q is not declared under volumes:", name, src)
				}
			}
			if !strings.HasPrefix(target, "/") {
				t.Errorf("%s: volume target %q is not absolute", name, target)
			}
		}
	}

	pg := mustService(t, c, "postgresql")
	var data, initScript bool
	for _, v := range pg.Volumes {
		src, target, _ := bindMount(v)
		if target == "/var/lib/postgresql/data" && src != "" && !strings.Contains(src, "/") {
			data = true
		}
		if filepath.Clean(src) == filepath.Join("deploy", postgresInit) &&
			strings.HasPrefix(target, "/docker-entrypoint-initdb.d/") && strings.HasSuffix(target, ".sql") {
			initScript = true
		}
	}
	if !data {
		t.Errorf("postgresql: no named volume at /var/lib/postgresql/data: %q", pg.Volumes)
	}
	if !initScript {
		t.Errorf("postgresql: deploy/%s is not mounted into /docker-entrypoint-initdb.d/", postgresInit)
	}

	// The connections file the worker and api read is the mounted example.
	for _, name := range []string{"ticketsync-worker", "ticketsync-api"} {
		s := mustService(t, c, name)
		file := environment(t, name, s)[config.EnvPrefix+"_CONNECTIONS_FILE"]
		found := false
		for _, v := range s.Volumes {
			src, target, mode := bindMount(v)
			if target == file {
				found = true
				if filepath.Clean(src) != filepath.Join("deploy", connectionsExample) || mode != "ro" {
					t.Errorf("%s: %s is mounted from %q (%s), want ./deploy/%s read-only", name, file, src, mode, connectionsExample)
				}
			}
		}
		if !found {
			t.Errorf("%s: TICKETSYNC_CONNECTIONS_FILE=%s is not mounted", name, file)
		}
	}
}

func TestPostgresInitCreatesTicketsyncDatabase(t *testing.T) {
	b, err := os.ReadFile(postgresInit)
	if err != nil {
		t.Fatal(err)
	}
	sql := string(b)
	if !regexp.MustCompile(`(?i)CREATE DATABASE\s+ticketsync\b`).MatchString(sql) {
		t.Errorf("%s does not create the ticketsync database", postgresInit)
	}
	m := regexp.MustCompile(`(?i)CREATE ROLE\s+(\w+)\s+LOGIN PASSWORD\s+:'(\w+)'`).FindStringSubmatch(sql)
	if m == nil {
		t.Fatalf("%s does not create a login role with a password from a psql variable", postgresInit)
	}
	c := loadCompose(t)
	env := environment(t, "ticketsync-api", mustService(t, c, "ticketsync-api"))
	dbURL, _ := interpolate(env[config.EnvPrefix+"_DATABASE_URL"], dummyValue)
	u, err := url.Parse(dbURL)
	if err != nil || u.User == nil || u.User.Username() != m[1] {
		t.Errorf("TICKETSYNC_DATABASE_URL does not connect as the role %q the init script creates", m[1])
	}
	// The password comes from an environment variable the postgresql service sets.
	g := regexp.MustCompile(`\\getenv\s+` + m[2] + `\s+(\w+)`).FindStringSubmatch(sql)
	if g == nil {
		t.Fatalf("%s: the role password variable %q is not read with \\getenv", postgresInit, m[2])
	}
	pgEnv := environment(t, "postgresql", mustService(t, c, "postgresql"))
	if _, ok := pgEnv[g[1]]; !ok {
		t.Errorf("postgresql: %s (read by %s) is not set", g[1], postgresInit)
	}
	_, refs := interpolate(pgEnv[g[1]], dummyValue)
	if len(refs) != 1 || !strings.Contains(env[config.EnvPrefix+"_DATABASE_URL"], "${"+refs[0].Name) {
		t.Errorf("the ticketsync role's password (postgresql: %s) and TICKETSYNC_DATABASE_URL do not use the same variable", g[1])
	}
}

var validConditions = map[string]bool{
	"service_started": true, "service_healthy": true, "service_completed_successfully": true,
}

func TestComposeHealthchecksAndDependencies(t *testing.T) {
	c := loadCompose(t)
	for _, name := range []string{"postgresql", "temporal", "ticketsync-api"} {
		s := mustService(t, c, name)
		if s.Healthcheck == nil || len(s.Healthcheck.Test) < 2 {
			t.Errorf("%s: no healthcheck (exec form: [\"CMD\", …])", name)
		}
	}
	if hc := mustService(t, c, "postgresql").Healthcheck; hc != nil && !strings.Contains(strings.Join(hc.Test, " "), "pg_isready") {
		t.Errorf("postgresql: healthcheck %q does not use pg_isready", hc.Test)
	}
	if hc := mustService(t, c, "ticketsync-api").Healthcheck; hc != nil {
		joined := strings.Join(hc.Test, " ")
		if !strings.Contains(joined, "http://127.0.0.1:8080/healthz") {
			t.Errorf("ticketsync-api: healthcheck %q does not GET http://127.0.0.1:8080/healthz", hc.Test)
		}
		if hc.Test[0] == "CMD" && hc.Test[1] != "wget" {
			t.Errorf("ticketsync-api: healthcheck runs %q; the image (Alpine) has busybox wget, not curl", hc.Test[1])
		}
	}

	for name, s := range c.Services {
		for dep, d := range s.DependsOn {
			target, ok := c.Services[dep]
			switch {
			case !ok:
				t.Errorf("%s: depends on %q, which is not a service", name, dep)
				continue
			case !validConditions[d.Condition]:
				t.Errorf("%s: depends on %s with condition %q", name, dep, d.Condition)
			case d.Condition == "service_healthy" && target.Healthcheck == nil:
				t.Errorf("%s: waits for %s to be healthy, but it has no healthcheck", name, dep)
			case d.Condition == "service_completed_successfully" && (target.Restart == "always" || target.Restart == "unless-stopped"):
				t.Errorf("%s: waits for %s to complete, but it restarts (%s)", name, dep, target.Restart)
			}
		}
	}

	// The start-up order the stack needs.
	want := map[string]map[string]string{
		"temporal-schema":    {"postgresql": "service_healthy"},
		"temporal":           {"temporal-schema": "service_completed_successfully"},
		"temporal-setup":     {"temporal": "service_healthy"},
		"temporal-ui":        {"temporal": "service_healthy"},
		"ticketsync-migrate": {"postgresql": "service_healthy"},
		"ticketsync-worker":  {"ticketsync-migrate": "service_completed_successfully", "temporal-setup": "service_completed_successfully"},
		"ticketsync-api":     {"ticketsync-migrate": "service_completed_successfully", "temporal-setup": "service_completed_successfully"},
	}
	for name, deps := range want {
		s := mustService(t, c, name)
		for dep, cond := range deps {
			if got := s.DependsOn[dep].Condition; got != cond {
				t.Errorf("%s: depends_on %s condition %q, want %q", name, dep, got, cond)
			}
		}
	}

	// No cycles.
	state := map[string]int{}
	var visit func(string, []string)
	visit = func(n string, path []string) {
		switch state[n] {
		case 1:
			t.Errorf("depends_on cycle: %s", strings.Join(append(path, n), " -> "))
			return
		case 2:
			return
		}
		state[n] = 1
		if s := c.Services[n]; s != nil {
			for dep := range s.DependsOn {
				visit(dep, append(path, n))
			}
		}
		state[n] = 2
	}
	for name := range c.Services {
		visit(name, nil)
	}
}

// setupSearchAttributes reads the name=type list of the script the temporal-setup service runs.
func setupSearchAttributes(t *testing.T) map[string]string {
	t.Helper()
	c := loadCompose(t)
	s := mustService(t, c, "temporal-setup")
	script := ""
	for _, v := range s.Volumes {
		src, target, _ := bindMount(v)
		if filepath.Clean(src) == filepath.Join("deploy", temporalSetup) {
			script = target
		}
	}
	if script == "" {
		t.Fatalf("temporal-setup: deploy/%s is not mounted", temporalSetup)
	}
	run := strings.Join(append(append([]string{}, s.Entrypoint...), s.Command...), " ")
	if !strings.Contains(run, script) {
		t.Errorf("temporal-setup: runs %q, not the mounted %s", run, script)
	}
	b, err := os.ReadFile(temporalSetup)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"temporal operator search-attribute create", "--name", "--type", `--namespace "$NAMESPACE"`} {
		if !strings.Contains(text, want) {
			t.Errorf("%s does not contain %q", temporalSetup, want)
		}
	}
	m := regexp.MustCompile(`(?s)\nSEARCH_ATTRIBUTES="([^"]*)"`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("%s: no SEARCH_ATTRIBUTES=\"…\" list", temporalSetup)
	}
	got := map[string]string{}
	for _, line := range strings.Fields(m[1]) {
		name, typ, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not name=type", temporalSetup, line)
		}
		if _, dup := got[name]; dup {
			t.Errorf("%s: %s is listed twice", temporalSetup, name)
		}
		got[name] = typ
	}
	return got
}

func TestComposeSearchAttributes(t *testing.T) {
	got := setupSearchAttributes(t)
	if !reflect.DeepEqual(got, expectedSearchAttributes) {
		t.Errorf("%s registers %v, want %v", temporalSetup, got, expectedSearchAttributes)
	}
	c := loadCompose(t)
	env := environment(t, "temporal-setup", mustService(t, c, "temporal-setup"))
	if env["TEMPORAL_ADDRESS"] != "temporal:7233" {
		t.Errorf("temporal-setup: TEMPORAL_ADDRESS = %q, want temporal:7233", env["TEMPORAL_ADDRESS"])
	}
}

// ---- tests: the connections file ---------------------------------------------------------

func TestConnectionsExampleValidates(t *testing.T) {
	data, err := os.ReadFile(connectionsExample)
	if err != nil {
		t.Fatal(err)
	}
	secret := "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" // base64 of 32 bytes
	values := map[string]string{
		"SUNRISE_API_KEY":       "tsk_example_0123456789abcdef",
		"PORTAL_WEBHOOK_SECRET": secret,
		"TWH_CLIENT_ID":         "client-id",
		"TWH_CLIENT_SECRET":     "client-secret",
		"TWH_WEBHOOK_SECRET":    "hook-secret",
	}
	var asked []string
	lookup := func(name string) (string, bool) {
		asked = append(asked, name)
		v, ok := values[name]
		return v, ok
	}
	f, err := config.Parse(data, lookup)
	if err != nil {
		t.Fatalf("%s does not validate: %v", connectionsExample, err)
	}
	if err := f.Validate(); err != nil {
		t.Fatal(err)
	}
	if len(f.Tenants) == 0 || len(f.Connections) == 0 {
		t.Fatalf("%s: %d tenants, %d connections; want at least one of each", connectionsExample, len(f.Tenants), len(f.Connections))
	}
	for _, conn := range f.Connections {
		if conn.RequestSystem.Kind != config.KindPortal || conn.WorkSystem.Kind != config.KindTheWorxHub {
			t.Errorf("connection %s: %s -> %s, want portal -> theworxhub (DESIGN.md §8)", conn.ID, conn.RequestSystem.Kind, conn.WorkSystem.Kind)
		}
		if conn.RequestSystem.Secret != secret {
			t.Errorf("connection %s: the portal secret did not come from ${PORTAL_WEBHOOK_SECRET}", conn.ID)
		}
	}
	sort.Strings(asked)
	t.Logf("variables: %s", strings.Join(asked, ", "))

	// Every secret is a ${NAME} reference, and every name referenced is passed to the worker and
	// the api.
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	secretKeys := map[string]bool{
		"apiKeys": true, "secret": true, "secrets": true, "clientId": true, "clientSecret": true,
		"webhookSecret": true, "password": true, "token": true, "apiToken": true, "hmacSecrets": true,
		"username": true, "loginName": true,
	}
	ref := regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)
	var refs []string
	var walk func(n *yaml.Node, key string)
	walk = func(n *yaml.Node, key string) {
		n = resolve(n)
		switch n.Kind {
		case yaml.DocumentNode, yaml.SequenceNode:
			for _, c := range n.Content {
				walk(c, key)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				walk(n.Content[i+1], n.Content[i].Value)
			}
		case yaml.ScalarNode:
			if m := ref.FindStringSubmatch(n.Value); m != nil {
				refs = append(refs, m[1])
			} else if secretKeys[key] {
				t.Errorf("%s line %d: %s is written in the file; use a ${NAME} reference", connectionsExample, n.Line, key)
			}
		}
	}
	walk(&doc, "")
	c := loadCompose(t)
	for _, name := range []string{"ticketsync-worker", "ticketsync-api"} {
		env := environment(t, name, mustService(t, c, name))
		for _, r := range refs {
			if _, ok := env[r]; !ok {
				t.Errorf("%s: %s references ${%s}, which the service's environment does not pass", name, connectionsExample, r)
			}
		}
	}
}

// ---- tests: Dockerfile -------------------------------------------------------------------

type instruction struct {
	Cmd  string // upper case
	Args string
	Line int
}

type stage struct {
	Base, Name string
	Insts      []instruction
}

func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, dockerfileName))
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	sc := bufio.NewScanner(bytes.NewReader(b))
	var cur strings.Builder
	start, line := 0, 0
	flush := func() {
		text := strings.TrimSpace(cur.String())
		cur.Reset()
		if text == "" {
			return
		}
		cmd, args, _ := strings.Cut(text, " ")
		in := instruction{Cmd: strings.ToUpper(cmd), Args: strings.TrimSpace(args), Line: start}
		if in.Cmd == "FROM" {
			f := strings.Fields(in.Args)
			var s stage
			for i := 0; i < len(f); i++ {
				switch {
				case strings.HasPrefix(f[i], "--"):
				case strings.EqualFold(f[i], "AS") && i+1 < len(f):
					s.Name = f[i+1]
					i++
				case s.Base == "":
					s.Base = f[i]
				}
			}
			stages = append(stages, s)
			return
		}
		if len(stages) == 0 {
			if in.Cmd != "ARG" {
				t.Errorf("%s:%d: %s before the first FROM", dockerfileName, in.Line, in.Cmd)
			}
			return
		}
		stages[len(stages)-1].Insts = append(stages[len(stages)-1].Insts, in)
	}
	for sc.Scan() {
		line++
		l := sc.Text()
		trimmed := strings.TrimSpace(l)
		if cur.Len() == 0 && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if cur.Len() > 0 && strings.HasPrefix(trimmed, "#") {
			continue // comment inside a continued instruction
		}
		if cur.Len() == 0 {
			start = line
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur.WriteString(strings.TrimSuffix(trimmed, "\\") + " ")
			continue
		}
		cur.WriteString(trimmed)
		flush()
	}
	flush()
	if len(stages) < 2 {
		t.Fatalf("%s: %d stages, want a builder and a final stage", dockerfileName, len(stages))
	}
	return stages
}

func (s stage) find(cmd string) []instruction {
	var out []instruction
	for _, in := range s.Insts {
		if in.Cmd == cmd {
			out = append(out, in)
		}
	}
	return out
}

func execForm(t *testing.T, in instruction) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(in.Args), &v); err != nil {
		t.Fatalf("%s:%d: %s %s is not in exec (JSON array) form", dockerfileName, in.Line, in.Cmd, in.Args)
	}
	return v
}

func TestDockerfile(t *testing.T) {
	stages := parseDockerfile(t)
	for _, s := range stages {
		if strings.Contains(s.Base, "$") {
			t.Errorf("FROM %s: write the pinned image, not a variable", s.Base)
		}
		if _, tag, digest := imageRef(s.Base); digest == "" && (tag == "" || tag == "latest") {
			t.Errorf("FROM %s is not pinned", s.Base)
		}
	}

	// The builder: Go of go.mod's line, a static build of ./cmd/ticketsync.
	var builder *stage
	var buildRun instruction
	for i := range stages {
		for _, in := range stages[i].find("RUN") {
			if strings.Contains(in.Args, "go build") {
				builder, buildRun = &stages[i], in
			}
		}
	}
	if builder == nil {
		t.Fatalf("%s: no stage runs go build", dockerfileName)
	}
	repo, tag, _ := imageRef(builder.Base)
	if repo != "golang" {
		t.Errorf("builder stage FROM %s, want a golang image", builder.Base)
	}
	goLine := goModGo(t)
	if got := majorMinor(t, tag); got != majorMinor(t, goLine) {
		t.Errorf("builder is Go %s (%s), go.mod says go %s", got, builder.Base, goLine)
	} else if regexp.MustCompile(`^\d+\.\d+\.\d+`).MatchString(tag) && versionPart(tag, 2) < versionPart(goLine, 2) {
		t.Errorf("builder Go %s is older than go.mod's go %s (and GOTOOLCHAIN=local)", tag, goLine)
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "./cmd/ticketsync", "-o /out/ticketsync",
		"-X " + reflect.TypeOf(config.Env{}).PkgPath() + ".Version=${VERSION}"} {
		if !strings.Contains(buildRun.Args, want) {
			t.Errorf("%s:%d: the go build does not contain %q", dockerfileName, buildRun.Line, want)
		}
	}
	// Module download cached in its own layer, before the sources are copied.
	order := []string{}
	for _, in := range builder.Insts {
		switch {
		case in.Cmd == "COPY" && strings.Fields(in.Args)[0] == "go.mod":
			order = append(order, "copy-mod")
		case in.Cmd == "RUN" && strings.Contains(in.Args, "go mod download"):
			order = append(order, "download")
		case in.Cmd == "COPY" && strings.HasPrefix(in.Args, ". "):
			order = append(order, "copy-all")
		case in.Cmd == "RUN" && strings.Contains(in.Args, "go build"):
			order = append(order, "build")
		}
	}
	if strings.Join(order, ",") != "copy-mod,download,copy-all,build" {
		t.Errorf("builder steps %v, want COPY go.mod go.sum, RUN go mod download, COPY . ., RUN go build", order)
	}

	// The final stage: the binary as entrypoint, api by default, not root.
	final := stages[len(stages)-1]
	if final.Name != "" && final.Name == builder.Name {
		t.Fatalf("the final stage is the builder")
	}
	if repo, _, _ := imageRef(final.Base); repo != "alpine" && repo != "busybox" {
		t.Errorf("final stage FROM %s: the compose healthcheck needs busybox wget (alpine or busybox)", final.Base)
	}
	dest := ""
	for _, in := range final.find("COPY") {
		f := strings.Fields(in.Args)
		if len(f) == 3 && f[0] == "--from="+builder.Name && f[1] == "/out/ticketsync" {
			dest = f[2]
		}
	}
	if dest == "" {
		t.Fatalf("final stage does not COPY --from=%s /out/ticketsync", builder.Name)
	}
	ep := final.find("ENTRYPOINT")
	if len(ep) != 1 {
		t.Fatalf("final stage: %d ENTRYPOINTs", len(ep))
	}
	if got := execForm(t, ep[0]); len(got) != 1 || got[0] != dest {
		t.Errorf("ENTRYPOINT %q, want [%q]", got, dest)
	}
	if cmd := final.find("CMD"); len(cmd) != 1 || !reflect.DeepEqual(execForm(t, cmd[0]), []string{"api"}) {
		t.Errorf("final stage: want CMD [\"api\"]")
	}
	if ex := final.find("EXPOSE"); len(ex) != 1 || ex[0].Args != "8080" {
		t.Errorf("final stage: want EXPOSE 8080")
	}
	users := final.find("USER")
	if len(users) == 0 {
		t.Errorf("final stage runs as root: add a USER")
	} else if u, _, _ := strings.Cut(users[len(users)-1].Args, ":"); u == "0" || u == "root" {
		t.Errorf("final stage: USER %s", users[len(users)-1].Args)
	}
	known := map[string]bool{}
	for _, n := range config.EnvNames() {
		known[n] = true
	}
	for _, in := range final.find("ENV") {
		for _, kv := range strings.Fields(in.Args) {
			k, _, _ := strings.Cut(kv, "=")
			if strings.HasPrefix(k, config.EnvPrefix+"_") && !known[k] {
				t.Errorf("%s:%d: ENV %s is not a ticketsync variable", dockerfileName, in.Line, k)
			}
		}
	}
}

func TestDockerignore(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, dockerignoreName))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") {
			patterns = append(patterns, l)
		}
	}
	has := map[string]bool{}
	for _, p := range patterns {
		has[strings.TrimPrefix(p, "**/")] = true
	}
	for _, want := range []string{".git", ".ticketsync", "*.db"} {
		if !has[want] {
			t.Errorf("%s does not exclude %s", dockerignoreName, want)
		}
	}
	// What the build reads must stay in the context.
	needed := []string{"go.mod", "go.sum", "cmd/ticketsync/main.go", "config/env.go"}
	for _, glob := range []string{"migrations/*.sql", "starter/*.json"} {
		m, _ := filepath.Glob(filepath.Join(repoRoot, glob))
		for _, f := range m {
			rel, _ := filepath.Rel(repoRoot, f)
			needed = append(needed, filepath.ToSlash(rel))
		}
	}
	for _, f := range needed {
		for _, p := range patterns {
			if strings.HasPrefix(p, "!") {
				continue
			}
			if excludes(p, f) {
				t.Errorf("%s: %q excludes %s, which the build needs", dockerignoreName, p, f)
			}
		}
	}
}

// excludes reports whether the .dockerignore pattern p excludes the file f (slash-separated,
// relative to the context): p matches f or one of its parent directories, and a leading "**/"
// matches at any depth.
func excludes(p, f string) bool {
	p = strings.TrimPrefix(p, "/")
	anywhere := strings.HasPrefix(p, "**/")
	p = strings.TrimPrefix(p, "**/")
	parts := strings.Split(f, "/")
	for i := range parts {
		if i > 0 && !anywhere {
			break
		}
		for j := i + 1; j <= len(parts); j++ {
			if ok, _ := filepath.Match(p, strings.Join(parts[i:j], "/")); ok {
				return true
			}
		}
	}
	return false
}

// TestStaticBinary builds the binary the way the Dockerfile does and checks that it needs no
// dynamic loader or shared libraries (the final image has no Go toolchain's libc).
func TestStaticBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the whole binary (minutes on a cold cache)")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}
	// A cold static build of the Temporal server takes 4–7 minutes alone and more next to the
	// other packages' tests on 2 cores.
	deadline := time.Now().Add(25 * time.Minute)
	if dl, ok := t.Deadline(); ok && dl.Add(-30*time.Second).Before(deadline) {
		deadline = dl.Add(-30 * time.Second)
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	out := filepath.Join(t.TempDir(), "ticketsync")
	const version = "deploy-test"
	cmd := exec.CommandContext(ctx, gobin, "build", "-trimpath", "-buildvcs=false",
		"-ldflags", "-s -w -X "+reflect.TypeOf(config.Env{}).PkgPath()+".Version="+version,
		"-o", out, "./cmd/ticketsync")
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	start := time.Now()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("CGO_ENABLED=0 go build ./cmd/ticketsync: %v\n%s", err, b)
	}
	t.Logf("built in %s", time.Since(start).Round(time.Second))

	f, err := elf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the binary has a PT_INTERP program header: it is dynamically linked")
		}
		if p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary has a PT_DYNAMIC segment")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil {
		t.Errorf("ImportedLibraries: %v", err)
	} else if len(libs) > 0 {
		t.Errorf("the binary needs shared libraries (DT_NEEDED): %v", libs)
	}

	// -X reached config.Version.
	vout, err := exec.CommandContext(ctx, out, "version").CombinedOutput()
	if err != nil || !strings.Contains(string(vout), version) {
		t.Errorf("ticketsync version: %q, %v; want %q", vout, err, version)
	}
}

// TestShellScriptsParse runs sh -n on the scripts the compose file mounts (the images run them
// with busybox sh, so they are POSIX sh) and bash -n on scripts/*.sh.
func TestShellScriptsParse(t *testing.T) {
	check := func(shell string, files []string) {
		bin, err := exec.LookPath(shell)
		if err != nil {
			t.Logf("no %s: skipped %v", shell, files)
			return
		}
		for _, f := range files {
			if b, err := exec.Command(bin, "-n", f).CombinedOutput(); err != nil {
				t.Errorf("%s -n %s: %v\n%s", shell, f, err, b)
			}
		}
	}
	sh, _ := filepath.Glob("*.sh")
	check("sh", sh)
	bash, _ := filepath.Glob(filepath.Join(repoRoot, "scripts", "*.sh"))
	check("bash", bash)
	for _, f := range append(sh, bash...) {
		if b, err := os.ReadFile(f); err == nil && bytes.Contains(b, []byte("\r\n")) {
			t.Errorf("%s has CRLF line endings", f)
		}
	}
}

// ---- go.mod --------------------------------------------------------------------------------

func readGoMod(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func goModGo(t *testing.T) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^go\s+(\S+)`).FindStringSubmatch(readGoMod(t))
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	return m[1]
}

func modVersion(t *testing.T, module string) string {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s*(?:require\s+)?` + regexp.QuoteMeta(module) + `\s+v(\S+)`).FindStringSubmatch(readGoMod(t))
	if m == nil {
		t.Fatalf("go.mod does not require %s", module)
	}
	return m[1]
}

func majorMinor(t *testing.T, v string) string {
	t.Helper()
	m := regexp.MustCompile(`^v?(\d+)\.(\d+)`).FindStringSubmatch(v)
	if m == nil {
		t.Errorf("%q is not a version", v)
		return v
	}
	return m[1] + "." + m[2]
}

// versionPart returns the i-th dot-separated number of a version such as 1.26.8 or 17.6-alpine
// (-1 when missing).
func versionPart(v string, i int) int {
	m := regexp.MustCompile(`^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?`).FindStringSubmatch(v)
	if m == nil || m[i+1] == "" {
		return -1
	}
	n, _ := strconv.Atoi(m[i+1])
	return n
}
