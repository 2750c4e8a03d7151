package sim

import (
	"mime"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Comments and attachments of service requests and work orders.

func registerActivities() {
	register("Ams", "Comment/Add", (*Server).apiAddComment)
	register("Ams", "Comment/ByActivitySids", (*Server).apiCommentsByActivity)
	register("Ams", "Attachments/AddRequestAttachment", (*Server).apiAddRequestAttachment, "uploads")
	register("Ams", "Attachments/AddWorkOrderAttachment", (*Server).apiAddWorkOrderAttachment, "uploads")
	register("Ams", "Attachments/RequestAttachments", (*Server).apiRequestAttachments)
	register("Ams", "Attachments/WorkOrderAttachments", (*Server).apiWorkOrderAttachments)
	register("Ams", "Attachments/DownloadRequestAttachment", (*Server).apiDownloadRequestAttachment)
	register("Ams", "Attachments/DownloadWorkOrderAttachment", (*Server).apiDownloadWorkOrderAttachment)
}

// staffSid is AuthorSid of comments and attachments made through /_sim; API users get apiSid.
const (
	staffSid = 7
	apiSid   = 101
)

func (s *Server) addCommentLocked(activityType, sid int, activityID, text, author string) *Comment {
	s.st.NextComment++
	authorSid := apiSid
	if author == "" {
		author, authorSid = "Cityworks Staff", staffSid
	}
	now := s.now()
	c := &Comment{CommentId: s.st.NextComment, ActivityType: activityType, ActivitySid: sid, ActivityId: activityID,
		AuthorName: author, AuthorSid: authorSid, Comments: text, DateCreated: now, LastModified: now,
		LastModifiedByName: author}
	s.st.Comments = append(s.st.Comments, c)
	return c
}

// activityLocked resolves an activity to its sid and id (ActivitySid = RequestId for
// requests, WorkOrderSid for work orders).
func (s *Server) activityLocked(activityType, sid int) (string, bool) {
	switch activityType {
	case ActivityRequest:
		_, ok := s.st.Requests[sid]
		return itoa(sid), ok
	case ActivityWorkOrder:
		if wo := s.findWorkOrderLocked("", sid); wo != nil {
			return wo.WorkOrderId, true
		}
	}
	return "", false
}

func (s *Server) apiAddComment(c *call) (reply, *apiError) {
	var in struct {
		ActivityType int
		ActivitySid  int
		Comments     string
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	if (in.ActivityType != ActivityRequest && in.ActivityType != ActivityWorkOrder) || in.ActivitySid <= 0 {
		return reply{}, &apiError{status: 1, code: codeInvalidActivityID, name: "InvalidActivityId",
			text: "ActivityType must be 1 or 2 and ActivitySid positive"}
	}
	if strings.TrimSpace(in.Comments) == "" {
		return reply{}, &apiError{status: 1, code: codeMissingComments, name: "MissingComments", text: "Comments are required"}
	}
	id, ok := s.activityLocked(in.ActivityType, in.ActivitySid)
	if !ok {
		return reply{}, fail(codeItemNotFound, "Activity %d of type %d not found", in.ActivitySid, in.ActivityType)
	}
	return reply{value: s.addCommentLocked(in.ActivityType, in.ActivitySid, id, in.Comments, c.login)}, nil
}

// apiCommentsByActivity returns {"<sid>": [CommentRecord…]} for the activities that exist.
func (s *Server) apiCommentsByActivity(c *call) (reply, *apiError) {
	var in struct {
		ActivityType int
		ActivitySids intList
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	if len(in.ActivitySids) > s.opts.MaxBatch {
		return reply{}, fail(codeInvalidField, "ActivitySids: at most %d ids per call", s.opts.MaxBatch)
	}
	out := map[string][]Comment{}
	for _, sid := range in.ActivitySids {
		if _, ok := s.activityLocked(in.ActivityType, sid); ok {
			cs := s.st.comments(in.ActivityType, sid)
			if cs == nil {
				cs = []Comment{}
			}
			out[strconv.Itoa(sid)] = cs
		}
	}
	return reply{value: out}, nil
}

// addAttachmentLocked stores a file. Uploads are not idempotent: the same name twice is two
// attachments.
func (s *Server) addAttachmentLocked(a Attachment, f *filePart, filename, author string) (*Attachment, *apiError) {
	if f == nil || len(f.content) == 0 {
		return nil, fail(codeInvalidField, "a file part is required")
	}
	name := filename
	if name == "" {
		name = f.name
	}
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	if name == "" || name == "." || name == "/" {
		return nil, fail(codeInvalidField, "Filename is required")
	}
	s.st.NextAttach++
	a.Id, a.Attachment, a.Title = s.st.NextAttach, name, name
	a.AttachmentType, a.DateTimeAttached = 0, s.now()
	a.AttachedBy, a.AttachedBySid = author, apiSid
	if author == "" {
		a.AttachedBy, a.AttachedBySid = "Cityworks Staff", staffSid
	}
	a.ContentType = f.contentType
	if a.ContentType == "" || a.ContentType == "application/octet-stream" {
		if t := mime.TypeByExtension(path.Ext(name)); t != "" {
			a.ContentType = t
		}
	}
	a.Content = slices.Clone(f.content)
	s.st.Attachments = append(s.st.Attachments, &a)
	s.stats.Uploads++
	return &a, nil
}

func (s *Server) apiAddRequestAttachment(c *call) (reply, *apiError) {
	var in struct {
		RequestId int
		Comments  string
		Filename  string
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	if _, ok := s.st.Requests[in.RequestId]; !ok {
		return reply{}, fail(codeItemNotFound, "Request %d not found", in.RequestId)
	}
	a, e := s.addAttachmentLocked(Attachment{RequestId: in.RequestId, Comments: in.Comments}, c.file, in.Filename, c.login)
	if e != nil {
		return reply{}, e
	}
	return reply{value: a}, nil
}

func (s *Server) apiAddWorkOrderAttachment(c *call) (reply, *apiError) {
	var in struct {
		WorkOrderId  flexStr
		WorkOrderSid int
		TaskId       int
		Comments     string
		Filename     string
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	wo := s.findWorkOrderLocked(string(in.WorkOrderId), in.WorkOrderSid)
	if wo == nil {
		return reply{}, fail(codeItemNotFound, "Work order %s not found", in.WorkOrderId)
	}
	a, e := s.addAttachmentLocked(Attachment{WorkOrderId: wo.WorkOrderId, WorkOrderSid: wo.WorkOrderSid, Comments: in.Comments},
		c.file, in.Filename, c.login)
	if e != nil {
		return reply{}, e
	}
	return reply{value: a}, nil
}

func (s *Server) apiRequestAttachments(c *call) (reply, *apiError) {
	var in struct{ RequestIds intList }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	out := []*Attachment{}
	for _, a := range s.st.Attachments {
		if a.RequestId != 0 && slices.Contains(in.RequestIds, a.RequestId) {
			out = append(out, a)
		}
	}
	return reply{value: out}, nil
}

func (s *Server) apiWorkOrderAttachments(c *call) (reply, *apiError) {
	var in struct {
		WorkOrderIds  strList
		WorkOrderSids intList
	}
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	out := []*Attachment{}
	for _, a := range s.st.Attachments {
		if a.WorkOrderId != "" && (slices.Contains(in.WorkOrderIds, a.WorkOrderId) || slices.Contains(in.WorkOrderSids, a.WorkOrderSid)) {
			out = append(out, a)
		}
	}
	return reply{value: out}, nil
}

func (s *Server) apiDownloadRequestAttachment(c *call) (reply, *apiError) {
	return s.download(c, func(a *Attachment) bool { return a.RequestId != 0 })
}

func (s *Server) apiDownloadWorkOrderAttachment(c *call) (reply, *apiError) {
	return s.download(c, func(a *Attachment) bool { return a.WorkOrderId != "" })
}

// download answers the raw bytes (not an envelope); failures are envelopes.
func (s *Server) download(c *call, kind func(*Attachment) bool) (reply, *apiError) {
	var in struct{ AttachmentId int }
	if e := decodeData(c.data, &in); e != nil {
		return reply{}, e
	}
	i := slices.IndexFunc(s.st.Attachments, func(a *Attachment) bool { return a.Id == in.AttachmentId && kind(a) })
	if i < 0 {
		return reply{}, fail(codeItemNotFound, "Attachment %d not found", in.AttachmentId)
	}
	a := *s.st.Attachments[i]
	return reply{rawFile: &a}, nil
}

// writeFile writes a downloaded attachment.
func writeFile(w http.ResponseWriter, a *Attachment) {
	ct := a.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Attachment}))
	w.Header().Set("Content-Length", strconv.Itoa(len(a.Content)))
	w.WriteHeader(http.StatusOK)
	w.Write(a.Content)
}
