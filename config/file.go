package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ticketsync/ticketsync/mapping"
)

// File is the connections file (DESIGN.md §8).
type File struct {
	Tenants     []Tenant     `yaml:"tenants" json:"tenants"`
	Connections []Connection `yaml:"connections" json:"connections"`

	lines   map[string]int  // path → line, for problems found after decoding
	flagged map[string]bool // paths already reported while parsing (no second, derived problem)
}

// Tenant is one customer organisation. API keys are stored hashed; a tenant without keys is
// allowed (keys can be created with the CLI) and only produces a warning.
type Tenant struct {
	ID      string   `yaml:"id" json:"id"`
	Name    string   `yaml:"name" json:"name"`
	APIKeys []string `yaml:"apiKeys" json:"apiKeys,omitempty"`
}

// Connection is one request system → work system pair of a tenant.
type Connection struct {
	ID            string         `yaml:"id" json:"id"`
	Tenant        string         `yaml:"tenant" json:"tenant"`
	RequestSystem RequestSystem  `yaml:"requestSystem" json:"requestSystem"`
	WorkSystem    WorkSystem     `yaml:"workSystem" json:"workSystem"`
	Mapping       string         `yaml:"mapping" json:"mapping,omitempty"` // "" = newest built-in for the work kind
	PollInterval  Duration       `yaml:"pollInterval" json:"pollInterval,omitempty"`
	Options       map[string]any `yaml:"options" json:"options,omitempty"` // connector-specific, documented per kind
}

// RequestSystem is where requests come from and events go to. Which fields apply depends on Kind.
type RequestSystem struct {
	Kind string `yaml:"kind" json:"kind"`
	// portal
	URL     string   `yaml:"url" json:"url,omitempty"`
	Secret  string   `yaml:"secret" json:"secret,omitempty"`
	Secrets []string `yaml:"secrets" json:"secrets,omitempty"` // rotation: every active secret signs
	// seeclickfix, cyprexx
	BaseURL        string `yaml:"baseUrl" json:"baseUrl,omitempty"`
	OrganizationID int64  `yaml:"organizationId" json:"organizationId,omitempty"`
	Username       string `yaml:"username" json:"username,omitempty"`
	Password       string `yaml:"password" json:"password,omitempty"`
	Token          string `yaml:"token" json:"token,omitempty"`
	APIToken       string `yaml:"apiToken" json:"apiToken,omitempty"`
	WebhookSecret  string `yaml:"webhookSecret" json:"webhookSecret,omitempty"`
	// cubu
	HMACSecrets []string `yaml:"hmacSecrets" json:"hmacSecrets,omitempty"` // rotation: any verifies
	S2S         *CubuS2S `yaml:"s2s" json:"s2s,omitempty"`
	// intake polling (seeclickfix)
	PollInterval Duration `yaml:"pollInterval" json:"pollInterval,omitempty"`
	// RateLimit overrides the vendor's documented calls per minute for this connection; the
	// limit holds across every worker and API process (0 = the vendor's default).
	RateLimit int `yaml:"rateLimit" json:"rateLimit,omitempty"`
	// RetryMaxInterval caps the backoff between a notification's attempts for new tickets
	// (10 s to 1 h; default 1 h for webhooks, as contracts/portal.md says, 1 min for request
	// systems notified through their API).
	RetryMaxInterval Duration `yaml:"retryMaxInterval" json:"retryMaxInterval,omitempty"`
}

// CubuS2S is Cubu's server-to-server API access (resolve calls, before-hook fields).
type CubuS2S struct {
	BaseURL       string `yaml:"baseUrl" json:"baseUrl"`
	ApplicationID string `yaml:"applicationId" json:"applicationId,omitempty"`
	TenantID      string `yaml:"tenantId" json:"tenantId"`
	ClientID      string `yaml:"clientId" json:"clientId"`
	ClientSecret  string `yaml:"clientSecret" json:"clientSecret"`
	AgentUserID   string `yaml:"agentUserId" json:"agentUserId,omitempty"`
	TokenURL      string `yaml:"tokenUrl" json:"tokenUrl,omitempty"` // "" = Microsoft login for TenantID
}

