package sim

import (
	"cmp"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/simkit"
)

// Page sizes of the contract.
const (
	defaultPerPage    = 20
	maxPerPage        = 100
	maxPerPageDetails = 20
)

var defaultStatuses = []string{StatusOpen, StatusAcknowledged, StatusClosed}

func (s *Server) route(req *request, op string) {
	m := req.r.Method
	parts := strings.Split(strings.Trim(req.path, "/"), "/")
	allow := func(want string) bool {
		if m == want {
			return true
		}
		req.w.Header().Set("Allow", want)
		writeErr(req.w, errMessage(http.StatusMethodNotAllowed, "Method Not Allowed"))
		return false
	}
	switch op {
	case "list_issues":
		if allow(http.MethodGet) {
			s.apiList(req)
		}
	case "create_issue":
		s.apiCreate(req)
	case "report_form":
		if allow(http.MethodGet) {
			s.apiReportForm(req)
		}
	case "get_issue":
		if allow(http.MethodGet) {
			s.apiGet(req, parts[1])
		}
	case "list_comments":
		if allow(http.MethodGet) {
			s.apiComments(req, parts[1])
		}
	case "add_comment":
		s.apiAddComment(req, parts[1])
	case ActionClose, ActionOpen, ActionAcknowledge:
		if allow(http.MethodPost) {
			s.apiTransition(req, parts[1], op)
		}
	case "get_request_type":
		if allow(http.MethodGet) {
			s.apiRequestType(req, parts[1])
		}
	case "upsert_cityworks_request_type":
		if allow(http.MethodPut) {
			s.apiUpsertCityworks(req, parts[3])
		}
	default:
		writeErr(req.w, errMessage(http.StatusNotFound, "Not Found"))
	}
}

// viewLocked is how req's caller sees things.
func (s *Server) viewLocked(req *request, details bool) view {
	return view{base: req.base, caller: req.caller, details: details, loc: s.opts.Location,
		org: s.opts.OrganizationName, rtypes: s.rtypes}
}

// visibleLocked returns the issue if req may see it: published, and private ones only in
// the organization scope.
func (s *Server) visibleLocked(req *request, rawID string) (*Issue, *Error) {
	id, err := strconv.ParseInt(rawID, 10, 64)
	is := s.issues[id]
	if err != nil || is == nil || is.Pending || (is.Private && !req.scoped) {
		return nil, errMessage(http.StatusNotFound, "Not Found")
	}
	return is, nil
}

// ---- GET /issues ----

func (s *Server) apiList(req *request) {
	q := req.r.URL.Query()
	details := q.Get("details") == "true"
	page := atoiDefault(q.Get("page"), 1)
	perPage := atoiDefault(q.Get("per_page"), defaultPerPage)
	perPage = min(perPage, maxPerPage)
	if details {
		perPage = min(perPage, maxPerPageDetails)
	}
	statuses := defaultStatuses
	if v := q.Get("status"); v != "" {
		statuses = nil
		for _, st := range strings.Split(v, ",") {
			st = strings.TrimSpace(st)
			if st != "" {
				statuses = append(statuses, strings.ToUpper(st[:1])+strings.ToLower(st[1:]))
			}
		}
	}
	var bounds [4]time.Time // after, before, updated_at_after, updated_at_before
	for i, k := range []string{"after", "before", "updated_at_after", "updated_at_before"} {
		if v := q.Get(k); v != "" {
			t, ok := parseTime(v)
			if !ok {
				writeErr(req.w, errFields(k, "is not a valid time (YYYY-MM-DDTHH:MM:SSZ)"))
				return
			}
			bounds[i] = t
		}
	}
	var rtypes []int64
	for _, v := range strings.Split(q.Get("request_types"), ",") {
		if n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil {
			rtypes = append(rtypes, n)
		}
	}
	var assignee int64 = -1
	if n, err := strconv.ParseInt(q.Get("assigned"), 10, 64); err == nil {
		assignee = n
	}
	if q.Get("assigned_to_me") == "true" && req.caller != nil {
		assignee = req.caller.ID
	}
	search := strings.ToLower(strings.TrimSpace(q.Get("search")))
	box, hasBox := parseBox(q)
	lat, errLat := strconv.ParseFloat(q.Get("lat"), 64)
	lng, errLng := strconv.ParseFloat(q.Get("lng"), 64)
	hasCenter := errLat == nil && errLng == nil

	s.mu.Lock()
	var all []*Issue
	for _, is := range s.issues {
		switch {
		case is.Pending, is.Private && !req.scoped, !slices.Contains(statuses, is.Status),
			!bounds[0].IsZero() && is.CreatedAt.Before(bounds[0]),
			!bounds[1].IsZero() && !is.CreatedAt.Before(bounds[1]),
			!bounds[2].IsZero() && is.UpdatedAt.Before(bounds[2]),
			!bounds[3].IsZero() && !is.UpdatedAt.Before(bounds[3]),
			len(rtypes) > 0 && !slices.Contains(rtypes, is.RequestTypeID),
			assignee >= 0 && (is.Assignee == nil || is.Assignee.ID != assignee),
			search != "" && !strings.Contains(strings.ToLower(is.Summary+"\n"+is.Description+"\n"+is.Address), search),
			hasBox && !(is.Lat >= box[0] && is.Lng >= box[1] && is.Lat <= box[2] && is.Lng <= box[3]):
			continue
		}
		all = append(all, is)
	}
	key := func(is *Issue) float64 {
		switch q.Get("sort") {
		case "updated_at":
			return float64(is.UpdatedAt.Unix())
		case "rating":
			return float64(is.Rating)
		case "distance":
			if hasCenter {
				return math.Hypot(is.Lat-lat, (is.Lng-lng)*math.Cos(lat*math.Pi/180))
			}
		}
		return float64(is.CreatedAt.Unix())
	}
	desc := !strings.EqualFold(q.Get("sort_direction"), "ASC")
	if q.Get("sort") == "distance" && q.Get("sort_direction") == "" {
		desc = false // nearest first
	}
	slices.SortFunc(all, func(a, b *Issue) int {
		c := cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a.ID, b.ID))
		if desc {
			return -c
		}
		return c
	})
	total := len(all)
	lo := min((page-1)*perPage, total)
	hi := min(lo+perPage, total)
	v := s.viewLocked(req, details)
	issues := make([]wireIssue, 0, hi-lo)
	for _, is := range all[lo:hi] {
		issues = append(issues, v.issue(is))
	}
	s.mu.Unlock()
	s.writeGet(req, map[string]any{
		"errors":   map[string]any{},
		"metadata": map[string]any{"pagination": pagination(req.base, req.r.URL, page, perPage, total)},
		"issues":   issues,
	}, time.Time{})
}

