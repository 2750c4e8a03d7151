package cubu_test

// The connector's construction: options read strictly, the gate derived from whatever work
// system the connection has, and every configuration problem listed at once.

import (
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ticketsync/ticketsync/vendorapi/cubu"
)

// Two work systems the tests plug in, to show the Cubu side assumes neither: one shaped like
// TheWorxHub (request types, address required) and one that requires coordinates and takes
// any request type.
var (
	workAddress = cubu.ConnectorConfig{WorkKind: "addressed",
		WorkRequired:     []string{"requestType", "title", "description", "location.address", "requester.name"},
		WorkRequestTypes: []string{"Maintenance", "Housekeeping", "IT Support"}}
	workCoordinates = cubu.ConnectorConfig{WorkKind: "mapped",
		WorkRequired: []string{"requestType", "location.lat", "location.lng", "photos"}}
)

// fieldOptions is the options block of a connection on the simulator's default service form.
func fieldOptions() map[string]any {
	return map[string]any{"fields": map[string]any{
		"description": fieldDescription, "address": fieldAddress, "lat": fieldLat, "lng": fieldLng,
		"requesterName": fieldName,
		"requestTypes":  map[string]any{serviceTypeMaintenance: "Maintenance"},
		"labels":        map[string]any{fieldPreferred: "Preferred time", fieldAddress: "Where (building, apartment)"},
	}}
}

func connectorConfig(work cubu.ConnectorConfig, options map[string]any) cubu.ConnectorConfig {
	work.Connection, work.Secrets, work.Options = "acme-cubu", []string{hookSecret, ""}, options
	return work
}

func newConnector(t *testing.T, cfg cubu.ConnectorConfig) *cubu.Connector {
	t.Helper()
	c, err := cubu.NewConnector(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestConnectorGateFollowsTheWorkSystem(t *testing.T) {
	c := newConnector(t, connectorConfig(workAddress, fieldOptions()))
	// Title, description and requester name are always filled in by the mapping; the gate only
	// checks what it cannot invent.
	if got := c.Required(); !slices.Equal(got, []string{"requestType", "location.address"}) {
		t.Errorf("addressed work system: gate checks %v", got)
	}
	if o := c.Options(); o.CreateOn != cubu.AfterResolve || o.ReplayWindow != 24*time.Hour ||
		o.BeforeHookTimeout != 2*time.Second || o.AfterClose != cubu.AfterCloseCancel {
		t.Errorf("defaults = %+v", o)
	}

	// Another work system, another gate; "photos" is nothing a Cubu case can carry.
	opts := fieldOptions()
	opts["requiredFields"] = []any{"answers.Preferred time", "location.lat"}
	c = newConnector(t, connectorConfig(workCoordinates, opts))
	if got := c.Required(); !slices.Equal(got, []string{"requestType", "location.lat", "location.lng", "answers.Preferred time"}) {
		t.Errorf("mapped work system: gate checks %v", got)
	}
}

func TestConnectorListsEveryProblem(t *testing.T) {
	cfg := connectorConfig(workAddress, map[string]any{
		"createOn":          "afterClose",
		"replayWindow":      86400,
		"beforeHookTimeout": "soon",
		"fields":            map[string]any{"description": fieldDescription, "adress": fieldAddress},
		"retries":           3,
	})
	cfg.Secrets = []string{""}
	cfg.S2S = &cubu.Config{BaseURL: "http://s2s.example", ApplicationID: "app", TenantID: "t", ClientID: "c", ClientSecret: "s"}
	_, err := cubu.NewConnector(cfg)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"hmacSecrets", `replayWindow: want a duration such as "24h"`, `beforeHookTimeout: "soon" is not a duration`,
		`fields: unknown key "adress"`, "retries: unknown key (known: createOn", "s2s.agentUserId is required",
		"BaseURL \"http://s2s.example\" must use https",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%v\n  lacks %q", err, want)
		}
	}

	// Options that decode but make no sense are listed too.
	_, err = cubu.NewConnector(connectorConfig(workAddress, map[string]any{"createOn": "afterClose", "afterClose": "reopen",
		"replayWindow": "30m", "fields": fieldOptions()["fields"]}))
	for _, want := range []string{`createOn "afterClose"`, `afterClose "reopen"`, "replayWindow 30m0s must be between 1h and 72h"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v\n  lacks %q", err, want)
		}
	}
}

