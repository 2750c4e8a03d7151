package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jmoiron/sqlx"
)

// API key sources (APIKey.Source). The source decides what a start with the
// connections file may do to a key.
const (
	// KeySourceFile: listed in the connections file; revoked at the next start
	// once the file no longer lists it (SyncFileAPIKeys).
	KeySourceFile = "file"
	// KeySourceCLI: minted by an operator (`ticketsync tenants keys create`);
	// works until an operator revokes it, whatever the file says.
	KeySourceCLI = "cli"
	// KeySourceLegacy: recorded before sources were tracked. Kept until revoked;
	// becomes KeySourceFile as soon as the connections file lists it.
	KeySourceLegacy = "legacy"
)

// Who revoked a key (APIKey.RevokedBy).
const (
	RevokedByOperator = "operator" // RevokeAPIKey; permanent
	RevokedByFile     = "file"     // removed from the connections file; listing it again restores it
)

// APIKeyPrefix starts every key NewAPIKey mints, so a leaked key is
// recognisable (to secret scanners and to whoever finds it in a log).
const APIKeyPrefix = "tsk_"

// APIKeyBytes is the randomness of a minted key.
const APIKeyBytes = 32

// keyIDPrefix and keyIDHexLen shape APIKey.ID: "key_" + the first 12 hex
// digits of the key's SHA-256. minKeyIDHex is the shortest id prefix
// RevokeAPIKey accepts (like an abbreviated git hash).
const (
	keyIDPrefix = "key_"
	keyIDHexLen = 12
	minKeyIDHex = 6
)

// ErrRevoked is returned (wrapped) for a key an operator revoked: such a key
// can be neither used nor added again. TenantByAPIKey wraps it together with
// ErrNotFound, so callers that only know ErrNotFound answer 401 as before.
var ErrRevoked = errors.New("api key revoked")

// ErrAmbiguous is returned (wrapped) when a key id prefix matches several keys.
var ErrAmbiguous = errors.New("ambiguous")

// NewAPIKey mints a key for the CLI: "tsk_" + unpadded base64url of
// APIKeyBytes (32) random bytes, 47 characters. Store it with AddAPIKey, or
// use MintAPIKey, which does both.
func NewAPIKey() string {
	b := make([]byte, APIKeyBytes)
	_, _ = rand.Read(b) // never fails (crypto/rand aborts the process instead)
	return APIKeyPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// HashAPIKey returns the lowercase hex SHA-256 of the key with surrounding
// whitespace removed: the only form of an API key that is stored. Trimming
// here means whitespace around a key in the connections file or in the
// Authorization header never matters. A fast hash is enough because keys are
// long random secrets, and it keeps the lookup a single indexed equality.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(strings.TrimSpace(key)))
	return hex.EncodeToString(sum[:])
}

// APIKeyID names a key without its secret: "key_" + the first 12 hex digits
// of HashAPIKey. Operators see it in ListAPIKeys and pass it (or any prefix
// of at least 6 hex digits) to RevokeAPIKey; whoever holds the key can
// compute it, so "which key is this?" needs no secret to travel.
func APIKeyID(key string) string { return idOfHash(HashAPIKey(key)) }

func idOfHash(hash string) string { return keyIDPrefix + hash[:keyIDHexLen] }

// APIKey describes a stored key, never its secret.
type APIKey struct {
	ID        string     `json:"id"` // see APIKeyID
	Tenant    string     `json:"tenant"`
	Source    string     `json:"source"` // KeySourceFile, KeySourceCLI or KeySourceLegacy
	Last4     string     `json:"last4"`  // last 4 characters; "" for keys under 16 characters and legacy keys
	CreatedAt time.Time  `json:"createdAt"`
	RevokedAt *time.Time `json:"revokedAt,omitempty"`
	RevokedBy string     `json:"revokedBy,omitempty"` // RevokedByOperator or RevokedByFile
}

// Active reports whether the key authenticates.
func (k APIKey) Active() bool { return k.RevokedAt == nil }

type apiKeyRow struct {
	Hash      string       `db:"key_hash"`
	Tenant    string       `db:"tenant_id"`
	Source    string       `db:"source"`
	Last4     string       `db:"last4"`
	CreatedAt time.Time    `db:"created_at"`
	RevokedAt sql.NullTime `db:"revoked_at"`
	RevokedBy string       `db:"revoked_by"`
}

