package devstack

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ticketsync/ticketsync/codec"
)

// codecFile holds the dev stack's payload key and codec endpoint token in the data dir, so the
// histories written by one run still decrypt in the next (docs/security.md).
const codecFile = "codec-secrets.json"

// devCodec is the dev stack's codec material: "id:<base64>" as in TICKETSYNC_CODEC_KEYS, and
// the token Temporal Web's user types on /codec/login.
type devCodec struct {
	Keys  string `json:"keys"`
	Token string `json:"token"`
}

// loadCodec reads the dev key and token from the data dir, minting (and saving, 0600) missing
// ones; with --ephemeral they live in memory only.
func (s *Stack) loadCodec() (devCodec, error) {
	var dc devCodec
	path := filepath.Join(s.opts.DataDir, codecFile)
	if !s.opts.Ephemeral {
		if data, err := os.ReadFile(path); err == nil {
			if err := json.Unmarshal(data, &dc); err != nil {
				return dc, fmt.Errorf("%s is corrupt: restore it, or delete it together with temporal.db (histories encrypted with its key cannot be read without it)", path)
			}
		}
	}
	minted := false
	if dc.Keys == "" {
		k, err := codec.GenerateKey("dev1")
		if err != nil {
			return dc, err
		}
		dc.Keys, minted = k, true
	}
	if dc.Token == "" {
		tok, err := codec.GenerateToken()
		if err != nil {
			return dc, err
		}
		dc.Token, minted = tok, true
	}
	if !minted || s.opts.Ephemeral {
		return dc, nil
	}
	data, _ := json.MarshalIndent(dc, "", "  ")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return dc, fmt.Errorf("save the dev codec key: %w", err)
	}
	return dc, nil
}

// codecConfig turns the dev material into the App's codec settings; Temporal Web (uiURL) is
// the one browser origin allowed.
func (dc devCodec) codecConfig(uiURL string) (codec.Config, error) {
	keys, err := codec.ParseKeys(dc.Keys)
	if err != nil {
		return codec.Config{}, fmt.Errorf("dev codec key (%s): %w", codecFile, err)
	}
	cfg := codec.Config{Keys: keys, Tokens: []string{dc.Token}}
	if uiURL != "" {
		cfg.AllowedOrigins = []string{uiURL}
	}
	return cfg, nil
}
