package cityworks

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/mapping"
	"github.com/ticketsync/ticketsync/vendorapi"
)

// Validate signs in and checks what the connection relies on (vendorapi.Validator): the
// deployment's status vocabulary against the status mapping, the categories' templates, and
// the geocoder when one is configured.
func (c *Connector) Validate(ctx context.Context) []vendorapi.Check {
	login := vendorapi.Check{Name: "cityworks: sign in (version " + c.client.Version() + ")", OK: true}
	if err := c.client.Authenticate(ctx); err != nil {
		login.OK, login.Detail = false, err.Error()
		login.Fix = "check workSystem.baseUrl, version, loginName and password"
		return []vendorapi.Check{login}
	}
	checks := []vendorapi.Check{login, c.checkStatuses(ctx), c.checkTemplates(ctx)}
	if c.geocoder != nil {
		checks = append(checks, c.checkGeocoder(ctx))
	}
	return checks
}

func (c *Connector) checkStatuses(ctx context.Context) vendorapi.Check {
	ch := vendorapi.Check{Name: "cityworks: status vocabulary is mapped"}
	m, err := mapping.Lookup(c.mapping)
	if c.mapping == "" {
		m, err = mapping.Latest(Vendor)
	}
	if err != nil {
		ch.Detail = err.Error()
		return ch
	}
	codes, err := c.client.Statuses(ctx)
	if err != nil {
		ch.Detail = err.Error()
		return ch
	}
	var unmapped []string
	for _, s := range codes {
		if _, ok := m.Translate(s.Code); s.IsActive && !ok {
			unmapped = append(unmapped, s.Code)
		}
	}
	if len(unmapped) > 0 {
		ch.Detail = fmt.Sprintf("statuses %s are not in mapping %s: tickets reaching them would park", strings.Join(unmapped, ", "), m.Name)
		ch.Fix = "publish a new mapping version (mapping/data/cityworks-vN.json) that maps them, and set the connection's mapping"
		return ch
	}
	ch.OK, ch.Detail = true, fmt.Sprintf("%d statuses, all mapped by %s", len(codes), m.Name)
	return ch
}

func (c *Connector) checkTemplates(ctx context.Context) vendorapi.Check {
	ch := vendorapi.Check{Name: "cityworks: templates of options.categories exist"}
	var missing []string
	var sids []int
	for _, cat := range c.opts.Categories {
		if cat.Kind == KindSR {
			n, _ := strconv.Atoi(string(cat.TemplateID))
			sids = append(sids, n)
		}
	}
	if len(sids) > 0 {
		all := true
		tpls, err := c.client.RequestTemplates(ctx, RequestTemplateFilter{TemplateIds: sids, IncludeInactive: &all})
		if err != nil {
			ch.Detail = err.Error()
			return ch
		}
		for _, sid := range sids {
			i := slices.IndexFunc(tpls, func(t RequestTemplate) bool { return t.ProblemSid == sid })
			if i < 0 || tpls[i].Cancel {
				missing = append(missing, "SR "+strconv.Itoa(sid))
			}
		}
	}
	for _, cat := range c.opts.Categories {
		if cat.Kind != KindWO {
			continue
		}
		tpls, err := c.client.WorkOrderTemplates(ctx, WorkOrderTemplateFilter{EntityType: cat.EntityType, WOTemplateIds: []string{string(cat.TemplateID)}})
		if err != nil {
			ch.Detail = err.Error()
			return ch
		}
		if !slices.ContainsFunc(tpls, func(t WorkOrderTemplate) bool { return string(t.WOTemplateId) == string(cat.TemplateID) }) {
			missing = append(missing, "WO "+string(cat.TemplateID)+" ("+cat.EntityType+")")
		}
	}
	if len(missing) > 0 {
		ch.Detail = "not found or cancelled: " + strings.Join(missing, ", ")
		ch.Fix = "correct options.categories (templateId, entityType)"
		return ch
	}
	ch.OK, ch.Detail = true, fmt.Sprintf("%d categories", len(c.opts.Categories))
	return ch
}

func (c *Connector) checkGeocoder(ctx context.Context) vendorapi.Check {
	ch := vendorapi.Check{Name: "arcgis: reverse geocode"}
	lng, lat := -72.9279, 41.3083
	if len(c.agencies) > 0 {
		ctr := c.agencies[0].Area.Bound().Center()
		lng, lat = ctr[0], ctr[1]
	}
	res, err := c.geocoder.ReverseGeocode(ctx, lng, lat)
	if err != nil {
		ch.Detail = err.Error()
		ch.Fix = "check options.geocoder.url and token; requests are still created with the reporter's address meanwhile"
		return ch
	}
	ch.OK = true
	ch.Detail = "answered; no address near the first agency's centre"
	if res.Found {
		ch.Detail = "answered: " + res.Address.Match
	}
	return ch
}
