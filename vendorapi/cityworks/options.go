package cityworks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Options are a cityworks connection's options (the connections file's "options" block,
// DESIGN.md §8 "SeeClickFix -> Cityworks"). Keys are strict: an unknown key is an error naming
// it, except the keys the request side of the connection reads (see ParseOptions).
type Options struct {
	// Geocoder, when set, reverse-geocodes the request's point through ArcGIS before an SR or
	// WO is created; any failure falls back to the request's own address.
	Geocoder *GeocoderOptions `json:"geocoder,omitempty"`
	// Categories map the request system's request types to Cityworks templates.
	Categories []CategoryOption `json:"categories"`
	// Agencies group published categories and bound the import of Cityworks-originated SRs.
	Agencies []AgencyOption `json:"agencies"`
	// CatalogSchedule is the CatalogSync schedule: "@every 1h" or a five-field cron
	// expression; "" means "@every 1h".
	CatalogSchedule string `json:"catalogSchedule,omitempty"`
	// SyncSecondaryQuestions publishes follow-up questions of branching Q&A (default true).
	SyncSecondaryQuestions *bool `json:"syncSecondaryQuestions,omitempty"`
	// ImportCityworksRequests mirrors SRs entered directly in Cityworks inside an agency's
	// area into the request system.
	ImportCityworksRequests bool `json:"importCityworksRequests,omitempty"`
	// WOReferenceField is the work-order text field holding our reference (default Text20).
	WOReferenceField string `json:"woReferenceField,omitempty"`
	// PublicCommentPrefix marks Cityworks comments (and attachment comments) meant for the
	// requester (default "To SCF:"); it is removed from the relayed text.
	PublicCommentPrefix string `json:"publicCommentPrefix,omitempty"`
	// TimeZone is the site's zone for Cityworks' offset-less dates (IANA name; default UTC).
	TimeZone string `json:"timeZone,omitempty"`
	// CatalogKinds are the template kinds published by CatalogSync: "SR", "WO" (default: SR,
	// plus WO when a category uses a WO template).
	CatalogKinds []string `json:"catalogKinds,omitempty"`
	// WOEntityTypes are the entity types whose WO templates are published (default: those of
	// the WO categories).
	WOEntityTypes []string `json:"woEntityTypes,omitempty"`
	// AttachmentHosts may serve the request's files (besides the request system's own host):
	// files are downloaded only from these hosts, so a request cannot make the worker fetch an
	// internal URL into Cityworks.
	AttachmentHosts []string `json:"attachmentHosts,omitempty"`
}

// GeocoderOptions configure the ArcGIS reverse geocoder.
type GeocoderOptions struct {
	URL      string  `json:"url"`
	Token    string  `json:"token,omitempty"`
	Distance float64 `json:"distance,omitempty"` // meters, default 100
}

// Template kinds of a category.
const (
	KindSR = "SR"
	KindWO = "WO"
)

// CategoryOption maps a request type to a Cityworks template.
type CategoryOption struct {
	RequestType FlexString `json:"requestType"`
	Kind        string     `json:"kind"`                 // SR or WO
	TemplateID  FlexString `json:"templateId"`           // ProblemSid (SR) or WOTemplateId (WO)
	EntityType  string     `json:"entityType,omitempty"` // WO: required by WorkOrder/Create
}

// AgencyOption is a customer-defined agency: a service area and the templates it owns.
type AgencyOption struct {
	ID   FlexString `json:"id"`
	Name string     `json:"name"`
	// Geometry is a GeoJSON file path or an inline GeoJSON object (Polygon or MultiPolygon
	// without holes, WGS84).
	Geometry any `json:"geometry"`
	// DomainIDs are the Cityworks domains whose templates belong to this agency; an agency
	// without any takes the templates no other agency claims.
	DomainIDs []int `json:"domainIds,omitempty"`
}

// Agency is a loaded agency.
type Agency struct {
	ID        string
	Name      string
	DomainIDs []int
	Area      ServiceArea
}

// DefaultPublicCommentPrefix marks Cityworks comments relayed to the requester.
const DefaultPublicCommentPrefix = "To SCF:"

