package sim

import (
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// authLocked resolves Basic or Bearer credentials; (nil, nil) is an anonymous request.
func (s *Server) authLocked(r *http.Request) (*User, *Error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return nil, nil
	}
	bad := errMessage(http.StatusUnauthorized, "Bad credentials")
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch strings.ToLower(scheme) {
	case "bearer":
		for i := range s.opts.Users {
			if u := &s.opts.Users[i]; u.Token != "" && subtle.ConstantTimeCompare([]byte(u.Token), []byte(cred)) == 1 {
				return u, nil
			}
		}
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(cred)
		if err != nil {
			return nil, bad
		}
		name, pass, _ := strings.Cut(string(raw), ":")
		for i := range s.opts.Users {
			u := &s.opts.Users[i]
			if u.Username != "" && u.Username == name && subtle.ConstantTimeCompare([]byte(u.Password), []byte(pass)) == 1 {
				return u, nil
			}
		}
	}
	return nil, bad
}

// credentialKey is what the rate limit counts against: the user, or the client's address.
func credentialKey(u *User, r *http.Request) string {
	if u != nil {
		return "user:" + strconv.FormatInt(u.ID, 10)
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "ip:" + host
}

// rateLimitLocked applies the sliding one-minute window. A 429 is remembered for the
// blacklist; BlacklistAfter of them within 10 minutes blacklist the credential.
func (s *Server) rateLimitLocked(key string, now time.Time) (retryAfter int, limited bool) {
	if s.opts.DisableRateLimit {
		return 0, false
	}
	win := s.window[key]
	i := 0
	for i < len(win) && !win[i].After(now.Add(-time.Minute)) {
		i++
	}
	win = win[i:]
	if len(win) < s.opts.RateLimit {
		s.window[key] = append(win, now)
		return 0, false
	}
	s.window[key] = win
	wait := int((win[0].Add(time.Minute).Sub(now) + time.Second - 1) / time.Second)
	if s.opts.BlacklistAfter > 0 {
		rej := s.rejects[key]
		j := 0
		for j < len(rej) && !rej[j].After(now.Add(-blacklistWindow)) {
			j++
		}
		rej = append(rej[j:], now)
		s.rejects[key] = rej
		if len(rej) >= s.opts.BlacklistAfter {
			s.blacklisted[key] = now.Add(s.opts.BlacklistFor)
			delete(s.rejects, key)
		}
	}
	return max(wait, 1), true
}
