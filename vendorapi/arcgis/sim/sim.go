// Package sim is an ArcGIS GeocodeServer simulator for reverseGeocode following
// shared/contracts/arcgis.md: errors inside HTTP 200 bodies, "no match" as a 400 with
// details, 498 for expired tokens and 499 without one on secured services, the HTML default
// of f, IIS error pages, slow answers and dropped connections, and both address naming
// schemes (World service vs. ArcGIS Pro/Desktop locators).
//
// API: GET or POST …/GeocodeServer/reverseGeocode (any prefix, e.g.
// /arcgis/rest/services/Locator/GeocodeServer/reverseGeocode).
//
// Staff control (JSON; POSTs also accept the HTML page's form fields):
//
//	GET  /_sim/                   HTML page: places, faults, tokens
//	GET  /_sim/places             configured places                    (Places)
//	POST /_sim/places             Place: an address for coordinates    (AddPlace)
//	POST /_sim/places/clear                                            (ClearPlaces)
//	POST /_sim/tokens             {"token","expires"} a new token      (IssueToken)
//	POST /_sim/expire-tokens      every issued token answers 498       (ExpireTokens)
//	GET|PUT /_sim/faults          Faults                               (Faults, SetFaults)
//	GET  /_sim/stats              calls by operation and outcome       (Stats)
//	POST /_sim/reset                                                   (Reset)
//
// It deliberately does not import the client package.
package sim

import (
	"crypto/rand"
	"encoding/hex"
	"maps"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Locator naming schemes (Options.Locator).
const (
	LocatorWorld = "world" // Match_addr, LongLabel, ShortLabel, Address, City, Region, Postal, …
	LocatorPro   = "pro"   // Match_addr, Street, City, State, ZIP, Loc_name
)

// DefaultTokenTTL is the lifetime of tokens from IssueToken.
const DefaultTokenTTL = time.Hour

// Options configure a Server. The zero value is an unsecured World-style locator with the
// seeded places and the real clock.
type Options struct {
	// Secured requires a token: none is 499, an unknown or expired one 498.
	Secured bool
	// Tokens are accepted forever (API keys, configured tokens).
	Tokens []string
	// TokenTTL is the lifetime of tokens from IssueToken (default 1 h).
	TokenTTL time.Duration
	// Locator is LocatorWorld (default) or LocatorPro.
	Locator string
	// Places replace the seeded places (Empty: none at all).
	Places []Place
	Empty  bool
	// AnyLocation answers every point without a place nearby with a made-up address on
	// "Simulated Way" (convenient in the dev stack); otherwise such points are no-matches.
	AnyLocation bool
	// Now is the clock (default time.Now); Seed seeds the RNG of ErrorRate.
	Now    func() time.Time
	Seed   uint64
	Faults Faults
}

// Place is an address at a point (WGS84). Empty fields are sent as "".
type Place struct {
	X            float64 `json:"x"`
	Y            float64 `json:"y"`
	AddNum       string  `json:"addNum"`
	StreetName   string  `json:"streetName"` // e.g. "I St"
	Neighborhood string  `json:"neighborhood"`
	City         string  `json:"city"`
	Region       string  `json:"region"`     // e.g. "California"
	RegionAbbr   string  `json:"regionAbbr"` // e.g. "CA"
	Postal       string  `json:"postal"`
	AddrType     string  `json:"addrType"` // default "PointAddress"
}

// SeedPlaces are the default places: the contract's Sacramento fixture, a Chicago address and
// one without a postal code.
var SeedPlaces = []Place{
	{X: -121.493318337979, Y: 38.581538437996, AddNum: "967", StreetName: "I St", Neighborhood: "Downtown",
		City: "Sacramento", Region: "California", RegionAbbr: "CA", Postal: "95814"},
	{X: -87.632388, Y: 41.883718, AddNum: "121", StreetName: "N LaSalle St", Neighborhood: "The Loop",
		City: "Chicago", Region: "Illinois", RegionAbbr: "IL", Postal: "60602"},
	{X: -87.62405, Y: 41.88425, AddNum: "", StreetName: "E Randolph St & N Michigan Ave", City: "Chicago",
		Region: "Illinois", RegionAbbr: "IL", AddrType: "StreetInt"},
}

// Stats count what the simulator saw.
type Stats struct {
	Calls         map[string]int `json:"calls"` // by operation, "reverseGeocode"
	Matches       int            `json:"matches"`
	NoMatches     int            `json:"noMatches"`
	InvalidToken  int            `json:"invalidToken"`  // 498 answers
	TokenRequired int            `json:"tokenRequired"` // 499 answers
	Faulted       int            `json:"faulted"`
}

// Server is the simulator, an http.Handler.
type Server struct {
	opts Options

	mu     sync.Mutex
	rng    *mrand.Rand
	faults Faults
	stats  Stats
	places []Place
	tokens map[string]time.Time // token → expiry
}

// New returns a simulator.
func New(opts Options) *Server {
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = DefaultTokenTTL
	}
	if opts.Locator == "" {
		opts.Locator = LocatorWorld
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts, rng: simkit.NewRand(opts.Seed)}
	s.resetLocked()
	s.setFaultsLocked(opts.Faults)
	return s
}