// WorkSystem is where the work is done. Which fields apply depends on Kind.
type WorkSystem struct {
	Kind          string `yaml:"kind" json:"kind"`
	BaseURL       string `yaml:"baseUrl" json:"baseUrl"`
	ClientID      string `yaml:"clientId" json:"clientId,omitempty"`
	ClientSecret  string `yaml:"clientSecret" json:"clientSecret,omitempty"`
	WebhookSecret string `yaml:"webhookSecret" json:"webhookSecret,omitempty"`
	Version       string `yaml:"version" json:"version,omitempty"`
	LoginName     string `yaml:"loginName" json:"loginName,omitempty"`
	Password      string `yaml:"password" json:"password,omitempty"`
	Username      string `yaml:"username" json:"username,omitempty"`
	Token         string `yaml:"token" json:"token,omitempty"`
	// RateLimit overrides the vendor's documented calls per minute for this connection; the
	// limit holds across every worker and API process (0 = the vendor's default).
	RateLimit int `yaml:"rateLimit" json:"rateLimit,omitempty"`
}

// Duration is a time.Duration written as "15m" in YAML and JSON. Zero means "not set".
type Duration struct{ time.Duration }

// UnmarshalYAML accepts Go duration strings; a bare number is refused (seconds? minutes?).
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		// A TypeError lets the decoder carry on and report other fields too.
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: %v", n.Line, err)}}
	}
	d.Duration = v
	return nil
}

// MarshalYAML writes the Go duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// MarshalJSON writes the Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"15m\": %w", err)
	}
	v, err := parseDuration(s)
	d.Duration = v
	return err
}

func parseDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return 0, nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		if _, nerr := strconv.ParseFloat(s, 64); nerr == nil {
			return 0, fmt.Errorf("duration %q needs a unit, e.g. %ss or %sm", s, s, s)
		}
		return 0, fmt.Errorf("invalid duration %q: want e.g. 30s, 15m or 1h", s)
	}
	return v, nil
}

// Request and work system kinds.
const (
	KindPortal      = "portal"
	KindSeeClickFix = "seeclickfix"
	KindCubu        = "cubu"
	KindCyprexx     = "cyprexx"

	KindTheWorxHub = "theworxhub"
	KindCityworks  = "cityworks"
	KindPruvan     = "pruvan"
)

// RequestKinds and WorkKinds list the kinds the connections file accepts: the documented ones
// plus any a connector registers (connectors.RegisterWork / RegisterRequest call RegisterKind).
var (
	RequestKinds = []string{KindPortal, KindSeeClickFix, KindCubu, KindCyprexx}
	WorkKinds    = []string{KindTheWorxHub, KindCityworks, KindPruvan}
	kindsMu      sync.RWMutex
)

// Side names a side of a connection.
type Side int

// The two sides.
const (
	SideRequest Side = iota
	SideWork
)

// RegisterKind makes a kind acceptable in the connections file. Kinds documented in DESIGN.md
// are validated field by field here; other registered kinds validate their own settings when
// their connector is built.
func RegisterKind(side Side, kind string) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	list := &RequestKinds
	if side == SideWork {
		list = &WorkKinds
	}
	if !slices.Contains(*list, kind) {
		*list = append(*list, kind)
	}
}

func knownKind(side Side, kind string) bool {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	if side == SideWork {
		return slices.Contains(WorkKinds, kind)
	}
	return slices.Contains(RequestKinds, kind)
}