func atoiDefault(s string, def int) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return def
	}
	return n
}

// parseTime reads the filters' YYYY-MM-DDTHH:MM:SSZ (any RFC 3339 time or a date is accepted).
func parseTime(v string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339, "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func parseBox(q map[string][]string) ([4]float64, bool) {
	var box [4]float64
	for i, k := range []string{"min_lat", "min_lng", "max_lat", "max_lng"} {
		vs := q[k]
		if len(vs) == 0 {
			return box, false
		}
		f, err := strconv.ParseFloat(vs[0], 64)
		if err != nil {
			return box, false
		}
		box[i] = f
	}
	return box, true
}

// ---- GET /issues/{id}, comments ----

func (s *Server) apiGet(req *request, rawID string) {
	s.mu.Lock()
	is, e := s.visibleLocked(req, rawID)
	if e != nil {
		s.mu.Unlock()
		writeErr(req.w, e)
		return
	}
	out, mod := s.viewLocked(req, req.r.URL.Query().Get("details") == "true").issue(is), is.UpdatedAt
	s.mu.Unlock()
	s.writeGet(req, out, mod)
}

func (s *Server) apiComments(req *request, rawID string) {
	s.mu.Lock()
	is, e := s.visibleLocked(req, rawID)
	if e != nil {
		s.mu.Unlock()
		writeErr(req.w, e)
		return
	}
	out := s.viewLocked(req, false).comments(is)
	s.mu.Unlock()
	s.writeGet(req, map[string]any{"comments": out}, time.Time{})
}

// ---- POST comments and status changes ----

// postReply is the 201 body of comments and status changes: the comment plus the issue's state.
type postReply struct {
	wireComment
	Issue struct {
		Status string `json:"status"`
		Rating int    `json:"rating"`
	} `json:"issue"`
}

func (s *Server) reply(req *request, is *Issue, c *Comment) postReply {
	r := postReply{wireComment: s.viewLocked(req, false).comment(is, c)}
	r.Issue.Status, r.Issue.Rating = is.Status, is.Rating
	return r
}

