package pruvan_test

import (
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

func TestParseOptionsIsStrict(t *testing.T) {
	o, err := pruvan.ParseOptions(map[string]any{"defaultAssignTo": " ~all~ ", "autoAdmin": true, "qa": map[string]any{}}, "qa")
	if err != nil || o.DefaultAssignTo != pruvan.AssignAll || !o.AutoAdmin {
		t.Fatalf("%+v %v", o, err)
	}
	for _, tc := range []struct {
		m    map[string]any
		want string
	}{
		{map[string]any{"autoAdmn": true}, "options.autoAdmn: unknown setting (known: autoAdmin, defaultAssignTo, validatorUrl)"},
		{map[string]any{"autoAdmin": "yes"}, "options.autoAdmin: must be a boolean"},
		{map[string]any{"validatorUrl": "http://validator.example/v/"}, "options.validatorUrl"},
	} {
		if _, err := pruvan.ParseOptions(tc.m); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: got %v, want %q", tc.m, err, tc.want)
		}
	}
}