func (r apiKeyRow) key() APIKey {
	return APIKey{ID: idOfHash(r.Hash), Tenant: r.Tenant, Source: r.Source, Last4: r.Last4,
		CreatedAt: r.CreatedAt.UTC(), RevokedAt: fromNull(r.RevokedAt), RevokedBy: r.RevokedBy}
}

const apiKeyColumns = `key_hash, tenant_id, source, last4, created_at, revoked_at, revoked_by`

// last4 shows the end of a key only when the key is long enough for four
// characters to reveal little; short keys (test and dev keys) show nothing.
func last4(key string) string {
	r := []rune(key)
	if len(r) < 16 {
		return ""
	}
	return string(r[len(r)-4:])
}

// AddAPIKey registers an operator-minted key (KeySourceCLI) for the tenant,
// storing only its hash; surrounding whitespace is ignored. Adding the same
// key to the same tenant again is a no-op; a key of another tenant is
// ErrConflict; a key an operator revoked is ErrRevoked; an unknown tenant is
// ErrNotFound. Keys from the connections file go through SyncFileAPIKeys.
func (s *Store) AddAPIKey(ctx context.Context, tenantID, plaintextKey string) error {
	_, _, err := s.addAPIKey(ctx, s.db, tenantID, plaintextKey, KeySourceCLI)
	if err != nil {
		return fmt.Errorf("store: add api key for tenant %s: %w", tenantID, err)
	}
	return nil
}

// MintAPIKey creates a key for the tenant (NewAPIKey, KeySourceCLI) and
// returns it with its description. The plaintext is returned once and never
// stored. Rotation is MintAPIKey, hand the new key over, then RevokeAPIKey
// the old one.
func (s *Store) MintAPIKey(ctx context.Context, tenantID string) (string, APIKey, error) {
	key := NewAPIKey()
	k, _, err := s.addAPIKey(ctx, s.db, tenantID, key, KeySourceCLI)
	if err != nil {
		return "", APIKey{}, fmt.Errorf("store: mint api key for tenant %s: %w", tenantID, err)
	}
	return key, k, nil
}

// addAPIKey inserts the key or returns the existing row (created=false); a
// key an operator revoked comes back with ErrRevoked. Errors never contain
// the key, only its id.
func (s *Store) addAPIKey(ctx context.Context, db sqlx.ExtContext, tenantID, plaintextKey, source string) (APIKey, bool, error) {
	key := strings.TrimSpace(plaintextKey)
	if err := required("tenant id", tenantID, "api key", key); err != nil {
		return APIKey{}, false, err
	}
	hash := HashAPIKey(key)
	res, err := db.ExecContext(ctx, s.q(`
		INSERT INTO api_keys (key_hash, tenant_id, created_at, source, last4) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (key_hash) DO NOTHING`),
		hash, tenantID, s.nowTS(), source, last4(key))
	if err != nil {
		if isForeignKeyViolation(err) {
			err = fmt.Errorf("tenant %s: %w", tenantID, ErrNotFound)
		}
		return APIKey{}, false, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return APIKey{}, false, err
	}
	k, err := s.keyByHash(ctx, db, hash)
	if err != nil {
		return APIKey{}, false, err
	}
	if k.Tenant != tenantID {
		return APIKey{}, false, fmt.Errorf("%w: key %s belongs to another tenant", ErrConflict, k.ID)
	}
	if n == 0 && k.RevokedBy == RevokedByOperator {
		return k, false, fmt.Errorf("key %s: %w by an operator; mint a new one", k.ID, ErrRevoked)
	}
	return k, n == 1, nil
}

func (s *Store) keyByHash(ctx context.Context, db sqlx.QueryerContext, hash string) (APIKey, error) {
	var r apiKeyRow
	if err := sqlx.GetContext(ctx, db, &r, s.q(`SELECT `+apiKeyColumns+` FROM api_keys WHERE key_hash = ?`), hash); err != nil {
		return APIKey{}, notFound(err)
	}
	return r.key(), nil
}

// TenantByAPIKey returns the id of the tenant owning the key (surrounding
// whitespace ignored), or ErrNotFound. A revoked key is ErrNotFound too, and
// also ErrRevoked for callers that want to say so.
func (s *Store) TenantByAPIKey(ctx context.Context, plaintextKey string) (string, error) {
	if strings.TrimSpace(plaintextKey) == "" {
		return "", fmt.Errorf("store: tenant by api key: %w", ErrNotFound)
	}
	k, err := s.keyByHash(ctx, s.db, HashAPIKey(plaintextKey))
	if err != nil {
		return "", fmt.Errorf("store: tenant by api key: %w", err)
	}
	if !k.Active() {
		return "", fmt.Errorf("store: tenant by api key: key %s: %w (%w)", k.ID, ErrNotFound, ErrRevoked)
	}
	return k.Tenant, nil
}