func TestConnectorMappingMustSupplyWhatTheWorkSystemNeeds(t *testing.T) {
	// Without an address field every case would be blocked at the desk: refuse the connection.
	_, err := cubu.NewConnector(connectorConfig(workAddress, map[string]any{"fields": map[string]any{
		"description": fieldDescription, "defaultRequestType": "Maintenance"}}))
	if err == nil || !strings.Contains(err.Error(), "options.fields.address is not set, but location.address is required (by the work system addressed") {
		t.Fatalf("missing address mapping: %v", err)
	}
	// Nor can a connection without any request type source serve a work system that needs one.
	_, err = cubu.NewConnector(connectorConfig(workCoordinates, map[string]any{"fields": map[string]any{"lat": fieldLat, "lng": fieldLng}}))
	if err == nil || !strings.Contains(err.Error(), "set requestType, requestTypes or defaultRequestType") {
		t.Fatalf("missing request type: %v", err)
	}
	// A request type the work system does not know would fail every create.
	_, err = cubu.NewConnector(connectorConfig(workAddress, map[string]any{"fields": map[string]any{
		"address": fieldAddress, "requestTypes": map[string]any{serviceTypeMaintenance: "Plumbing"}}}))
	if err == nil || !strings.Contains(err.Error(), `request type(s) "Plumbing" not accepted by addressed`) {
		t.Fatalf("unknown request type: %v", err)
	}
	// A work system that takes any type and needs nothing: an empty options block is fine.
	newConnector(t, connectorConfig(cubu.ConnectorConfig{WorkKind: "lenient"}, nil))
}

// TestConnectorSharesTheOptionsBlock: the work side's keys in the connection's one options
// block are left to it; a key neither side reads is still an error.
func TestConnectorSharesTheOptionsBlock(t *testing.T) {
	opts := fieldOptions()
	opts["catalogSchedule"] = "@every 1h"
	cfg := connectorConfig(workAddress, opts)
	if _, err := cubu.NewConnector(cfg); err == nil || !strings.Contains(err.Error(), "catalogSchedule: unknown key") {
		t.Fatalf("without the work side's keys: %v", err)
	}
	cfg.WorkSideOptions = []string{"catalogSchedule", "categories"}
	newConnector(t, cfg)
	opts["catalogSchedul"] = "@every 1h"
	if _, err := cubu.NewConnector(cfg); err == nil || !strings.Contains(err.Error(), "catalogSchedul: unknown key (known: createOn, replayWindow, beforeHookTimeout, fields, requiredFields, afterClose, catalogSchedule, categories)") {
		t.Fatalf("a typo: %v", err)
	}
}

// TestDecodeOptionsFromYAML reads the options block the way the connections file hands it over.
func TestDecodeOptionsFromYAML(t *testing.T) {
	var m map[string]any
	src := `
createOn: afterQueueUp
replayWindow: 48h
beforeHookTimeout: 3s
afterClose: ignore
requiredFields: [description, "answers.Preferred time"]
fields:
  description: ` + fieldDescription + `
  requestTypes: {` + serviceTypeMaintenance + `: Maintenance}
  defaultRequestType: Housekeeping
  labels: {` + fieldPreferred + `: Preferred time}
`
	if err := yaml.Unmarshal([]byte(src), &m); err != nil {
		t.Fatal(err)
	}
	o, err := cubu.DecodeOptions(m)
	if err != nil {
		t.Fatal(err)
	}
	if o.CreateOn != cubu.AfterQueueUp || o.ReplayWindow != 48*time.Hour || o.BeforeHookTimeout != 3*time.Second ||
		o.AfterClose != cubu.AfterCloseIgnore || !slices.Equal(o.RequiredFields, []string{"description", "answers.Preferred time"}) ||
		o.Fields.Description != fieldDescription || o.Fields.RequestTypes[serviceTypeMaintenance] != "Maintenance" ||
		o.Fields.DefaultRequestType != "Housekeeping" || o.Fields.Labels[fieldPreferred] != "Preferred time" {
		t.Fatalf("decoded %+v", o)
	}
	if err := o.WithDefaults().Validate(); err != nil {
		t.Fatal(err)
	}
	if _, err := cubu.DecodeOptions(map[string]any{"fields": map[string]any{"requestTypes": []any{"x"}}}); err == nil ||
		!strings.Contains(err.Error(), "fields: requestTypes: want map[string]string, got array") {
		t.Fatalf("wrong type: %v", err)
	}
}
