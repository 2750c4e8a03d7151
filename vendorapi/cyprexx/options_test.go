package cyprexx_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cyprexx"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

// The seed's options parse; every mistake is named (unknown keys, types, a refreshSchedule
// that is not what actually schedules Refresh).
func TestParseOptions(t *testing.T) {
	seed := map[string]any{"defaultAssignTo": "crew-lead", "autoAdmin": true, "refreshSchedule": "@every 15m",
		"qa": map[string]any{"relayCategories": []any{"Before", "After", "During"}, "requiredPhotosPerTask": 2}}
	o, err := cyprexx.ParseOptions(seed, 15*time.Minute, pruvan.OptionKeys...)
	if err != nil || o.QA.RequiredPhotosPerTask != 2 || len(o.QA.RelayCategories) != 3 || o.RefreshSchedule != "@every 15m" {
		t.Fatalf("%+v %v", o, err)
	}
	for _, tc := range []struct {
		m    map[string]any
		poll time.Duration
		want string
	}{
		{map[string]any{"defaultAssignTo": "x"}, 0, "options.defaultAssignTo: unknown setting"}, // without the Pruvan side's keys
		{map[string]any{"qa": map[string]any{"relayCategory": []any{"Before"}}}, 0, "options.qa.relayCategory: unknown setting"},
		{map[string]any{"qa": map[string]any{"requiredPhotosPerTask": 1.5}}, 0, "whole number"},
		{map[string]any{"qa": map[string]any{"relayCategories": "Before"}}, 0, "must be a list"},
		{map[string]any{"refreshSchedule": "*/15 * * * *"}, 15 * time.Minute, `not "@every <duration>"`},
		{map[string]any{"refreshSchedule": "@every 15m"}, 0, "set requestSystem.pollInterval: 15m0s"},
		{map[string]any{"refreshSchedule": "@every 15m"}, time.Minute, "disagrees with requestSystem.pollInterval 1m0s"},
		{map[string]any{"callbackUrl": "http://example.com/hook"}, 0, "options.callbackUrl"},
	} {
		if _, err := cyprexx.ParseOptions(tc.m, tc.poll); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.m, err, tc.want)
		}
	}
}
