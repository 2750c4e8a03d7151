package starter

import _ "embed"

// openAPIDocument describes the HTTP API (served at GET /openapi.json).
//
//go:embed openapi.json
var openAPIDocument []byte
