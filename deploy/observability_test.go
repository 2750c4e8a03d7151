package deploy

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/ticketsync/ticketsync/config"
	"github.com/ticketsync/ticketsync/metrics"
)

// The observability part of the compose stack: Prometheus scraping the API, the workers and
// the Temporal server, Grafana with the datasource and the dashboard provisioned, and a
// dashboard whose every metric name is one the code exports.

const (
	prometheusConfig = "prometheus.yml"
	dashboardFile    = "grafana/ticketsync-dashboard.json"
	datasourceFile   = "grafana/provisioning/datasources/prometheus.yaml"
	dashboardsFile   = "grafana/provisioning/dashboards/ticketsync.yaml"
)

func TestComposeObservabilityServices(t *testing.T) {
	c := loadCompose(t)
	for name, repo := range map[string]string{"prometheus": "prom/prometheus", "grafana": "grafana/grafana"} {
		if got, _, _ := imageRef(mustService(t, c, name).Image); got != repo {
			t.Errorf("%s: image repository %q, want %q", name, got, repo)
		}
	}
	mounts := func(name string) map[string]string { // target -> source
		m := map[string]string{}
		for _, v := range mustService(t, c, name).Volumes {
			src, target, _ := bindMount(v)
			m[target] = filepath.Clean(src)
		}
		return m
	}
	if got := mounts("prometheus")["/etc/prometheus/prometheus.yml"]; got != filepath.Join("deploy", prometheusConfig) {
		t.Errorf("prometheus: /etc/prometheus/prometheus.yml is mounted from %q", got)
	}
	g := mounts("grafana")
	if got := g["/etc/grafana/provisioning"]; got != filepath.Join("deploy", "grafana", "provisioning") {
		t.Errorf("grafana: /etc/grafana/provisioning is mounted from %q", got)
	}
	dashTarget := ""
	for target, src := range g {
		if src == filepath.Join("deploy", dashboardFile) {
			dashTarget = target
		}
	}
	var providers struct {
		Providers []struct {
			Type    string `yaml:"type"`
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, dashboardsFile, &providers)
	if len(providers.Providers) != 1 || providers.Providers[0].Type != "file" ||
		dashTarget == "" || filepath.Dir(dashTarget) != providers.Providers[0].Options.Path {
		t.Errorf("grafana: the dashboard is mounted at %q, the provider loads %+v", dashTarget, providers.Providers)
	}
	// Published on loopback only, like Temporal Web.
	for _, name := range []string{"prometheus", "grafana"} {
		for _, spec := range mustService(t, c, name).Ports {
			if !strings.HasPrefix(spec, "127.0.0.1:") {
				t.Errorf("%s: port %q is published beyond the loopback interface", name, spec)
			}
		}
	}
	if pw := environment(t, "grafana", mustService(t, c, "grafana"))["GF_SECURITY_ADMIN_PASSWORD"]; !strings.Contains(pw, ":?") {
		t.Errorf("grafana: the admin password must be a required variable, got %q", pw)
	}
}

// Prometheus scrapes where the processes serve: the API's HTTP address, the workers'
// TICKETSYNC_WORKER_METRICS_ADDR (on all interfaces, or nothing outside the container reaches
// it) and the server's PROMETHEUS_ENDPOINT.
func TestPrometheusScrapesEveryProcess(t *testing.T) {
	c := loadCompose(t)
	var cfg struct {
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
			MetricsPath string `yaml:"metrics_path"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, prometheusConfig, &cfg)
	targets := map[string]bool{} // host:port
	for _, sc := range cfg.ScrapeConfigs {
		if sc.MetricsPath != "" && sc.MetricsPath != "/metrics" {
			t.Errorf("job %s scrapes %s; every process serves /metrics", sc.JobName, sc.MetricsPath)
		}
		for _, s := range sc.StaticConfigs {
			for _, tg := range s.Targets {
				targets[tg] = true
			}
		}
		for _, d := range sc.DNSSDConfigs {
			for _, n := range d.Names {
				targets[n+":"+strconv.Itoa(d.Port)] = true
			}
		}
	}
	port := func(service, addr string) string {
		t.Helper()
		_, p, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("%s: %q is not host:port", service, addr)
		}
		return p
	}
	workerEnv := environment(t, "ticketsync-worker", mustService(t, c, "ticketsync-worker"))
	workerAddr := workerEnv[config.EnvPrefix+"_WORKER_METRICS_ADDR"]
	if host, _, _ := net.SplitHostPort(workerAddr); host != "0.0.0.0" && host != "" {
		t.Errorf("ticketsync-worker: TICKETSYNC_WORKER_METRICS_ADDR=%q is not reachable from the prometheus container", workerAddr)
	}
	apiEnv := environment(t, "ticketsync-api", mustService(t, c, "ticketsync-api"))
	temporalEnv := environment(t, "temporal", mustService(t, c, "temporal"))
	for _, want := range []string{
		"ticketsync-api:" + port("ticketsync-api", apiEnv[config.EnvPrefix+"_HTTP_ADDR"]),
		"ticketsync-worker:" + port("ticketsync-worker", workerAddr),
		"temporal:" + port("temporal", temporalEnv["PROMETHEUS_ENDPOINT"]),
	} {
		if !targets[want] {
			t.Errorf("deploy/%s does not scrape %s (targets: %v)", prometheusConfig, want, targets)
		}
	}
}

type grafanaPanel struct {
	Title      string `json:"title"`
	Type       string `json:"type"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	Targets []struct {
		Expr       string `json:"expr"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
	Panels []grafanaPanel `json:"panels"` // collapsed rows
}

type grafanaDashboard struct {
	UID        string         `json:"uid"`
	Title      string         `json:"title"`
	Panels     []grafanaPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

func loadDashboard(t *testing.T) grafanaDashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	return d
}

// Every metric the dashboard queries is exported by the code: our families (metrics.Names),
// the SDK families a live test checks (metrics.SDKNames), the runtime collectors of
// metrics.Default; and each of our families has a panel.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	d := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard: uid %q title %q", d.UID, d.Title)
	}
	var ds struct {
		Datasources []struct {
			UID  string `yaml:"uid"`
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(t, datasourceFile, &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Fatalf("datasources: %+v", ds.Datasources)
	}
	uid := ds.Datasources[0].UID

	exported := map[string]bool{}
	for _, n := range append(metrics.Names(), metrics.SDKNames()...) {
		exported[n] = true
	}
	mfs, err := metrics.Default().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		exported[mf.GetName()] = true
	}

	used := map[string]bool{}
	check := func(where, expr string) {
		names := promQLMetrics(expr)
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, n := range names {
			used[n] = true
			if !exported[n] {
				t.Errorf("%s: %s is not a metric ticketsync exports (expr %q)", where, n, expr)
			}
		}
	}
	var walk func([]grafanaPanel)
	queries := 0
	walk = func(ps []grafanaPanel) {
		for _, p := range ps {
			walk(p.Panels)
			if p.Type == "row" {
				continue
			}
			if p.Datasource == nil || p.Datasource.UID != uid {
				t.Errorf("panel %q: datasource is not the provisioned %q", p.Title, uid)
			}
			if len(p.Targets) == 0 {
				t.Errorf("panel %q has no query", p.Title)
			}
			for _, tg := range p.Targets {
				if tg.Datasource.UID != uid {
					t.Errorf("panel %q: a query uses datasource %q", p.Title, tg.Datasource.UID)
				}
				check("panel "+p.Title, tg.Expr)
				queries++
			}
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		check("variable "+v.Name, v.Definition)
	}
	for _, n := range metrics.Names() {
		if !used[n] {
			t.Errorf("no panel shows %s", n)
		}
	}
	t.Logf("%d queries over %d metric families", queries, len(used))
}

func TestPromQLMetrics(t *testing.T) {
	for expr, want := range map[string][]string{
		`histogram_quantile(0.95, sum by (le, vendor) (rate(ticketsync_vendor_request_duration_seconds_bucket{vendor=~"a|b"}[$__rate_interval])))`: {"ticketsync_vendor_request_duration_seconds"},
		`sum(rate(a_total[5m])) / sum without (x) (b_count)`:                                  {"a_total", "b"},
		`label_values(ticketsync_tickets, connection)`:                                        {"ticketsync_tickets"},
		`max by (connection) (ticketsync_change_feed_lag_seconds{connection=~"$connection"})`: {"ticketsync_change_feed_lag_seconds"},
		`go_goroutines{job=~"ticketsync-.*"} offset 5m`:                                       {"go_goroutines"},
	} {
		got := promQLMetrics(expr)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: %v, want %v", expr, got, want)
		}
	}
}

var (
	promStrings     = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promSelectors   = regexp.MustCompile(`\{[^}]*\}|\[[^\]]*\]`)
	promGrouping    = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promLabelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*\w+\s*\)\s*$`)
	promOffset      = regexp.MustCompile(`\boffset\s+-?\w+`)
	promIdent       = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?`)
	promKeywords    = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "bool": true,
		"and": true, "or": true, "unless": true, "offset": true, "group_left": true, "group_right": true, "inf": true, "nan": true}
)

// promQLMetrics lists the metric families a PromQL expression (or a Grafana label_values()
// definition) reads; histogram series (_bucket, _sum, _count) count as their family.
func promQLMetrics(expr string) []string {
	if m := promLabelValues.FindStringSubmatch(expr); m != nil {
		expr = m[1] // label_values(<selector>, <label>): the label is not a metric
	}
	expr = promStrings.ReplaceAllString(expr, `""`)
	expr = promOffset.ReplaceAllString(expr, " ")
	expr = promSelectors.ReplaceAllString(expr, " ")
	expr = promGrouping.ReplaceAllString(expr, " ")
	expr = regexp.MustCompile(`\$\{?\w+\}?`).ReplaceAllString(expr, " ")
	var out []string
	for _, m := range promIdent.FindAllStringSubmatch(expr, -1) {
		name := m[0]
		if m[1] != "" || promKeywords[strings.ToLower(name)] { // a function call or a keyword
			continue
		}
		if regexp.MustCompile(`^\d`).MatchString(name) {
			continue
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			name = strings.TrimSuffix(name, suffix)
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
