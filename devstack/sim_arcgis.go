package devstack

import (
	"net/http"

	"github.com/ticketsync/ticketsync/config"
	gissim "github.com/ticketsync/ticketsync/vendorapi/arcgis/sim"
)

// arcgisSim plays a customer's ArcGIS GeocodeServer (reverseGeocode). It is no connection
// kind: a connection references it from its options (e.g. options.geocoder.url). Every point
// gets an address (seeded places, else a made-up one on "Simulated Way"), so any issue
// location geocodes. When every geocoder pointing at it has a token, it is secured with those
// tokens, so the token path is exercised too.
var arcgisSim = &simulator{
	name: "arcgis", title: "ArcGIS",
	flag: "--arcgis-sim-port", def: 8304, port: func(o *Options) *int { return &o.ArcGISSimPort },
	build: func(b *simBuild) (http.Handler, error) {
		opts := gissim.Options{AnyLocation: true}
		tokens, untokened := geocoderTokens(b.file, b.url)
		if len(tokens) > 0 && untokened == 0 {
			opts.Secured, opts.Tokens = true, tokens
		}
		return gissim.New(opts), nil
	},
}

// geocoderTokens finds, in every connection's options, the objects whose url points at base
// and returns their tokens and how many have none.
func geocoderTokens(f *config.File, base string) (tokens []string, untokened int) {
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if u, ok := x["url"].(string); ok && pointsAt(u, base) {
				if t, ok := x["token"].(string); ok && t != "" {
					tokens = append(tokens, t)
				} else {
					untokened++
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	for _, c := range f.Connections {
		walk(map[string]any(c.Options))
	}
	return tokens, untokened
}
