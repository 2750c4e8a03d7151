package vendorapi

import (
	"context"
	"sync"
	"time"
)

// TokenCache keeps a client's access token (OAuth client credentials, a vendor session) between
// calls. Token fetches one when none is valid, and concurrent callers share that one fetch:
// a burst of calls after expiry must not become a burst of logins. Call adds the retry once
// with a fresh token when the vendor refuses one. It is safe for concurrent use.
type TokenCache struct {
	vendor, op string
	now        func() time.Time
	fetch      func(ctx context.Context) (token string, refreshAt time.Time, err error)

	mu        sync.Mutex
	token     string
	refreshAt time.Time // zero: valid until dropped
	// fetching serialises fetches: a one-slot semaphore rather than a mutex, so that a waiting
	// caller can give up when its context ends.
	fetching chan struct{}
}

// NewTokenCache returns an empty cache. fetch obtains a token and says when to stop using it
// (zero: when a call is refused; see RefreshAt); its errors are returned as they are. vendor and
// op name the TransportError of a caller whose context ends while it waits for a fetch.
func NewTokenCache(vendor, op string, now func() time.Time,
	fetch func(ctx context.Context) (token string, refreshAt time.Time, err error)) *TokenCache {
	return &TokenCache{vendor: vendor, op: op, now: now, fetch: fetch, fetching: make(chan struct{}, 1)}
}

// RefreshAt is when to replace a token obtained at start with lifetime ttl: margin before it
// expires, so that no call leaves with a token that expires in flight, but at most a tenth of
// the lifetime early, so that short-lived tokens are still used.
func RefreshAt(start time.Time, ttl, margin time.Duration) time.Time {
	return start.Add(ttl - min(margin, ttl/10))
}

// Token returns the cached token, or fetches one.
func (c *TokenCache) Token(ctx context.Context) (string, error) {
	if tok := c.Cached(); tok != "" {
		return tok, nil
	}
	select {
	case c.fetching <- struct{}{}:
	case <-ctx.Done():
		return "", TransportError(c.vendor, c.op, ctx.Err())
	}
	defer func() { <-c.fetching }()
	if tok := c.Cached(); tok != "" { // fetched by another caller while we waited
		return tok, nil
	}
	tok, refreshAt, err := c.fetch(ctx)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.token, c.refreshAt = tok, refreshAt
	c.mu.Unlock()
	return tok, nil
}

// Call runs call with a token. When call reports that the vendor refused the token (a 401, an
// expired session: vendors end tokens before their stated lifetime), Call drops it and runs call
// exactly once more with a fresh one; the second answer stands whatever it is, because a token
// refused right after it was issued means broken credentials, which no retry fixes. Call
// returns call's error, or the error of getting a token.
func (c *TokenCache) Call(ctx context.Context, call func(token string) (refused bool, err error)) error {
	for attempt := 0; ; attempt++ {
		tok, err := c.Token(ctx)
		if err != nil {
			return err
		}
		refused, err := call(tok)
		if refused && attempt == 0 {
			c.Drop(tok)
			continue
		}
		return err
	}
}

// Cached returns the cached token while it is valid, else "" (without fetching).
func (c *TokenCache) Cached() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" && (c.refreshAt.IsZero() || c.now().Before(c.refreshAt)) {
		return c.token
	}
	return ""
}

// Drop forgets tok (refused by the vendor) unless another caller already replaced it.
func (c *TokenCache) Drop(tok string) {
	c.mu.Lock()
	if c.token == tok {
		c.token = ""
	}
	c.mu.Unlock()
}

// Clear forgets the token, so that the next Token fetches (e.g. to check credentials now).
func (c *TokenCache) Clear() {
	c.mu.Lock()
	c.token = ""
	c.mu.Unlock()
}
