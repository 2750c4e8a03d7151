package app

import (
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/codec"
)

// EnvCodecDisabled lets a production worker or API start without TICKETSYNC_CODEC_KEYS. Without
// it they refuse to: a forgotten key would otherwise put residents' personal data in plaintext
// Temporal history without anyone noticing (docs/security.md).
const EnvCodecDisabled = "TICKETSYNC_CODEC_DISABLED"

// CodecFromEnv reads the payload codec's settings (codec.FromEnv) for the production `worker`
// and `api` commands: keys are required unless TICKETSYNC_CODEC_DISABLED=true, and the
// endpoint's tokens and origins are checked now, so a bad setting stops the start instead of
// the first Temporal Web request. A nil lookup reads the process environment.
func CodecFromEnv(lookup func(string) (string, bool)) (codec.Config, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	cfg, err := codec.FromEnv(lookup)
	if err != nil {
		return cfg, err
	}
	disabled := false
	if v, ok := lookup(EnvCodecDisabled); ok && strings.TrimSpace(v) != "" {
		if disabled, err = strconv.ParseBool(strings.TrimSpace(v)); err != nil {
			return cfg, fmt.Errorf("%s=%q: want true or false", EnvCodecDisabled, v)
		}
	}
	switch {
	case disabled && cfg.Keys.Len() > 0:
		return cfg, fmt.Errorf("%s=true and %s are both set: unset one of them", EnvCodecDisabled, codec.EnvKeys)
	case disabled:
		return cfg, nil
	case cfg.Keys.Len() == 0:
		return cfg, fmt.Errorf("%s is not set: ticketsync encrypts the personal data it puts in Temporal history. "+
			"Set it to \"k1:<base64 of 32 random bytes>\" (e.g. from `openssl rand -base64 32`) on every worker and API, "+
			"or set %s=true to run without encryption (docs/security.md)", codec.EnvKeys, EnvCodecDisabled)
	}
	if len(cfg.Tokens) > 0 {
		if _, err := codec.NewHandler(cfg.Keys, codec.HandlerOptions{Tokens: cfg.Tokens, AllowedOrigins: cfg.AllowedOrigins}); err != nil {
			return cfg, fmt.Errorf("codec endpoint (%s, %s): %w", codec.EnvTokens, codec.EnvOrigins, err)
		}
	}
	return cfg, nil
}

// codecHandler is the API's /codec/ endpoint, or nil when no key or no token is configured
// (Temporal Web then shows encrypted payloads as such).
func (a *App) codecHandler() http.Handler {
	if a.Codec.Keys.Len() == 0 || len(a.Codec.Tokens) == 0 {
		return nil
	}
	h, err := codec.NewHandler(a.Codec.Keys, codec.HandlerOptions{Tokens: a.Codec.Tokens, AllowedOrigins: a.Codec.AllowedOrigins})
	if err != nil {
		// CodecFromEnv and the dev launcher check the settings first; never expected here.
		a.Logger.Error("codec endpoint off", "error", err)
		return nil
	}
	return h
}
