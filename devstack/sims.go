package devstack

import (
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/config"
)

// simulator is one vendor simulator the dev stack can run. Each vendor describes its own in
// sim_<vendor>.go; simulators lists them in the order the banner shows them.
type simulator struct {
	name  string   // key of Stack.Sim and of the state file <name>-sim.json
	title string   // banner label
	kinds []string // connection kinds it plays (none for a helper service such as a geocoder)
	flag  string   // the port flag, named when the port is taken
	port  func(*Options) *int
	def   int // the flag's default port
	// build creates the simulator. It accepts the credentials of the connections that point
	// at it (b.using) and pushes to the API's /v1/hooks/<kind>/<connection>/… routes.
	build func(b *simBuild) (http.Handler, error)
	// restored, when set, runs after the saved state was restored: settings that live in the
	// simulator's state (not its options) are applied again so the configuration wins.
	restored func(b *simBuild, h http.Handler) error
	// page is the path of the simulator's staff page (default /_sim/) and pageLabel how the
	// banner names it (default "staff page").
	page, pageLabel string
}

// simulators is the registry, in banner order.
var simulators = []*simulator{
	theWorxHubSim, portalSim, cityworksSim, arcgisSim, seeClickFixSim, cyprexxSim, pruvanSim, cubuSim,
}

// Sim is a simulator running in the stack.
type Sim struct {
	Name    string
	Title   string
	URL     string       // base URL, e.g. http://127.0.0.1:8303
	Handler http.Handler // the vendor's *sim.Server (or *sim.Receiver for the portal)
	Flag    string       // its port flag

	def       *simulator
	statePath string // "" with --ephemeral or for simulators without state
	lastSaved []byte
}

// StaffURL is the simulator's staff page.
func (s *Sim) StaffURL() string {
	if s.def.page != "" {
		return s.URL + s.def.page
	}
	return s.URL + "/_sim/"
}

// simBuild is what a simulator's build function gets.
type simBuild struct {
	apiURL string
	url    string       // the simulator's own base URL
	file   *config.File // the demo configuration or the --connections file
	opts   Options
}

// hookURL is where a simulator pushes for a connection: the API's one hook route.
func (b *simBuild) hookURL(kind, connection string) string {
	return b.apiURL + "/v1/hooks/" + kind + "/" + connection
}

// using lists the connections whose side of the given kind points at this simulator.
func (b *simBuild) using(kind string) []config.Connection {
	var out []config.Connection
	for _, c := range b.file.Connections {
		for _, side := range connectionSides(c) {
			if side.kind == kind && side.pointsAt(b.url) {
				out = append(out, c)
				break
			}
		}
	}
	return out
}

// side is one side of a connection reduced to what simulator selection needs.
type side struct {
	kind string
	urls []string
}

func (s side) pointsAt(base string) bool {
	return slices.ContainsFunc(s.urls, func(u string) bool { return pointsAt(u, base) })
}

func connectionSides(c config.Connection) []side {
	r, w := c.RequestSystem, c.WorkSystem
	req := side{kind: r.Kind, urls: nonEmpty(r.URL, r.BaseURL)}
	if r.S2S != nil {
		req.urls = append(req.urls, nonEmpty(r.S2S.BaseURL, r.S2S.TokenURL)...)
	}
	return []side{req, {kind: w.Kind, urls: nonEmpty(w.BaseURL)}}
}

