package cityworks

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"
)

// ServiceArea is an agency's service area: one or more polygons in WGS84, without holes.
type ServiceArea struct {
	shape orb.MultiPolygon
}

// Contains reports whether the point (lng, lat) lies inside the area (on the border counts).
func (a ServiceArea) Contains(lng, lat float64) bool {
	return planar.MultiPolygonContains(a.shape, orb.Point{lng, lat})
}

// Bound is the area's bounding box.
func (a ServiceArea) Bound() orb.Bound { return a.shape.Bound() }

// maxGeometryBytes bounds a service-area file (a city boundary is a few hundred KB at most).
const maxGeometryBytes = 16 << 20

// LoadServiceArea reads a GeoJSON Polygon or MultiPolygon (bare, or as the geometry of a
// Feature, or of the single feature of a FeatureCollection) from a file path or an inline
// GeoJSON object. Polygons with holes are refused: SeeClickFix tests points against exterior
// rings only, so a cutout would silently count as inside and the import would take requests
// from an area the agency does not serve.
func LoadServiceArea(src any) (ServiceArea, error) {
	var raw []byte
	switch v := src.(type) {
	case string:
		if v == "" {
			return ServiceArea{}, errors.New("geometry is empty: give a GeoJSON file path or an inline GeoJSON object")
		}
		b, err := readBounded(v)
		if err != nil {
			return ServiceArea{}, err
		}
		raw = b
	case map[string]any:
		b, err := json.Marshal(v)
		if err != nil {
			return ServiceArea{}, fmt.Errorf("inline geometry: %w", err)
		}
		raw = b
	case nil:
		return ServiceArea{}, errors.New("geometry is required: a GeoJSON Polygon without holes (file path or inline object)")
	default:
		return ServiceArea{}, fmt.Errorf("geometry must be a GeoJSON file path or an inline GeoJSON object, not %T", src)
	}
	g, err := parseArea(raw)
	if err != nil {
		return ServiceArea{}, err
	}
	return ServiceArea{shape: g}, nil
}

func readBounded(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("geometry file: %w (relative paths resolve against the working directory)", err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxGeometryBytes+1))
	if err != nil {
		return nil, fmt.Errorf("geometry file %s: %w", path, err)
	}
	if len(b) > maxGeometryBytes {
		return nil, fmt.Errorf("geometry file %s is larger than %d MiB", path, maxGeometryBytes>>20)
	}
	return b, nil
}

// geoObject is the part of GeoJSON (RFC 7946) an area needs. Positions decode into orb.Point
// ([2]float64): an altitude, if present, is dropped.
type geoObject struct {
	Type        string          `json:"type"`
	Coordinates json.RawMessage `json:"coordinates"`
	Geometry    *geoObject      `json:"geometry"`
	Features    []geoObject     `json:"features"`
}

func parseArea(raw []byte) (orb.MultiPolygon, error) {
	var obj geoObject
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, fmt.Errorf("geometry is not GeoJSON: %w", err)
	}
	switch obj.Type {
	case "FeatureCollection":
		if len(obj.Features) != 1 {
			return nil, fmt.Errorf("geometry: a FeatureCollection must hold exactly one feature (the service area), it holds %d", len(obj.Features))
		}
		obj = obj.Features[0]
		if obj.Type != "Feature" {
			return nil, fmt.Errorf("geometry: FeatureCollection member of type %q, want Feature", obj.Type)
		}
		fallthrough
	case "Feature":
		if obj.Geometry == nil {
			return nil, errors.New("geometry: the feature has no geometry")
		}
		obj = *obj.Geometry
	}
	var mp orb.MultiPolygon
	switch obj.Type {
	case "Polygon":
		var p orb.Polygon
		if err := json.Unmarshal(obj.Coordinates, &p); err != nil {
			return nil, fmt.Errorf("geometry: Polygon coordinates: %w", err)
		}
		mp = orb.MultiPolygon{p}
	case "MultiPolygon":
		if err := json.Unmarshal(obj.Coordinates, &mp); err != nil {
			return nil, fmt.Errorf("geometry: MultiPolygon coordinates: %w", err)
		}
	default:
		return nil, fmt.Errorf("geometry: GeoJSON type %q is not an area; want a Polygon or MultiPolygon (bare, as a Feature, or as the one feature of a FeatureCollection)", obj.Type)
	}
	if len(mp) == 0 {
		return nil, errors.New("geometry: no polygon")
	}
	for i, p := range mp {
		if len(p) == 0 || len(p[0]) < 4 || p[0][0] != p[0][len(p[0])-1] {
			return nil, fmt.Errorf("geometry: polygon %d has no closed exterior ring (at least 4 positions)", i+1)
		}
		if holes := len(p) - 1; holes > 0 {
			return nil, fmt.Errorf("geometry: polygon %d has %d hole(s) (interior rings); cutouts are not supported: SeeClickFix and the Cityworks import test points against exterior rings only, so a cutout would count as inside. Split the area into polygons without holes (a MultiPolygon)", i+1, holes)
		}
		for _, pt := range p[0] {
			if pt[0] < -180 || pt[0] > 180 || pt[1] < -90 || pt[1] > 90 {
				return nil, fmt.Errorf("geometry: position [%g, %g] of polygon %d is not WGS84 longitude/latitude (reproject the file to EPSG:4326)", pt[0], pt[1], i+1)
			}
		}
	}
	return mp, nil
}
