package pruvan

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Options are the Pruvan side's settings in a connection's options.
type Options struct {
	// DefaultAssignTo is the sub-user (or "~all~") a newly imported project is offered to
	// ("Default Assign To"); empty leaves projects un-assigned.
	DefaultAssignTo string `json:"defaultAssignTo"`
	// AutoAdmin mirrors the integration's Auto-Admin setting in Pruvan: while on, source
	// updates overwrite the shared fields (description, reference, work order info, due date,
	// instructions…); while off only the source-owned ones (clientStatus, clientDueDate,
	// clientInstructions). Set it as it is set in Pruvan.
	AutoAdmin bool `json:"autoAdmin"`
	// ValidatorURL is the prefix of Pruvan's Validator link for an uploaded item (the uuid is
	// appended): kept with every photo so its authenticity can be checked later.
	ValidatorURL string `json:"validatorUrl"`
}

// OptionKeys are the options this side reads.
var OptionKeys = []string{"defaultAssignTo", "autoAdmin", "validatorUrl"}

// ParseOptions decodes the Pruvan options strictly: a key that neither this side nor the
// connection's other side (partnerKeys) reads is an error naming it, so a typo never goes
// unnoticed.
func ParseOptions(m map[string]any, partnerKeys ...string) (Options, error) {
	var o Options
	if err := CheckOptionKeys(m, append(slices.Clone(OptionKeys), partnerKeys...)); err != nil {
		return o, err
	}
	mine := map[string]any{}
	for _, k := range OptionKeys {
		if v, ok := m[k]; ok {
			mine[k] = v
		}
	}
	b, err := json.Marshal(mine)
	if err != nil {
		return o, fmt.Errorf("options: %w", err)
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return o, fmt.Errorf("options: %s", describeJSONError(err))
	}
	o.DefaultAssignTo = strings.TrimSpace(o.DefaultAssignTo)
	if o.ValidatorURL != "" {
		if err := vendorapi.CheckBaseURL(o.ValidatorURL); err != nil {
			return o, fmt.Errorf("options.validatorUrl: %v", err)
		}
	}
	return o, nil
}

// CheckOptionKeys refuses any key of m not in known, naming it and listing the known ones.
func CheckOptionKeys(m map[string]any, known []string) error {
	var unknown []string
	for k := range m {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	sorted := slices.Sorted(slices.Values(known))
	return fmt.Errorf("options.%s: unknown setting (known: %s)", unknown[0], strings.Join(sorted, ", "))
}

// describeJSONError names the option a type error is about.
func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("options.%s: must be a %s, not a JSON %s", te.Field, jsonKind(te.Type.Kind().String()), te.Value)
	}
	return err.Error()
}

func jsonKind(goKind string) string {
	switch goKind {
	case "bool":
		return "boolean"
	case "int", "int64", "float64":
		return "number"
	case "slice":
		return "list"
	case "struct", "map":
		return "mapping"
	}
	return goKind
}