// LoadFile reads and parses a connections file; see Parse. A nil lookup reads the process
// environment.
func LoadFile(path string, lookup func(string) (string, bool)) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("connections file: %w", err)
	}
	f, err := Parse(data, lookup)
	if err != nil {
		return f, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse decodes a connections file, expands ${NAME} references and validates it.
//
// Expansion runs on scalar values after YAML parsing, so a secret containing ": ", "#" or
// quotes cannot change the document's structure. "$$" is a literal "$". An expanded value
// keeps the YAML type its spot implies: plain ${X} is typed from its value (like writing the
// value there), quoted "${X}" stays a string, except in numeric or boolean fields.
//
// Every problem is returned at once as Problems: undefined variables, unknown keys (with line
// numbers), wrong types and every Validate rule. A syntax error stops parsing and is returned
// alone. When the YAML could be decoded the File is returned even with problems, so tools can
// show what was understood; never run with it.
func Parse(data []byte, lookup func(string) (string, bool)) (*File, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			f := &File{}
			return f, f.Validate()
		}
		return nil, fmt.Errorf("connections file is not valid YAML: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("connections file must hold a single YAML document")
	}
	w := &walker{lookup: lookup, lines: map[string]int{}, expanded: map[*yaml.Node]bool{}, aliased: map[*yaml.Node]bool{}}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	w.walk(root, reflect.TypeOf(File{}), "")

	f := &File{}
	if err := root.Decode(f); err != nil {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			w.problem("", 0, "%v", err)
		} else {
			reported := map[int]bool{}
			for _, p := range w.probs {
				reported[p.Line] = true
			}
			for _, msg := range te.Errors {
				if line := lineOf(msg); !reported[line] { // the walker already explained this line
					w.problem("", line, "%s", stripLine(msg))
				}
			}
		}
	}
	f.lines = w.lines
	f.flagged = map[string]bool{}
	for _, p := range w.probs {
		f.flagged[p.Field] = true
	}
	probs := w.probs
	if err := f.Validate(); err != nil {
		probs = append(probs, err.(Problems)...)
	}
	return f, probs.orNil()
}

var lineRe = regexp.MustCompile(`^line (\d+): `)

func lineOf(msg string) int {
	if m := lineRe.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return n
	}
	return 0
}

func stripLine(msg string) string { return lineRe.ReplaceAllString(msg, "") }

// walker visits the YAML tree alongside the Go type it decodes into: it expands ${NAME},
// reports unknown keys and bad scalars with their path and line, and records each path's line.
type walker struct {
	lookup   func(string) (string, bool)
	lines    map[string]int
	expanded map[*yaml.Node]bool // aliases share nodes: expand each once
	aliased  map[*yaml.Node]bool // anchors already walked through an alias
	probs    Problems
	depth    int
}

func (w *walker) problem(path string, line int, format string, a ...any) {
	w.probs = append(w.probs, Problem{Field: path, Message: fmt.Sprintf(format, a...), Line: line})
}

var (
	durationType    = reflect.TypeOf(Duration{})
	unmarshalerType = reflect.TypeOf((*yaml.Unmarshaler)(nil)).Elem()
)

func (w *walker) walk(n *yaml.Node, t reflect.Type, path string) {
	if w.depth > 100 { // hostile alias chains
		return
	}
	w.depth++
	defer func() { w.depth-- }()
	if n.Kind == yaml.AliasNode {
		// Walk each anchor once: its nodes are shared (expanded in place), and walking every
		// use would let a few bytes of nested aliases cost exponential time (alias bomb).
		if n.Alias != nil && !w.aliased[n.Alias] {
			w.aliased[n.Alias] = true
			w.walk(n.Alias, t, path)
		}
		return
	}
	if _, ok := w.lines[path]; !ok {
		w.lines[path] = n.Line
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return
	}
	switch {
	case t == durationType || reflect.PointerTo(t).Implements(unmarshalerType):
		if w.scalar(n, t, path) {
			if _, err := parseDuration(n.Value); err != nil {
				w.problem(path, n.Line, "%v", err)
			}
		}
	case t.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			w.problem(path, n.Line, "expected a mapping of %s", keysOf(t))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && (k.Tag == "!!merge" || k.Tag == "") {
				w.merge(v, t, path)
				continue
			}
			f, ok := fieldByKey(t, k.Value)
			if !ok {
				w.problem(join(path, k.Value), k.Line, "unknown key %q (known keys: %s)", k.Value, strings.Join(keysOf(t), ", "))
				continue
			}
			if _, ok := w.lines[join(path, k.Value)]; !ok {
				w.lines[join(path, k.Value)] = k.Line // the key's line reads best for nested blocks
			}
			w.walk(v, f.Type, join(path, k.Value))
		}
	case t.Kind() == reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			w.problem(path, n.Line, "expected a list")
			return
		}
		for i, c := range n.Content {
			w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	case t.Kind() == reflect.Map:
		if n.Kind != yaml.MappingNode {
			w.problem(path, n.Line, "expected a mapping")
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			w.walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
	case t.Kind() == reflect.Interface:
		switch n.Kind {
		case yaml.ScalarNode:
			w.scalar(n, t, path)
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				w.walk(n.Content[i+1], t, join(path, n.Content[i].Value))
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				w.walk(c, t, fmt.Sprintf("%s[%d]", path, i))
			}
		}
	default:
		w.scalar(n, t, path)
	}
}

