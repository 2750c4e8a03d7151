package config

import (
	"strings"
	"testing"
)

// Cubu's token endpoint follows the rule of every vendor URL: https, or http on loopback
// (simulators and tests), where `ticketsync dev` and the e2e tests run it.
func TestCubuTokenURLLoopback(t *testing.T) {
	for url, ok := range map[string]bool{
		"https://login.microsoftonline.com/t/oauth2/v2.0/token": true,
		"http://127.0.0.1:9123/t/oauth2/v2.0/token":             true,
		"http://localhost:9123/t/oauth2/v2.0/token":             true,
		"http://[::1]:9123/t/oauth2/v2.0/token":                 true,
		"http://login.example/t/oauth2/v2.0/token":              false,
		"ftp://127.0.0.1/t":                                     false,
	} {
		f := validFile()
		f.Connections[2].RequestSystem.S2S.TokenURL = url
		err := f.Validate()
		bad := err != nil && strings.Contains(err.Error(), "s2s.tokenUrl")
		if bad == ok {
			t.Errorf("%s: %v", url, err)
		}
	}
}