// DefaultCatalogSchedule is CatalogSync's default schedule.
const DefaultCatalogSchedule = "@every 1h"

var woFieldRe = regexp.MustCompile(`^Text([1-9]|1[0-9]|20)$`)

// ParseOptions decodes and validates a connection's options, reporting every problem. Keys in
// alsoKnown belong to the request side of the connection (e.g. SeeClickFix's comment texts)
// and are skipped; any other unknown key is an error naming it. Agencies' geometries are
// loaded here, so a missing file or a polygon with holes fails when the connection is built.
func ParseOptions(raw map[string]any, alsoKnown []string) (Options, []Agency, error) {
	var o Options
	var problems []string
	own := map[string]any{}
	mine := OptionKeys()
	for k, v := range raw {
		if slices.Contains(mine, k) || !slices.Contains(alsoKnown, k) { // shared keys (categories) are ours too
			own[k] = v
		}
	}
	b, err := json.Marshal(own)
	if err != nil {
		return o, nil, fmt.Errorf("options: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&o); err != nil {
		return o, nil, fmt.Errorf("options: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	if o.PublicCommentPrefix == "" {
		o.PublicCommentPrefix = DefaultPublicCommentPrefix
	}
	if o.CatalogSchedule == "" {
		o.CatalogSchedule = DefaultCatalogSchedule
	}
	if err := CheckSchedule(o.CatalogSchedule); err != nil {
		problems = append(problems, "catalogSchedule: "+err.Error())
	}
	if o.WOReferenceField != "" && !woFieldRe.MatchString(o.WOReferenceField) {
		problems = append(problems, fmt.Sprintf("woReferenceField %q must be Text1 … Text20", o.WOReferenceField))
	}
	if o.TimeZone != "" {
		if _, err := time.LoadLocation(o.TimeZone); err != nil {
			problems = append(problems, fmt.Sprintf("timeZone %q is not an IANA zone such as America/Chicago", o.TimeZone))
		}
	}
	if g := o.Geocoder; g != nil {
		if err := vendorapi.CheckBaseURL(g.URL); err != nil {
			problems = append(problems, "geocoder.url: "+err.Error())
		}
		if g.Distance < 0 {
			problems = append(problems, "geocoder.distance must not be negative")
		}
	}
	seenType := map[string]int{}
	for i, c := range o.Categories {
		p := fmt.Sprintf("categories[%d]", i)
		if c.RequestType == "" {
			problems = append(problems, p+".requestType is required (the request system's request type id)")
		} else if first, dup := seenType[string(c.RequestType)]; dup {
			problems = append(problems, fmt.Sprintf("%s.requestType %s is already mapped by categories[%d]", p, c.RequestType, first))
		} else {
			seenType[string(c.RequestType)] = i
		}
		switch c.Kind {
		case KindSR:
			if _, err := strconv.Atoi(string(c.TemplateID)); err != nil {
				problems = append(problems, fmt.Sprintf("%s.templateId %q must be the numeric ProblemSid of an SR template", p, c.TemplateID))
			}
		case KindWO:
			if c.TemplateID == "" {
				problems = append(problems, p+".templateId is required (the WOTemplateId)")
			}
			if c.EntityType == "" {
				problems = append(problems, p+".entityType is required for a WO template (e.g. STREET)")
			}
		default:
			problems = append(problems, fmt.Sprintf("%s.kind %q must be SR or WO", p, c.Kind))
		}
	}
	for i, k := range o.CatalogKinds {
		if k != KindSR && k != KindWO {
			problems = append(problems, fmt.Sprintf("catalogKinds[%d] %q must be SR or WO", i, k))
		}
	}
	for i, h := range o.AttachmentHosts {
		if h == "" || strings.ContainsAny(h, "/:@ ") {
			problems = append(problems, fmt.Sprintf("attachmentHosts[%d] %q must be a bare host name such as files.example.com", i, h))
		}
	}
	var agencies []Agency
	seenAgency := map[string]bool{}
	for i, a := range o.Agencies {
		p := fmt.Sprintf("agencies[%d]", i)
		if _, err := strconv.ParseInt(string(a.ID), 10, 64); err != nil {
			problems = append(problems, fmt.Sprintf("%s.id %q must be the request system's numeric agency id", p, a.ID))
		} else if seenAgency[string(a.ID)] {
			problems = append(problems, fmt.Sprintf("%s.id %s is used twice", p, a.ID))
		}
		seenAgency[string(a.ID)] = true
		area, err := LoadServiceArea(a.Geometry)
		if err != nil {
			src := ""
			if s, ok := a.Geometry.(string); ok {
				src = " (" + s + ")"
			}
			problems = append(problems, fmt.Sprintf("%s.geometry%s: %s", p, src, strings.TrimPrefix(err.Error(), "geometry: ")))
			continue
		}
		agencies = append(agencies, Agency{ID: string(a.ID), Name: a.Name, DomainIDs: a.DomainIDs, Area: area})
	}
	if o.ImportCityworksRequests && len(o.Agencies) == 0 {
		problems = append(problems, "importCityworksRequests needs at least one agency: only SRs inside an agency's area are imported")
	}
	if len(problems) > 0 {
		return o, nil, errors.New("options: " + strings.Join(problems, "; "))
	}
	return o, agencies, nil
}

// OptionKeys lists the keys of Options (the request side of the connection skips them).
func OptionKeys() []string {
	t := reflect.TypeFor[Options]()
	out := make([]string, 0, t.NumField())
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out = append(out, name)
	}
	return out
}

// SyncSecondary reports whether secondary questions are published.
func (o Options) SyncSecondary() bool {
	return o.SyncSecondaryQuestions == nil || *o.SyncSecondaryQuestions
}

// catalogKinds are the template kinds CatalogSync publishes.
func (o Options) catalogKinds() []string {
	if len(o.CatalogKinds) > 0 {
		return o.CatalogKinds
	}
	kinds := []string{KindSR}
	if slices.ContainsFunc(o.Categories, func(c CategoryOption) bool { return c.Kind == KindWO }) {
		kinds = append(kinds, KindWO)
	}
	return kinds
}

// woEntityTypes are the entity types whose WO templates are listed.
func (o Options) woEntityTypes() []string {
	if len(o.WOEntityTypes) > 0 {
		return o.WOEntityTypes
	}
	var out []string
	for _, c := range o.Categories {
		if c.Kind == KindWO && !slices.Contains(out, c.EntityType) {
			out = append(out, c.EntityType)
		}
	}
	return out
}

// category returns the category of a request type.
func (o Options) category(requestType string) (CategoryOption, bool) {
	i := slices.IndexFunc(o.Categories, func(c CategoryOption) bool { return string(c.RequestType) == requestType })
	if i < 0 {
		return CategoryOption{}, false
	}
	return o.Categories[i], true
}

// requestTypeOf returns the request type mapped to a template (reverse of category).
func (o Options) requestTypeOf(kind, templateID string) (string, bool) {
	i := slices.IndexFunc(o.Categories, func(c CategoryOption) bool { return c.Kind == kind && string(c.TemplateID) == templateID })
	if i < 0 {
		return "", false
	}
	return string(o.Categories[i].RequestType), true
}

// CheckSchedule accepts "@every <duration>" (a Go duration, at least one minute), @hourly,
// @daily, @weekly, @monthly, @yearly or a five-field cron expression.
func CheckSchedule(spec string) error {
	if d, ok := strings.CutPrefix(spec, "@every "); ok {
		v, err := time.ParseDuration(strings.TrimSpace(d))
		if err != nil {
			return fmt.Errorf("%q: want e.g. \"@every 1h\"", spec)
		}
		if v < time.Minute {
			return fmt.Errorf("%q: at least one minute", spec)
		}
		return nil
	}
	if slices.Contains([]string{"@hourly", "@daily", "@weekly", "@monthly", "@yearly"}, spec) {
		return nil
	}
	if len(strings.Fields(spec)) != 5 {
		return fmt.Errorf("%q is neither \"@every <duration>\" nor a five-field cron expression", spec)
	}
	return nil
}

// hostOf returns the host of a URL ("" when it has none).
func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}
