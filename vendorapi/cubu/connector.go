package cubu

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// ConnectorConfig configures the request side of a cubu connection. connectors/vendors builds
// it from the connections file, so this package depends on neither the config nor the
// connectors package.
type ConnectorConfig struct {
	Connection string
	// Secrets are requestSystem.hmacSecrets: any verifies (rotation); empty entries are dropped.
	Secrets []string
	// S2S is the requestSystem.s2s block; nil means nothing is reported back to Cubu.
	S2S *Config
	// Options is the connection's options block, read by DecodeOptions; WorkSideOptions are the
	// keys the work side reads from it (left to that side).
	Options         map[string]any
	WorkSideOptions []string
	// WorkKind, WorkRequired and WorkRequestTypes describe the connection's work system,
	// whichever kind it is: the request fields its creates need (dotted names such as
	// "location.address") and the request types it accepts (empty = any).
	WorkKind         string
	WorkRequired     []string
	WorkRequestTypes []string
}

// Connector is the request side of a cubu connection: it receives Cubu's service webhooks
// (vendorapi.HookHandler), reports a finished ticket back by resolving the case through the
// S2S API (vendorapi.RequestSystem) and checks its settings (vendorapi.Validator).
type Connector struct {
	conn     string
	secrets  [][]byte
	client   *Client // nil without s2s
	opts     Options
	gate     Hook     // the before-hook guarding opts.CreateOn
	required []string // what the gate checks (Decide's names)
	types    []string // request types the work system accepts (empty = any)
	workKind string
}

var (
	_ vendorapi.RequestSystem = (*Connector)(nil)
	_ vendorapi.HookHandler   = (*Connector)(nil)
	_ vendorapi.Validator     = (*Connector)(nil)
)

// defaultable are request fields ToNewRequest always fills (a title from the description, a
// placeholder description and requester name): a work system requiring them is served even
// when the case lacks them, so the gate does not block agents over them unless the
// connection's requiredFields names them.
var defaultable = []string{FieldTitle, FieldDescription, FieldRequesterName}

// NewConnector checks cfg (listing every problem) and returns the connector. No network call
// is made.
func NewConnector(cfg ConnectorConfig) (*Connector, error) {
	var problems []string
	c := &Connector{conn: cfg.Connection, secrets: Secrets(cfg.Secrets), workKind: cfg.WorkKind,
		types: slices.Clone(cfg.WorkRequestTypes)}
	if cfg.Connection == "" {
		problems = append(problems, "connection id is required")
	}
	if len(c.secrets) == 0 {
		problems = append(problems, "hmacSecrets: at least one non-empty secret is required (Cubu's Authorization \"None\" is not supported)")
	}
	opts, err := DecodeOptions(cfg.Options, cfg.WorkSideOptions...)
	if err != nil {
		problems = append(problems, err.Error())
	} else {
		c.opts = opts.WithDefaults()
		if err := c.opts.Validate(); err != nil {
			problems = append(problems, err.Error())
		}
		c.gate = GateHook(c.opts.CreateOn)
		c.required = requiredFields(cfg.WorkRequired, c.opts.RequiredFields)
		problems = append(problems, c.mappingProblems()...)
	}
	if cfg.S2S != nil {
		s2s := *cfg.S2S
		if strings.TrimSpace(s2s.AgentUserID) == "" {
			problems = append(problems, "s2s.agentUserId is required: cases are resolved as that agent (role Agent Impersonator)")
		}
		if c.client, err = New(s2s); err != nil {
			problems = append(problems, strings.TrimPrefix(err.Error(), "cubu: "))
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("cubu: %s", strings.Join(problems, "; "))
	}
	return c, nil
}

// requiredFields is what the gate checks: the work system's required fields that a Cubu case
// can carry and ToNewRequest cannot fill in by itself, plus the connection's own list.
// A work-system field no case can carry (none today) is left to the work system to refuse.
func requiredFields(work, extra []string) []string {
	var out []string
	for _, n := range work {
		if slices.Contains(defaultable, n) || ValidateRequired([]string{n}) != nil || slices.Contains(out, n) {
			continue
		}
		out = append(out, n)
	}
	for _, n := range extra {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// mappingProblems reports required fields the connection's field mapping can never supply
// (every case would be blocked at the gate) and mapped request types the work system does
// not accept (every create would fail).
func (c *Connector) mappingProblems() []string {
	m := c.opts.Fields
	source := map[string]string{FieldTitle: m.Title, FieldDescription: m.Description, FieldAddress: m.Address,
		FieldLat: m.Lat, FieldLng: m.Lng, FieldRequesterName: m.RequesterName}
	option := map[string]string{FieldTitle: "title", FieldDescription: "description", FieldAddress: "address",
		FieldLat: "lat", FieldLng: "lng", FieldRequesterName: "requesterName"}
	var problems []string
	for _, n := range c.required {
		switch {
		case n == FieldRequestType:
			if m.RequestType == "" && len(m.RequestTypes) == 0 && m.DefaultRequestType == "" {
				problems = append(problems, "options.fields: set requestType, requestTypes or defaultRequestType: the work system needs a request type")
			}
		case option[n] != "" && source[n] == "":
			problems = append(problems, fmt.Sprintf("options.fields.%s is not set, but %s is required (by the work system %s or options.requiredFields): name the Cubu field type id that holds it",
				option[n], n, c.workKind))
		}
	}
	if len(c.types) > 0 {
		var bad []string
		for _, t := range append(slices.Sorted(maps.Values(m.RequestTypes)), m.DefaultRequestType) {
			if t != "" && !slices.Contains(c.types, t) && !slices.Contains(bad, t) {
				bad = append(bad, fmt.Sprintf("%q", t))
			}
		}
		if len(bad) > 0 {
			problems = append(problems, fmt.Sprintf("options.fields: request type(s) %s not accepted by %s (want one of %s)",
				strings.Join(bad, ", "), c.workKind, strings.Join(c.types, ", ")))
		}
	}
	return problems
}

// Kind implements vendorapi.RequestSystem.
func (c *Connector) Kind() string { return Vendor }

// Options returns the connection's options with defaults applied.
func (c *Connector) Options() Options { return c.opts }

// Required returns what the gate before-hook checks.
func (c *Connector) Required() []string { return slices.Clone(c.required) }
