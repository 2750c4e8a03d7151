package store

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
)

func TestNewAPIKeyIs32RandomBytes(t *testing.T) {
	re := regexp.MustCompile(`^tsk_[A-Za-z0-9_-]{43}$`)
	seen := map[string]bool{}
	for range 100 {
		k := NewAPIKey()
		if !re.MatchString(k) {
			t.Fatalf("NewAPIKey() = %q, want tsk_ + 43 base64url characters", k)
		}
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(k, APIKeyPrefix))
		if err != nil || len(raw) != 32 {
			t.Fatalf("%q decodes to %d bytes, %v; want 32", k, len(raw), err)
		}
		if seen[k] {
			t.Fatalf("NewAPIKey repeated %q", k)
		}
		seen[k] = true
	}
	if id := APIKeyID("abc"); id != "key_ba7816bf8f01" {
		t.Errorf("APIKeyID(abc) = %s, want key_ + the first 12 hex digits of its SHA-256", id)
	}
}

func TestMintListAndTrimmedKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		key, k, err := s.MintAPIKey(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(key, APIKeyPrefix) || k.ID != APIKeyID(key) || k.Tenant != "t1" || k.Source != KeySourceCLI ||
			k.Last4 != key[len(key)-4:] || !k.Active() || k.CreatedAt.IsZero() {
			t.Errorf("minted %+v for %s", k, k.ID)
		}
		// Whitespace around a key never matters: not when adding, not when presenting it.
		const fileKey = "  sunrise-portal-key-0123456789\t\n"
		if err := s.AddAPIKey(ctx, "t1", fileKey); err != nil {
			t.Fatal(err)
		}
		for _, presented := range []string{"sunrise-portal-key-0123456789", " sunrise-portal-key-0123456789 ", fileKey} {
			if got, err := s.TenantByAPIKey(ctx, presented); err != nil || got != "t1" {
				t.Errorf("TenantByAPIKey(%q) = %q, %v; want t1", presented, got, err)
			}
		}
		if err := s.AddAPIKey(ctx, "t1", "sunrise-portal-key-0123456789"); err != nil {
			t.Errorf("the trimmed key again should be a no-op: %v", err)
		}
		var stored string
		if err := s.DB().GetContext(ctx, &stored, s.q(`SELECT key_hash FROM api_keys WHERE key_hash = ?`), HashAPIKey("sunrise-portal-key-0123456789")); err != nil {
			t.Errorf("the trimmed key's hash is not what is stored: %v", err)
		}
		if err := s.AddAPIKey(ctx, "t1", "short"); err != nil {
			t.Fatal(err)
		}
		keys, err := s.ListAPIKeys(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 3 {
			t.Fatalf("ListAPIKeys(t1) = %+v, want 3 keys", keys)
		}
		byID := map[string]APIKey{}
		for _, k := range keys {
			byID[k.ID] = k
		}
		if got := byID[APIKeyID("short")]; got.Last4 != "" {
			t.Errorf("a short key must not show its end: %+v", got)
		}
		if got := byID[APIKeyID(fileKey)]; got.Last4 != "6789" {
			t.Errorf("last4 of a trimmed key = %q, want 6789", got.Last4)
		}
		if other, err := s.ListAPIKeys(ctx, "t2"); err != nil || len(other) != 0 {
			t.Errorf("ListAPIKeys(t2) = %+v, %v; want none", other, err)
		}
		if _, _, err := s.MintAPIKey(ctx, "nope"); !errors.Is(err, ErrNotFound) {
			t.Errorf("mint for an unknown tenant: %v, want ErrNotFound", err)
		}
	})
}

func TestRevokeAPIKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		byKey, _, _ := s.MintAPIKey(ctx, "t1")
		byID, _, _ := s.MintAPIKey(ctx, "t1")
		byPrefix, _, _ := s.MintAPIKey(ctx, "t1")
		kept, _, _ := s.MintAPIKey(ctx, "t1")
		other, _, _ := s.MintAPIKey(ctx, "t2")

		for _, ref := range []string{" " + byKey + " ", APIKeyID(byID), strings.ToUpper(APIKeyID(byPrefix)[:4+6])} {
			k, err := s.RevokeAPIKey(ctx, "t1", ref)
			if err != nil {
				t.Fatalf("RevokeAPIKey(%s): %v", ref, err)
			}
			if k.Active() || k.RevokedBy != RevokedByOperator {
				t.Errorf("after revoke: %+v", k)
			}
		}
		for _, key := range []string{byKey, byID, byPrefix} {
			_, err := s.TenantByAPIKey(ctx, key)
			if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrRevoked) {
				t.Errorf("a revoked key authenticates or is not reported as revoked: %v", err)
			}
			if strings.Contains(fmt.Sprint(err), key) {
				t.Errorf("error echoes the key: %v", err)
			}
			if err := s.AddAPIKey(ctx, "t1", key); !errors.Is(err, ErrRevoked) {
				t.Errorf("re-adding a revoked key: %v, want ErrRevoked", err)
			}
		}
		if tn, err := s.TenantByAPIKey(ctx, kept); err != nil || tn != "t1" {
			t.Errorf("an unrelated key stopped working: %q, %v", tn, err)
		}
		// Revoking again is a no-op that keeps the first time.
		first, _ := s.RevokeAPIKey(ctx, "t1", byKey)
		again, err := s.RevokeAPIKey(ctx, "t1", APIKeyID(byKey))
		if err != nil || !again.RevokedAt.Equal(*first.RevokedAt) {
			t.Errorf("second revoke: %+v, %v (first at %v)", again, err, first.RevokedAt)
		}
		// Another tenant's key is invisible.
		for _, ref := range []string{other, APIKeyID(other)} {
			if _, err := s.RevokeAPIKey(ctx, "t1", ref); !errors.Is(err, ErrNotFound) {
				t.Errorf("revoking another tenant's key via %s: %v, want ErrNotFound", APIKeyID(other), err)
			}
		}
		if tn, err := s.TenantByAPIKey(ctx, other); err != nil || tn != "t2" {
			t.Errorf("t2's key after t1's attempts: %q, %v", tn, err)
		}
		for ref, want := range map[string]error{"": ErrInvalid, "key_ab": ErrInvalid, "key_zzzzzzzz": ErrNotFound, "no-such-key": ErrNotFound} {
			if _, err := s.RevokeAPIKey(ctx, "t1", ref); !errors.Is(err, want) {
				t.Errorf("RevokeAPIKey(%q): %v, want %v", ref, err, want)
			}
		}
		keys, _ := s.ListAPIKeys(ctx, "t1")
		active := 0
		for _, k := range keys {
			if k.Active() {
				active++
			}
		}
		if len(keys) != 4 || active != 1 {
			t.Errorf("ListAPIKeys lists %d keys, %d active; want 4 and 1 (revoked keys stay listed)", len(keys), active)
		}
	})
}

// Two keys whose ids share their first 6 hex digits: a 6-digit prefix names neither.
func TestRevokeAPIKeyAmbiguousPrefix(t *testing.T) {
	seen := map[string]string{}
	var a, b string
	for i := 0; a == ""; i++ {
		k := fmt.Sprintf("ambiguous-key-%d", i)
		p := HashAPIKey(k)[:6]
		if prev, ok := seen[p]; ok {
			a, b = prev, k
		}
		seen[p] = k
	}
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		for _, k := range []string{a, b} {
			if err := s.AddAPIKey(ctx, "t1", k); err != nil {
				t.Fatal(err)
			}
		}
		_, err := s.RevokeAPIKey(ctx, "t1", APIKeyID(a)[:4+6])
		if !errors.Is(err, ErrAmbiguous) || !strings.Contains(err.Error(), APIKeyID(a)) || !strings.Contains(err.Error(), APIKeyID(b)) {
			t.Fatalf("ambiguous prefix: %v, want ErrAmbiguous naming both ids", err)
		}
		if _, err := s.RevokeAPIKey(ctx, "t1", APIKeyID(a)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.TenantByAPIKey(ctx, b); err != nil {
			t.Errorf("the other key was revoked too: %v", err)
		}
	})
}

