package cyprexx

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
	"github.com/ticketsync/ticketsync/vendorapi/pruvan"
)

// Options are the Cyprexx side's settings in a connection's options (the Pruvan side reads
// defaultAssignTo, autoAdmin and validatorUrl from the same map).
type Options struct {
	QA QA
	// RefreshSchedule ("@every 15m") is accepted for the seed configuration's sake: Refresh
	// runs at requestSystem.pollInterval (ConnectionSync's intake), so the two must agree.
	RefreshSchedule string
	// CallbackURL is where Cyprexx reaches this connection's push receiver
	// (<ticketsync API>/v1/hooks/cyprexx/<connection>): when set, `connections validate`
	// registers requestSystem.webhookSecret there as the push key.
	CallbackURL string
}

// QA are Pruvan's QA settings for the relay: which photo categories (evidence types) go to
// Cyprexx (empty: all), and how many relayed photos each task needs before the completion
// date is set (on top of each task's own minPhotos).
type QA struct {
	RelayCategories       []string
	RequiredPhotosPerTask int
}

// OptionKeys are the options this side reads.
var OptionKeys = []string{"qa", "refreshSchedule", "callbackUrl"}

// ParseOptions decodes the Cyprexx options strictly (an unknown key is an error naming it;
// partnerKeys are the other side's). pollInterval is requestSystem.pollInterval, which a
// refreshSchedule must match.
func ParseOptions(m map[string]any, pollInterval time.Duration, partnerKeys ...string) (Options, error) {
	var o Options
	if err := pruvan.CheckOptionKeys(m, append(slices.Clone(OptionKeys), partnerKeys...)); err != nil {
		return o, err
	}
	if v, ok := m["qa"]; ok && v != nil {
		qa, ok := v.(map[string]any)
		if !ok {
			return o, fmt.Errorf("options.qa: must be a mapping {relayCategories, requiredPhotosPerTask}")
		}
		if err := pruvan.CheckOptionKeys(qa, []string{"relayCategories", "requiredPhotosPerTask"}); err != nil {
			return o, fmt.Errorf("options.qa.%s", strings.TrimPrefix(err.Error(), "options."))
		}
		if cats, ok := qa["relayCategories"]; ok && cats != nil {
			list, ok := cats.([]any)
			if !ok {
				return o, fmt.Errorf("options.qa.relayCategories: must be a list of photo categories, e.g. [Before, After]")
			}
			for i, c := range list {
				s, ok := c.(string)
				if !ok || strings.TrimSpace(s) == "" {
					return o, fmt.Errorf("options.qa.relayCategories[%d]: must be a category name", i)
				}
				o.QA.RelayCategories = append(o.QA.RelayCategories, strings.TrimSpace(s))
			}
		}
		if n, ok := qa["requiredPhotosPerTask"]; ok && n != nil {
			i, ok := wholeNumber(n)
			if !ok || i < 0 {
				return o, fmt.Errorf("options.qa.requiredPhotosPerTask: must be a whole number ≥ 0")
			}
			o.QA.RequiredPhotosPerTask = i
		}
	}
	if v, ok := m["callbackUrl"]; ok && v != nil {
		s, ok := v.(string)
		if !ok {
			return o, fmt.Errorf("options.callbackUrl: must be a URL")
		}
		if err := vendorapi.CheckBaseURL(s); err != nil {
			return o, fmt.Errorf("options.callbackUrl: %v", err)
		}
		o.CallbackURL = strings.TrimSpace(s)
	}
	if v, ok := m["refreshSchedule"]; ok && v != nil {
		s, _ := v.(string)
		o.RefreshSchedule = strings.TrimSpace(s)
		every, ok := strings.CutPrefix(o.RefreshSchedule, "@every ")
		d, err := time.ParseDuration(strings.TrimSpace(every))
		switch {
		case !ok || err != nil || d <= 0:
			return o, fmt.Errorf("options.refreshSchedule: %q is not \"@every <duration>\" (e.g. \"@every 15m\")", o.RefreshSchedule)
		case pollInterval == 0:
			return o, fmt.Errorf("options.refreshSchedule: Refresh runs at requestSystem.pollInterval (the connection's intake); set requestSystem.pollInterval: %s", d)
		case d != pollInterval:
			return o, fmt.Errorf("options.refreshSchedule: %q disagrees with requestSystem.pollInterval %s, which is what schedules Refresh; make them equal or drop refreshSchedule", o.RefreshSchedule, pollInterval)
		}
	}
	return o, nil
}

// wholeNumber reads a YAML/JSON number that is a whole number.
func wholeNumber(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case uint64:
		return int(n), true
	case float64:
		if n == float64(int(n)) {
			return int(n), true
		}
	}
	return 0, false
}
