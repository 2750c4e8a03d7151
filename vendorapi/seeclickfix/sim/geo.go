package sim

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Agency is a service area that request types belong to (SCF side of the Cityworks sync):
// Geometry is a GeoJSON Polygon or MultiPolygon in WGS84 (a Feature wrapping one is accepted).
// Interior rings are ignored, as in SCF: a point in a cutout is still inside.
type Agency struct {
	ID             int64           `json:"id"`
	Name           string          `json:"name"`
	OrganizationID int64           `json:"organization_id"`
	Geometry       json.RawMessage `json:"geometry"`
}

type agency struct {
	Agency
	rings [][][2]float64 // exterior rings, [lng, lat]
}

func parseAgency(a Agency) (*agency, error) {
	if a.ID <= 0 {
		return nil, errors.New("agency id must be positive")
	}
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
		Geometry    json.RawMessage `json:"geometry"`
	}
	if err := json.Unmarshal(a.Geometry, &g); err != nil {
		return nil, fmt.Errorf("agency %d: geometry is not GeoJSON: %w", a.ID, err)
	}
	if g.Type == "Feature" {
		a.Geometry = g.Geometry
		return parseAgency(a)
	}
	ag := &agency{Agency: a}
	switch g.Type {
	case "Polygon":
		var poly [][][2]float64
		if err := json.Unmarshal(g.Coordinates, &poly); err != nil || len(poly) == 0 {
			return nil, fmt.Errorf("agency %d: bad Polygon coordinates", a.ID)
		}
		ag.rings = append(ag.rings, poly[0])
	case "MultiPolygon":
		var multi [][][][2]float64
		if err := json.Unmarshal(g.Coordinates, &multi); err != nil || len(multi) == 0 {
			return nil, fmt.Errorf("agency %d: bad MultiPolygon coordinates", a.ID)
		}
		for _, poly := range multi {
			if len(poly) > 0 {
				ag.rings = append(ag.rings, poly[0])
			}
		}
	default:
		return nil, fmt.Errorf("agency %d: geometry must be a Polygon or MultiPolygon, not %q", a.ID, g.Type)
	}
	for _, r := range ag.rings {
		if len(r) < 4 {
			return nil, fmt.Errorf("agency %d: a ring needs at least 4 positions", a.ID)
		}
	}
	return ag, nil
}

// contains reports whether (lat, lng) lies inside any exterior ring (even-odd ray casting).
func (a *agency) contains(lat, lng float64) bool {
	for _, ring := range a.rings {
		in := false
		for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
			xi, yi, xj, yj := ring[i][0], ring[i][1], ring[j][0], ring[j][1]
			if (yi > lat) != (yj > lat) && lng < (xj-xi)*(lat-yi)/(yj-yi)+xi {
				in = !in
			}
		}
		if in {
			return true
		}
	}
	return false
}

// SetAgencies replaces the service areas; request types keep their agency ids.
func (s *Server) SetAgencies(list []Agency) error {
	parsed := map[int64]*agency{}
	for _, a := range list {
		ag, err := parseAgency(a)
		if err != nil {
			return &Error{Status: 422, msg: err.Error(), Body: map[string]any{"errors": map[string][]string{"geometry": {err.Error()}}}}
		}
		if ag.OrganizationID == 0 {
			ag.OrganizationID = s.orgID
		}
		parsed[a.ID] = ag
	}
	s.mu.Lock()
	s.agencies = parsed
	s.mu.Unlock()
	return nil
}

// Agencies returns the service areas, by id.
func (s *Server) Agencies() []Agency {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Agency, 0, len(s.agencies))
	for _, a := range s.agencies {
		out = append(out, a.Agency)
	}
	slices.SortFunc(out, func(a, b Agency) int { return int(a.ID - b.ID) })
	return out
}