func (s *Server) apiAddComment(req *request, rawID string) {
	if req.r.Method != http.MethodPost {
		req.w.Header().Set("Allow", "GET, POST")
		writeErr(req.w, errMessage(http.StatusMethodNotAllowed, "Method Not Allowed"))
		return
	}
	in, e := readInput(req.w, req.r)
	if e != nil {
		writeErr(req.w, e)
		return
	}
	img, e := in.image("image")
	if e != nil {
		writeErr(req.w, e)
		return
	}
	text := in.str("comment")
	if strings.TrimSpace(text) == "" && img == nil {
		writeErr(req.w, errFields("comment", "can't be blank"))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is, e := s.visibleLocked(req, rawID)
	if e != nil {
		writeErr(req.w, e)
		return
	}
	moderate := s.faults.ModerateComments > 0
	if moderate {
		s.faults.ModerateComments--
		s.stats.Moderated++
	}
	c := s.addCommentLocked(is, req.caller.person(), text, img, "api", moderate)
	if p := &is.Posts[len(is.Posts)-1]; in.has("youtube_url") {
		p.YouTubeURL = in.str("youtube_url")
	}
	if moderate {
		simkit.WriteJSON(req.w, http.StatusAccepted, map[string]any{"metadata": map[string]bool{"moderated": true}})
		return
	}
	simkit.WriteJSON(req.w, http.StatusCreated, s.reply(req, is, c))
}

// addCommentLocked stores a comment (pending when moderated) and records the post.
func (s *Server) addCommentLocked(is *Issue, by Person, text string, img *upload, via string, pending bool) *Comment {
	now := s.now()
	s.nextComment++
	c := Comment{ID: s.nextComment, Text: text, Commenter: by, CreatedAt: now, UpdatedAt: now,
		EditableUntil: now.Add(s.opts.EditWindow), Pending: pending}
	p := Post{Kind: "comment", Via: via, By: by, Comment: text, CommentID: c.ID, Moderated: pending, At: now}
	if img != nil {
		c.Image = s.storeMediaLocked(img)
		p.Image, p.ImageType = img.data, img.contentType
	}
	is.Comments = append(is.Comments, c)
	is.Posts = append(is.Posts, p)
	if !pending {
		s.touchLocked(is)
	}
	return &is.Comments[len(is.Comments)-1]
}

func (s *Server) apiTransition(req *request, rawID, action string) {
	in, e := readInput(req.w, req.r)
	if e != nil {
		writeErr(req.w, e)
		return
	}
	img, e := in.image("image")
	if e != nil {
		writeErr(req.w, e)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	is, e := s.visibleLocked(req, rawID)
	if e != nil {
		writeErr(req.w, e)
		return
	}
	c, e := s.transitionLocked(is, action, *req.caller, in.str("comment"), img, "api")
	if e != nil {
		writeErr(req.w, e)
		return
	}
	if in.has("youtube_url") {
		is.Posts[len(is.Posts)-1].YouTubeURL = in.str("youtube_url")
	}
	simkit.WriteJSON(req.w, http.StatusCreated, s.reply(req, is, c))
}

// transitionLocked applies a status change by u with its (required) comment. Any user may
// close an Open issue and reopen a Closed one; only members acknowledge an Open issue or close
// an Acknowledged one. Everything else — including archived issues and no-op changes — is 422.
func (s *Server) transitionLocked(is *Issue, action string, u User, text string, img *upload, via string) (*Comment, *Error) {
	if strings.TrimSpace(text) == "" {
		return nil, errFlat("comment", "can't be blank")
	}
	from := is.Status
	var to string
	switch {
	case action == ActionClose && (from == StatusOpen || from == StatusAcknowledged && u.Member):
		to = StatusClosed
	case action == ActionOpen && from == StatusClosed:
		to = StatusOpen
	case action == ActionAcknowledge && from == StatusOpen && u.Member:
		to = StatusAcknowledged
	default:
		return nil, errFlat("status", "cannot "+action+" an issue that is "+from+forbiddenHint(action, from, u))
	}
	now := s.now()
	is.Status = to
	switch to {
	case StatusClosed:
		is.ClosedAt = now
	case StatusOpen:
		is.ReopenedAt, is.ClosedAt, is.AcknowledgedAt = now, time.Time{}, time.Time{}
	case StatusAcknowledged:
		is.AcknowledgedAt = now
	}
	c := s.addCommentLocked(is, u.person(), text, img, via, false)
	p := &is.Posts[len(is.Posts)-1]
	p.Kind, p.StatusFrom, p.StatusTo = action, from, to
	return c, nil
}

func forbiddenHint(action, from string, u User) string {
	if !u.Member && (action == ActionAcknowledge && from == StatusOpen || action == ActionClose && from == StatusAcknowledged) {
		return " (only organization members may)"
	}
	return ""
}

// ---- report form and request types ----

func (s *Server) apiReportForm(req *request) {
	q := req.r.URL.Query()
	lat, errLat := strconv.ParseFloat(q.Get("lat"), 64)
	lng, errLng := strconv.ParseFloat(q.Get("lng"), 64)
	located := errLat == nil && errLng == nil
	s.mu.Lock()
	v := s.viewLocked(req, false)
	ids := slices.Sorted(maps.Keys(s.rtypes))
	out := []map[string]any{}
	for _, id := range ids {
		rt := s.rtypes[id]
		if !rt.Active {
			continue
		}
		if ag := s.agencies[rt.AgencyID]; rt.AgencyID != 0 && ag != nil && (!located || !ag.contains(lat, lng)) {
			continue
		}
		var org *string
		if !rt.Community {
			org = strOrNil(s.opts.OrganizationName)
		}
		out = append(out, map[string]any{"organization": org, "title": rt.Title, "url": v.api("/request_types/%d", rt.ID)})
	}
	s.mu.Unlock()
	s.writeGet(req, map[string]any{"request_types": out}, time.Time{})
}

func (s *Server) apiRequestType(req *request, rawID string) {
	id, _ := strconv.ParseInt(rawID, 10, 64)
	s.mu.Lock()
	rt := s.rtypes[id]
	if rt == nil {
		s.mu.Unlock()
		writeErr(req.w, errMessage(http.StatusNotFound, "Not Found"))
		return
	}
	out := s.viewLocked(req, false).requestType(rt)
	s.mu.Unlock()
	s.writeGet(req, out, time.Time{})
}