func nonEmpty(ss ...string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// optionURLs collects every string in a connection's options (nested maps and lists
// included): connector-specific endpoints such as a geocoder live there.
func optionURLs(v any, out []string) []string {
	switch x := v.(type) {
	case string:
		if strings.HasPrefix(x, "http://") || strings.HasPrefix(x, "https://") {
			out = append(out, x)
		}
	case map[string]any:
		for _, e := range x {
			out = optionURLs(e, out)
		}
	case []any:
		for _, e := range x {
			out = optionURLs(e, out)
		}
	}
	return out
}

// references reports whether a connections file needs the simulator at base: a URL of the
// connection (either side, or in its options) points at it, or a side of one of its kinds
// names no URL at all (the vendor's default endpoint, which in dev is the simulator — e.g. a
// Cubu request system without S2S still needs Cubu to send its webhooks).
func (sim *simulator) references(f *config.File, base string) bool {
	for _, c := range f.Connections {
		for _, sd := range connectionSides(c) {
			if sd.pointsAt(base) || (slices.Contains(sim.kinds, sd.kind) && len(sd.urls) == 0) {
				return true
			}
		}
		for _, u := range optionURLs(map[string]any(c.Options), nil) {
			if pointsAt(u, base) {
				return true
			}
		}
	}
	return false
}

// pointsAt reports whether a configured URL targets a simulator's base URL (localhost and
// 127.0.0.1 are the same host).
func pointsAt(configured, base string) bool {
	norm := func(u string) string {
		u = strings.TrimRight(strings.ToLower(strings.TrimSpace(u)), "/")
		return strings.Replace(u, "://localhost:", "://127.0.0.1:", 1)
	}
	c, b := norm(configured), norm(base)
	return c == b || strings.HasPrefix(c, b+"/") || strings.HasPrefix(c, b+"?")
}

// simAddr is the address a simulator listens on: 127.0.0.1 and its port (0 = any free port).
func simAddr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// bindSimulators binds the port of every simulator that will run: all of them for the demo,
// only those the file references with --connections. A taken port fails at once, naming the
// flag. It returns the listeners by simulator, in registry order.
func (s *Stack) bindSimulators(file *config.File) (map[*simulator]net.Listener, error) {
	lns := map[*simulator]net.Listener{}
	for _, sim := range simulators {
		port := *sim.port(&s.opts)
		if file != nil && port != 0 && !sim.references(file, "http://"+simAddr(port)) {
			continue // known URL, not referenced: never bind it
		}
		ln, err := listen(simAddr(port), sim.flag)
		if err != nil {
			return lns, err
		}
		s.lns = append(s.lns, ln)
		if file != nil && port == 0 && !sim.references(file, "http://"+ln.Addr().String()) {
			ln.Close() // any free port: its URL is known only now
			continue
		}
		lns[sim] = ln
	}
	return lns, nil
}

// startSimulators builds, restores and serves the bound simulators.
func (s *Stack) startSimulators(lns map[*simulator]net.Listener, file *config.File) error {
	for _, def := range simulators {
		ln, ok := lns[def]
		if !ok {
			continue
		}
		sim := &Sim{Name: def.name, Title: def.title, URL: "http://" + ln.Addr().String(), Flag: def.flag, def: def}
		b := &simBuild{apiURL: s.APIURL, url: sim.URL, file: file, opts: s.opts}
		h, err := def.build(b)
		if err != nil {
			return fmt.Errorf("%s simulator: %w", def.title, err)
		}
		sim.Handler = h
		if _, ok := h.(snapshotter); ok && !s.opts.Ephemeral {
			sim.statePath = s.statePath(def.name)
			if err := s.restoreSim(sim); err != nil {
				s.opts.Logger.Warn("simulator state not restored", "simulator", def.name, "error", err)
			}
		}
		if def.restored != nil {
			if err := def.restored(b, h); err != nil {
				return fmt.Errorf("%s simulator: %w", def.title, err)
			}
		}
		s.Sims = append(s.Sims, sim)
		s.serve(ln, h)
	}
	return nil
}

// Sim returns the running simulator of that name ("theworxhub", "cityworks", …), or nil.
func (s *Stack) Sim(name string) *Sim {
	for _, sim := range s.Sims {
		if sim.Name == name {
			return sim
		}
	}
	return nil
}

func (s *Stack) serve(ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
}

// closeSimulators stops the simulators' background work (webhook and push deliveries,
// imports) after their listeners are closed.
func (s *Stack) closeSimulators() {
	for _, sim := range s.Sims {
		if c, ok := sim.Handler.(interface{ Close() }); ok {
			c.Close()
		}
	}
}