// merge walks a "<<" value: one mapping (or alias) or a list of them.
func (w *walker) merge(v *yaml.Node, t reflect.Type, path string) {
	if v.Kind == yaml.SequenceNode {
		for _, c := range v.Content {
			w.walk(c, t, path)
		}
		return
	}
	w.walk(v, t, path)
}

// scalar expands a scalar node in place and fixes its tag for the target type; it reports
// whether the node is a usable scalar.
func (w *walker) scalar(n *yaml.Node, t reflect.Type, path string) bool {
	if n.Kind != yaml.ScalarNode {
		w.problem(path, n.Line, "expected a single value, not a %s", kindName(n.Kind))
		return false
	}
	if w.expanded[n] || !strings.Contains(n.Value, "$") {
		return true
	}
	w.expanded[n] = true
	v, ok := w.expand(n.Value, path, n.Line)
	if !ok {
		return false
	}
	n.Value = v
	if n.Style&yaml.TaggedStyle != 0 {
		return true // explicit !!tag: the author decided
	}
	quoted := n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64, reflect.Bool:
		n.Tag, n.Style = "", 0 // organizationId: "${SCF_ORG}" is a number
	default:
		if !quoted {
			n.Tag = "" // re-resolve from the expanded text, as if written here
		}
	}
	return true
}

var varName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// expand replaces ${NAME} and $$; a "$" before anything else is kept literally.
func (w *walker) expand(s, path string, line int) (string, bool) {
	var b strings.Builder
	ok := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '$' || i+1 >= len(s) {
			b.WriteByte(c)
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '{':
			end := strings.IndexByte(s[i+2:], '}')
			if end < 0 {
				w.problem(path, line, `unterminated "${"; write "$$" for a literal "$"`)
				return "", false
			}
			name := s[i+2 : i+2+end]
			if !varName.MatchString(name) {
				w.problem(path, line, `invalid variable name %q in "${…}"; write "$$" for a literal "$"`, name)
				ok = false
			} else if val, found := w.lookup(name); !found {
				w.problem(path, line, "environment variable %s is not set (referenced as ${%s})", name, name)
				ok = false
			} else {
				b.WriteString(val)
			}
			i += 2 + end
		default:
			b.WriteByte(c)
		}
	}
	return b.String(), ok
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	default:
		return "value"
	}
}

func yamlKey(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	tag := f.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		if f := t.Field(i); yamlKey(f) == key {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func keysOf(t reflect.Type) []string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		if k := yamlKey(t.Field(i)); k != "" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}

func parseURL(s string) (*url.URL, error) { return url.Parse(s) }

// Tenant returns the tenant with the given id.
func (f *File) Tenant(id string) (*Tenant, bool) {
	for i := range f.Tenants {
		if f.Tenants[i].ID == id {
			return &f.Tenants[i], true
		}
	}
	return nil, false
}

// Connection returns the connection with the given id.
func (f *File) Connection(id string) (*Connection, bool) {
	for i := range f.Connections {
		if f.Connections[i].ID == id {
			return &f.Connections[i], true
		}
	}
	return nil, false
}

// ResolvedMapping returns the status mapping new tickets of this connection pin: the named
// one, or the newest built-in mapping for the work system kind when none is named.
func (c Connection) ResolvedMapping() (mapping.Mapping, error) {
	if c.Mapping != "" {
		return mapping.Lookup(c.Mapping)
	}
	return mapping.Latest(c.WorkSystem.Kind)
}

// EffectivePollInterval is the connection's pollInterval, else def (TICKETSYNC_POLL_INTERVAL).
func (c Connection) EffectivePollInterval(def time.Duration) time.Duration {
	if c.PollInterval.Duration > 0 {
		return c.PollInterval.Duration
	}
	return def
}

// PortalSecrets lists the portal's active signing secrets: secret, then secrets, without
// duplicates or blanks. All of them sign each event during a rotation.
func (r RequestSystem) PortalSecrets() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range append([]string{r.Secret}, r.Secrets...) {
		if s = strings.TrimSpace(s); s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