// ListAPIKeys describes the tenant's keys, revoked ones included, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, tenant string) ([]APIKey, error) {
	if err := requireTenant(tenant); err != nil {
		return nil, fmt.Errorf("store: list api keys: %w", err)
	}
	var rows []apiKeyRow
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT `+apiKeyColumns+` FROM api_keys WHERE tenant_id = ? ORDER BY created_at, key_hash`), tenant); err != nil {
		return nil, fmt.Errorf("store: list api keys of tenant %s: %w", tenant, err)
	}
	out := make([]APIKey, 0, len(rows))
	for _, r := range rows {
		out = append(out, r.key())
	}
	return out, nil
}

// RevokeAPIKey stops a key of the tenant from authenticating, for good (a
// revoked key cannot be added back, even by the connections file). ref is the
// key itself, its id ("key_3f2a9c01b2d4", as ListAPIKeys shows), or a prefix
// of the id with at least 6 hex digits ("key_" optional). Revoking a revoked
// key is a no-op. ErrNotFound when no key of the tenant matches (keys of
// other tenants never match); ErrAmbiguous when an id prefix matches several.
// Returns the key's description after the call.
func (s *Store) RevokeAPIKey(ctx context.Context, tenant, ref string) (APIKey, error) {
	ref = strings.TrimSpace(ref)
	if err := requireTenant(tenant); err != nil {
		return APIKey{}, fmt.Errorf("store: revoke api key: %w", err)
	}
	if ref == "" {
		return APIKey{}, fmt.Errorf("store: revoke api key: %w: give the key or its id", ErrInvalid)
	}
	row, err := s.findTenantKey(ctx, tenant, ref)
	if err != nil {
		return APIKey{}, fmt.Errorf("store: revoke api key of tenant %s: %w", tenant, err)
	}
	k, hash := row.key(), row.Hash
	if k.RevokedBy == RevokedByOperator {
		return k, nil
	}
	// A key the file sync revoked becomes an operator revocation: permanent.
	if _, err := s.db.ExecContext(ctx, s.q(`
		UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?), revoked_by = ?
		WHERE key_hash = ? AND tenant_id = ?`),
		s.nowTS(), RevokedByOperator, hash, tenant); err != nil {
		return APIKey{}, fmt.Errorf("store: revoke api key %s: %w", k.ID, err)
	}
	k, err = s.keyByHash(ctx, s.db, hash)
	if err != nil {
		return APIKey{}, fmt.Errorf("store: revoke api key: %w", err)
	}
	return k, nil
}

// findTenantKey resolves a RevokeAPIKey reference: the key itself first, then
// an id prefix. Messages never echo ref (it may be a secret).
func (s *Store) findTenantKey(ctx context.Context, tenant, ref string) (apiKeyRow, error) {
	var r apiKeyRow
	err := s.db.GetContext(ctx, &r, s.q(`SELECT `+apiKeyColumns+` FROM api_keys WHERE key_hash = ? AND tenant_id = ?`), HashAPIKey(ref), tenant)
	if err == nil {
		return r, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return apiKeyRow{}, err
	}
	idHex := strings.ToLower(ref)
	if len(idHex) >= len(keyIDPrefix) && idHex[:len(keyIDPrefix)] == keyIDPrefix {
		idHex = idHex[len(keyIDPrefix):]
	}
	if !isHex(idHex) || len(idHex) > sha256.Size*2 {
		return apiKeyRow{}, fmt.Errorf("no key matches: %w", ErrNotFound)
	}
	if len(idHex) < minKeyIDHex {
		return apiKeyRow{}, fmt.Errorf("%w: a key id needs at least %d hex digits after %q", ErrInvalid, minKeyIDHex, keyIDPrefix)
	}
	var rows []apiKeyRow
	// idHex is plain hex (checked above), so it holds no LIKE wildcard.
	if err := s.db.SelectContext(ctx, &rows, s.q(`SELECT `+apiKeyColumns+` FROM api_keys
		WHERE tenant_id = ? AND key_hash LIKE ? ORDER BY key_hash LIMIT 5`), tenant, idHex+"%"); err != nil {
		return apiKeyRow{}, err
	}
	switch len(rows) {
	case 0:
		return apiKeyRow{}, fmt.Errorf("no key matches %s%s: %w", keyIDPrefix, idHex, ErrNotFound)
	case 1:
		return rows[0], nil
	}
	ids := make([]string, 0, len(rows))
	for _, r := range rows {
		ids = append(ids, idOfHash(r.Hash))
	}
	return apiKeyRow{}, fmt.Errorf("%w: %s%s matches %s; give more digits", ErrAmbiguous, keyIDPrefix, idHex, strings.Join(ids, ", "))
}

func isHex(s string) bool {
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// FileKeySync reports what SyncFileAPIKeys changed.
type FileKeySync struct {
	Added   []APIKey // recorded for the first time, or restored after being removed from the file
	Revoked []APIKey // file keys the file no longer lists: they stop working now
	// StillRevoked are listed in the file but were revoked by an operator:
	// they do not work. Remove them from the file (the start should say so).
	StillRevoked []APIKey
}

// SyncFileAPIKeys makes the stored file keys match the connections file, in
// one transaction: keys maps every tenant of the file to its apiKeys (whitespace
// around a key ignored). Listed keys are recorded as KeySourceFile (a legacy
// row becomes a file key; a CLI-minted key listed in the file stays CLI-minted);
// file keys no longer listed, for any tenant, are revoked (RevokedByFile) and
// come back if listed again; keys an operator revoked stay revoked. Tenants
// must exist (UpsertTenant first). A key listed for two tenants, or owned by
// another tenant, is ErrConflict and changes nothing.
//
// Every process started with a connections file applies it, so the API and
// the worker must be given the same file.
func (s *Store) SyncFileAPIKeys(ctx context.Context, keys map[string][]string) (FileKeySync, error) {
	var out FileKeySync
	fail := func(err error) (FileKeySync, error) {
		return FileKeySync{}, fmt.Errorf("store: sync api keys from the connections file: %w", err)
	}
	listed := map[string]bool{} // hashes
	for _, tenant := range slices.Sorted(maps.Keys(keys)) {
		if err := requireTenant(tenant); err != nil {
			return fail(err)
		}
		for i, k := range keys[tenant] {
			if strings.TrimSpace(k) == "" {
				return fail(fmt.Errorf("%w: tenant %s: api key %d is empty", ErrInvalid, tenant, i+1))
			}
		}
	}
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback() //nolint:errcheck // no-op after Commit
	now := s.nowTS()
	for _, tenant := range slices.Sorted(maps.Keys(keys)) {
		for _, key := range keys[tenant] {
			hash := HashAPIKey(key)
			if listed[hash] {
				continue
			}
			listed[hash] = true
			k, created, err := s.addAPIKey(ctx, tx, tenant, key, KeySourceFile)
			switch {
			case errors.Is(err, ErrRevoked):
				out.StillRevoked = append(out.StillRevoked, k)
				continue
			case err != nil:
				return fail(fmt.Errorf("tenant %s: %w", tenant, err))
			case created:
				out.Added = append(out.Added, k)
				continue
			}
			restore := k.RevokedBy == RevokedByFile
			if k.Source != KeySourceLegacy && !restore {
				continue
			}
			if _, err := tx.ExecContext(ctx, s.q(`
				UPDATE api_keys SET
					source = CASE WHEN source = ? THEN ? ELSE source END,
					revoked_at = CASE WHEN revoked_by = ? THEN NULL ELSE revoked_at END,
					revoked_by = CASE WHEN revoked_by = ? THEN '' ELSE revoked_by END
				WHERE key_hash = ?`),
				KeySourceLegacy, KeySourceFile, RevokedByFile, RevokedByFile, hash); err != nil {
				return fail(err)
			}
			if restore {
				k, err = s.keyByHash(ctx, tx, hash)
				if err != nil {
					return fail(err)
				}
				out.Added = append(out.Added, k)
			}
		}
	}
	var active []apiKeyRow
	if err := tx.SelectContext(ctx, &active, s.q(`SELECT `+apiKeyColumns+` FROM api_keys
		WHERE source = ? AND revoked_at IS NULL ORDER BY tenant_id, created_at, key_hash`), KeySourceFile); err != nil {
		return fail(err)
	}
	for _, r := range active {
		if listed[r.Hash] {
			continue
		}
		if _, err := tx.ExecContext(ctx, s.q(`UPDATE api_keys SET revoked_at = ?, revoked_by = ? WHERE key_hash = ?`),
			now, RevokedByFile, r.Hash); err != nil {
			return fail(err)
		}
		r.RevokedAt, r.RevokedBy = sql.NullTime{Time: now, Valid: true}, RevokedByFile
		out.Revoked = append(out.Revoked, r.key())
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return out, nil
}