// Reset restores the configured places and forgets faults, stats and issued tokens.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetLocked()
}

func (s *Server) resetLocked() {
	switch {
	case s.opts.Empty:
		s.places = nil
	case s.opts.Places != nil:
		s.places = slices.Clone(s.opts.Places)
	default:
		s.places = slices.Clone(SeedPlaces)
	}
	s.tokens = map[string]time.Time{}
	s.faults = Faults{}
	s.stats = Stats{Calls: map[string]int{}}
}

// Places returns the configured places.
func (s *Server) Places() []Place {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.places)
}

// AddPlace configures the address answered for points near (p.X, p.Y).
func (s *Server) AddPlace(p Place) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.places = append(s.places, p)
}

// ClearPlaces removes every place (every point is then a no-match unless AnyLocation).
func (s *Server) ClearPlaces() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.places = nil
}

// IssueToken returns a new token valid for TokenTTL (what generateToken would give).
func (s *Server) IssueToken() (string, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := make([]byte, 16)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	exp := s.opts.Now().Add(s.opts.TokenTTL)
	s.tokens[tok] = exp
	s.stats.Calls["generateToken"]++
	return tok, exp
}

// ExpireTokens ends every issued token (static Options.Tokens stay valid).
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireAllLocked()
}

func (s *Server) expireAllLocked() {
	for k := range s.tokens {
		s.tokens[k] = time.Time{}
	}
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.stats
	out.Calls = maps.Clone(s.stats.Calls)
	return out
}

// ServeHTTP routes …/GeocodeServer/reverseGeocode and /_sim/….
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == "/_sim" || strings.HasPrefix(p, "/_sim/"):
		s.handleStaff(w, r)
	case strings.HasSuffix(strings.ToLower(strings.TrimRight(p, "/")), "/geocodeserver/reversegeocode"):
		s.handleReverseGeocode(w, r)
	default:
		writeArcGISError(w, 400, "Unable to complete operation.", "Invalid URL")
	}
}

// ---- geometry ----

const earthRadius = 6371008.8 // meters

// distanceMeters is the haversine distance between two WGS84 points.
func distanceMeters(x1, y1, x2, y2 float64) float64 {
	rad := math.Pi / 180
	dLat, dLon := (y2-y1)*rad, (x2-x1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(y1*rad)*math.Cos(y2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * earthRadius * math.Asin(math.Min(1, math.Sqrt(a)))
}

// Web Mercator (102100/3857) ↔ WGS84.
const mercatorR = 6378137.0

func toMercator(x, y float64) (float64, float64) {
	return x * math.Pi / 180 * mercatorR, math.Log(math.Tan(math.Pi/4+y*math.Pi/360)) * mercatorR
}

func fromMercator(x, y float64) (float64, float64) {
	return x / mercatorR * 180 / math.Pi, (2*math.Atan(math.Exp(y/mercatorR)) - math.Pi/2) * 180 / math.Pi
}

// writeArcJSON writes an API answer. ArcGIS Server labels f=json answers text/plain, so the
// client must not rely on the media type.
func writeArcJSON(w http.ResponseWriter, v any) {
	simkit.WriteJSONAs(w, http.StatusOK, "text/plain;charset=utf-8", v)
}

// writeArcGISError writes the HTTP 200 error body of the contract.
func writeArcGISError(w http.ResponseWriter, code int, message string, details ...string) {
	if details == nil {
		details = []string{}
	}
	writeArcJSON(w, map[string]any{"error": map[string]any{"code": code, "message": message, "details": details}})
}