// Keys removed from the connections file stop working at the next start;
// CLI-minted keys stay; operator revocations survive the file.
func TestSyncFileAPIKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		seed(t, s)
		works := func(key, tenant string) bool {
			t.Helper()
			got, err := s.TenantByAPIKey(ctx, key)
			if err != nil && !errors.Is(err, ErrNotFound) {
				t.Fatal(err)
			}
			return err == nil && got == tenant
		}
		// A key recorded before sources were tracked.
		if _, err := s.DB().ExecContext(ctx, s.q(`INSERT INTO api_keys (key_hash, tenant_id, created_at) VALUES (?, ?, ?)`),
			HashAPIKey("legacy-in-file"), "t1", s.nowTS()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.DB().ExecContext(ctx, s.q(`INSERT INTO api_keys (key_hash, tenant_id, created_at) VALUES (?, ?, ?)`),
			HashAPIKey("legacy-elsewhere"), "t2", s.nowTS()); err != nil {
			t.Fatal(err)
		}
		cli, _, err := s.MintAPIKey(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.SyncFileAPIKeys(ctx, map[string][]string{
			"t1": {"t1-file-a", " t1-file-b ", "legacy-in-file", "t1-file-a"},
			"t2": {"t2-file"},
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Added) != 3 || len(res.Revoked) != 0 || len(res.StillRevoked) != 0 {
			t.Errorf("first sync: %+v; want 3 added", res)
		}
		for key, tenant := range map[string]string{"t1-file-a": "t1", "t1-file-b": "t1", "legacy-in-file": "t1", "t2-file": "t2", cli: "t1", "legacy-elsewhere": "t2"} {
			if !works(key, tenant) {
				t.Errorf("after the first sync %s does not authenticate for %s", APIKeyID(key), tenant)
			}
		}
		keys, _ := s.ListAPIKeys(ctx, "t1")
		for _, k := range keys {
			want := KeySourceFile
			if k.ID == APIKeyID(cli) {
				want = KeySourceCLI
			}
			if k.Source != want {
				t.Errorf("%s source = %s, want %s", k.ID, k.Source, want)
			}
		}

		// The operator revokes t1-file-b but leaves it in the file; t1-file-a and the
		// whole of t2 are removed from the file.
		if _, err := s.RevokeAPIKey(ctx, "t1", "t1-file-b"); err != nil {
			t.Fatal(err)
		}
		res, err = s.SyncFileAPIKeys(ctx, map[string][]string{"t1": {"t1-file-b", "legacy-in-file"}})
		if err != nil {
			t.Fatal(err)
		}
		revoked := []string{}
		for _, k := range res.Revoked {
			revoked = append(revoked, k.ID)
			if k.RevokedBy != RevokedByFile || k.Active() {
				t.Errorf("revoked by the sync: %+v", k)
			}
		}
		if strings.Join(revoked, ",") != APIKeyID("t1-file-a")+","+APIKeyID("t2-file") {
			t.Errorf("revoked %v, want t1-file-a and t2-file", revoked)
		}
		if len(res.StillRevoked) != 1 || res.StillRevoked[0].ID != APIKeyID("t1-file-b") || len(res.Added) != 0 {
			t.Errorf("second sync: %+v; want t1-file-b reported as still revoked", res)
		}
		// The CLI-minted key is random and may contain "t2" itself: tenants are named, not guessed.
		tenantOf := map[string]string{"t1-file-a": "t1", "t1-file-b": "t1", "t2-file": "t2", "legacy-in-file": "t1", cli: "t1", "legacy-elsewhere": "t2"}
		for key, want := range map[string]bool{"t1-file-a": false, "t1-file-b": false, "t2-file": false, "legacy-in-file": true, cli: true, "legacy-elsewhere": true} {
			tenant := tenantOf[key]
			if got := works(key, tenant); got != want {
				t.Errorf("after removal from the file, %s works = %v, want %v", APIKeyID(key), got, want)
			}
		}

		// Listing a removed key again restores it; the operator's revocation holds.
		res, err = s.SyncFileAPIKeys(ctx, map[string][]string{"t1": {"t1-file-a", "t1-file-b", "legacy-in-file"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Added) != 1 || res.Added[0].ID != APIKeyID("t1-file-a") || !res.Added[0].Active() {
			t.Errorf("third sync: %+v; want t1-file-a restored", res)
		}
		if !works("t1-file-a", "t1") || works("t1-file-b", "t1") || works("t2-file", "t2") {
			t.Error("after re-listing: t1-file-a must work, t1-file-b and t2-file must not")
		}

		// Refused as a whole: a key of another tenant, an empty tenant or key, an unknown tenant.
		for _, tc := range []struct {
			name string
			keys map[string][]string
			want error
		}{
			{"key of another tenant", map[string][]string{"t1": {"legacy-in-file"}, "t2": {"legacy-elsewhere", "t1-file-a"}}, ErrConflict},
			{"empty tenant", map[string][]string{"": {"k"}}, ErrInvalid},
			{"empty key", map[string][]string{"t1": {"  "}}, ErrInvalid},
			{"unknown tenant", map[string][]string{"t9": {"k9"}}, ErrNotFound},
		} {
			if _, err := s.SyncFileAPIKeys(ctx, tc.keys); !errors.Is(err, tc.want) {
				t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
			}
		}
		if !works("t1-file-a", "t1") || !works("legacy-elsewhere", "t2") {
			t.Error("a refused sync changed keys")
		}
	})
}
