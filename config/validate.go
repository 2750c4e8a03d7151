package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/stdwebhooks"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// IDPattern is what tenant and connection ids must match: they end up in workflow ids, URLs
// and search attributes. MaxIDLength keeps them DNS-label sized.
var IDPattern = regexp.MustCompile(`^[a-z0-9-]+$`)

const (
	MaxIDLength     = 63
	MinAPIKeyLength = 16
)

// CityworksVersions are the accepted workSystem.version values for cityworks.
var CityworksVersions = []string{"2013", "2015", "15", "23"}

type checker struct {
	f     *File
	probs Problems
}

func (c *checker) add(path, format string, a ...any) {
	if c.f.flagged[path] {
		return // already explained while parsing (e.g. an unset ${VAR})
	}
	c.probs = append(c.probs, Problem{Field: path, Message: fmt.Sprintf(format, a...), Line: c.f.lineFor(path)})
}

// lineFor is the line of path, or of its nearest parent present in the file.
func (f *File) lineFor(path string) int {
	for path != "" {
		if l, ok := f.lines[path]; ok && l > 0 {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

func (c *checker) required(path, v string) bool {
	if strings.TrimSpace(v) == "" {
		c.add(path, "required")
		return false
	}
	return true
}

func (c *checker) id(path, v string, seen map[string]string) {
	switch {
	case v == "":
		c.add(path, "required")
		return
	case len(v) > MaxIDLength:
		c.add(path, "%q is longer than %d characters", v, MaxIDLength)
	case !IDPattern.MatchString(v):
		c.add(path, "%q may contain only lower-case letters, digits and '-'", v)
	}
	if first, dup := seen[v]; dup {
		c.add(path, "duplicate id %q (first used at %s)", v, first)
	} else {
		seen[v] = path
	}
}

func (c *checker) httpURL(path, v string) {
	if !c.required(path, v) {
		return
	}
	u, err := url.Parse(strings.TrimSpace(v))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		c.add(path, "must be an http(s) URL such as https://host.example")
	}
}

func (c *checker) interval(path string, d Duration) {
	if d.Duration != 0 && d.Duration < time.Second {
		c.add(path, "%s is too short: at least 1s", d.Duration)
	}
}

func oneOfMsg(v string, set []string) string {
	return fmt.Sprintf("%q is not one of %s", v, strings.Join(set, ", "))
}

// Validate checks every rule and returns every problem at once as Problems (nil when fine).
// Parse calls it; call it again after building or editing a File in code.
func (f *File) Validate() error {
	c := &checker{f: f}
	tenantIDs := map[string]string{}
	keys := map[string]string{}
	for i, t := range f.Tenants {
		p := fmt.Sprintf("tenants[%d]", i)
		c.id(p+".id", t.ID, tenantIDs)
		for k, key := range t.APIKeys {
			kp := fmt.Sprintf("%s.apiKeys[%d]", p, k)
			key = strings.TrimSpace(key)
			switch {
			case key == "":
				c.add(kp, "empty API key")
			case len(key) < MinAPIKeyLength:
				c.add(kp, "API key is too short: at least %d characters", MinAPIKeyLength)
			default:
				if first, dup := keys[key]; dup { // never print the key itself
					c.add(kp, "API key duplicates %s", first)
				} else {
					keys[key] = kp
				}
			}
		}
	}
	connIDs := map[string]string{}
	for i := range f.Connections {
		c.connection(fmt.Sprintf("connections[%d]", i), &f.Connections[i], tenantIDs, connIDs)
	}
	return c.probs.orNil()
}

func (c *checker) connection(p string, conn *Connection, tenants, seen map[string]string) {
	c.id(p+".id", conn.ID, seen)
	if c.required(p+".tenant", conn.Tenant) {
		if _, ok := tenants[conn.Tenant]; !ok {
			c.add(p+".tenant", "tenant %q is not defined under tenants", conn.Tenant)
		}
	}
	c.requestSystem(p+".requestSystem", conn.RequestSystem)
	workOK := c.workSystem(p+".workSystem", conn.WorkSystem)
	switch {
	case conn.Mapping != "":
		m, err := mapping.Lookup(conn.Mapping)
		if err != nil {
			c.add(p+".mapping", "%v", err)
		} else if workOK && m.WorkKind != conn.WorkSystem.Kind {
			c.add(p+".mapping", "mapping %q reads %s statuses, but the work system is %s", m.Name, m.WorkKind, conn.WorkSystem.Kind)
		}
	case workOK:
		if _, err := mapping.Latest(conn.WorkSystem.Kind); err != nil {
			c.add(p+".mapping", "no built-in status mapping for work system kind %q yet (known: %s)",
				conn.WorkSystem.Kind, strings.Join(mapping.Names(), ", "))
		}
	}
	c.interval(p+".pollInterval", conn.PollInterval)
}

func (c *checker) requestSystem(p string, r RequestSystem) {
	c.interval(p+".pollInterval", r.PollInterval)
	if d := r.RetryMaxInterval.Duration; d != 0 && (d < 10*time.Second || d > time.Hour) {
		c.add(p+".retryMaxInterval", "%s is out of range: from 10s to 1h", d)
	}
	if !c.required(p+".kind", r.Kind) {
		return
	}
	switch r.Kind {
	case KindPortal:
		if c.required(p+".url", r.URL) {
			if err := vendorapi.CheckBaseURL(strings.TrimSpace(r.URL)); err != nil {
				c.add(p+".url", "%v", err)
			}
		}
		if strings.TrimSpace(r.Secret) == "" && len(r.Secrets) == 0 {
			c.add(p+".secret", "required: the whsec_… signing secret shared with the portal")
		}
		if r.Secret != "" {
			c.portalSecret(p+".secret", r.Secret)
		}
		for i, s := range r.Secrets {
			c.portalSecret(fmt.Sprintf("%s.secrets[%d]", p, i), s)
		}
	case KindSeeClickFix:
		c.httpURL(p+".baseUrl", r.BaseURL)
		if r.OrganizationID <= 0 {
			c.add(p+".organizationId", "required: the SeeClickFix organization id (a positive number)")
		}
		user, pass, token := strings.TrimSpace(r.Username) != "", strings.TrimSpace(r.Password) != "", strings.TrimSpace(r.Token) != ""
		switch {
		case user && !pass:
			c.add(p+".password", "required with username")
		case pass && !user:
			c.add(p+".username", "required with password")
		case !user && !token:
			c.add(p+".username", "set username and password, or token")
		}
	case KindCubu:
		if len(r.HMACSecrets) == 0 {
			c.add(p+".hmacSecrets", "required: at least one HMAC secret for Cubu's webhooks")
		}
		for i, s := range r.HMACSecrets {
			if strings.TrimSpace(s) == "" {
				c.add(fmt.Sprintf("%s.hmacSecrets[%d]", p, i), "empty secret")
			}
		}
		if s := r.S2S; s != nil {
			c.httpURL(p+".s2s.baseUrl", s.BaseURL)
			c.required(p+".s2s.tenantId", s.TenantID)
			c.required(p+".s2s.clientId", s.ClientID)
			c.required(p+".s2s.clientSecret", s.ClientSecret)
			if s.TokenURL != "" {
				// Like every vendor URL: https, or http on loopback (simulators, tests).
				if err := vendorapi.CheckBaseURL(s.TokenURL); err != nil {
					c.add(p+".s2s.tokenUrl", "must be an https URL (http only on loopback): %v", err)
				}
			}
		}
	case KindCyprexx:
		c.httpURL(p+".baseUrl", r.BaseURL)
		c.required(p+".apiToken", r.APIToken)
	default:
		if !knownKind(SideRequest, r.Kind) {
			c.add(p+".kind", "%s", oneOfMsg(r.Kind, RequestKinds))
		}
	}
}

func (c *checker) portalSecret(path, s string) {
	if _, err := stdwebhooks.ParseSecret(s); err != nil {
		c.add(path, "%v", err)
	}
}

// workSystem reports whether the kind is known (so mapping checks make sense).
func (c *checker) workSystem(p string, w WorkSystem) bool {
	if !c.required(p+".kind", w.Kind) {
		return false
	}
	switch w.Kind {
	case KindTheWorxHub:
		c.httpURL(p+".baseUrl", w.BaseURL)
		c.required(p+".clientId", w.ClientID)
		c.required(p+".clientSecret", w.ClientSecret)
		if strings.TrimSpace(w.WebhookSecret) == "" {
			// TWH signs its pushes: without a secret anyone who knows the connection id could
			// poke tickets and spend the connection's vendor calls.
			c.add(p+".webhookSecret", "required: TheWorxHub signs its pushes; set the secret of its webhook subscription (any long random string configured on both sides)")
		}
	case KindCityworks:
		c.httpURL(p+".baseUrl", w.BaseURL)
		if c.required(p+".version", w.Version) && !oneOf(w.Version, CityworksVersions) {
			c.add(p+".version", "%s", oneOfMsg(w.Version, CityworksVersions))
		}
		c.required(p+".loginName", w.LoginName)
		c.required(p+".password", w.Password)
	case KindPruvan:
		c.httpURL(p+".baseUrl", w.BaseURL)
		c.required(p+".username", w.Username)
		c.required(p+".password", w.Password)
	default:
		if !knownKind(SideWork, w.Kind) {
			c.add(p+".kind", "%s", oneOfMsg(w.Kind, WorkKinds))
			return false
		}
	}
	if w.RateLimit < 0 {
		c.add(p+".rateLimit", "must not be negative (calls per minute; 0 = the vendor's default)")
	}
	return true
}

// Warnings lists legal but suspicious settings: tenants without API keys (they cannot call
// the API until a key is created with the CLI) or without connections.
func (f *File) Warnings() []Problem {
	var ws []Problem
	used := map[string]bool{}
	for _, c := range f.Connections {
		used[c.Tenant] = true
	}
	for i, t := range f.Tenants {
		p := fmt.Sprintf("tenants[%d]", i)
		if len(t.APIKeys) == 0 {
			ws = append(ws, Problem{Field: p + ".apiKeys", Line: f.lineFor(p),
				Message: fmt.Sprintf("tenant %q has no API keys; create one with `ticketsync tenants keys create`", t.ID)})
		}
		if !used[t.ID] {
			ws = append(ws, Problem{Field: p, Line: f.lineFor(p), Message: fmt.Sprintf("tenant %q has no connections", t.ID)})
		}
	}
	return ws
}
