package codec

import (
	"html/template"
	"net/http"
	"strings"
	"time"
)

// sessionLifetime bounds how long a signed-in browser may decode before signing in again.
const sessionLifetime = 12 * time.Hour

// maxLoginBody bounds the login form (one token field).
const maxLoginBody = 4 << 10

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>ticketsync codec sign-in</title>
<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem}
input{font:inherit;width:100%;padding:.4rem;box-sizing:border-box}button{font:inherit;margin-top:.6rem;padding:.4rem 1rem}
.err{color:#a00}.ok{color:#060}</style></head><body>
<h1>ticketsync codec</h1>
{{if .OK}}<p class="ok">Signed in for {{.Hours}} hours. Temporal Web can now decrypt ticket payloads in this browser
(its codec setting must have “include cross-origin credentials” on).</p>
{{else}}<p>Temporal Web shows ticket data encrypted until this browser is signed in to the codec endpoint.
Enter a codec token (one of <code>TICKETSYNC_CODEC_TOKENS</code>).</p>
{{if .Error}}<p class="err">{{.Error}}</p>{{end}}
<form method="post"><label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button type="submit">Sign in</button></form>{{end}}
</body></html>`))

type loginView struct {
	OK    bool
	Hours int
	Error string
}

// login serves the sign-in form (GET) and checks it (POST). The cookie is HttpOnly (no script
// reads it), SameSite=Strict (only pages of the same site — Temporal Web on the same host —
// make the browser send it), scoped to the endpoint's prefix, and Secure over TLS.
func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	render := func(status int, v loginView) {
		v.Hours = int(sessionLifetime / time.Hour)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("X-Frame-Options", "DENY")
		w.WriteHeader(status)
		_ = loginPage.Execute(w, v)
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		render(http.StatusOK, loginView{})
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "GET, POST")
		problem(w, http.StatusMethodNotAllowed, "Method not allowed", "use GET or POST")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginBody)
	if err := r.ParseForm(); err != nil {
		render(http.StatusBadRequest, loginView{Error: "The form could not be read."})
		return
	}
	token := strings.TrimSpace(r.PostForm.Get("token"))
	if !matches(token, h.tokens) {
		render(http.StatusUnauthorized, loginView{Error: "That token is not accepted."})
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/login")
	if path == "" {
		path = "/"
	}
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    sessionValue(token),
		Path:     path,
		MaxAge:   int(sessionLifetime / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	render(http.StatusOK, loginView{OK: true})
}
