package cityworks

import (
	"bytes"
	"context"
	"encoding/json"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"path"
	"slices"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// ---- attachments (Ams/Attachments/*) ----

// Upload is a file to attach. Filename is also our dedupe key (e.g. "scf-<mediaId>.jpg"):
// uploads are slow and not idempotent, and a client timeout often comes after the server
// stored the file, so the client looks for an attachment of that name before uploading.
type Upload struct {
	Filename    string
	ContentType string // default application/octet-stream
	Content     []byte
	Comments    string
}

// Download is a downloaded attachment.
type Download struct {
	Content     []byte
	ContentType string
	Filename    string // from Content-Disposition, when the server sends one
}

// AddRequestAttachment uploads a file to a service request (multipart/form-data parts token,
// data, file) and returns the attachment; an existing attachment of the same Filename is
// returned instead of uploading again.
func (c *Client) AddRequestAttachment(ctx context.Context, requestID int, up Upload) (*Attachment, error) {
	const op = "upload request attachment"
	if err := checkUpload(op, up); err != nil {
		return nil, err
	}
	existing, err := c.RequestAttachments(ctx, requestID)
	if err != nil {
		return nil, err
	}
	if a := FindAttachment(existing, up.Filename); a != nil {
		return a, nil
	}
	data := struct {
		RequestId int
		Comments  string `json:",omitempty"`
		Filename  string
	}{requestID, up.Comments, up.Filename}
	return c.upload(ctx, op, "Ams/Attachments/AddRequestAttachment", &data, up)
}

// AddWorkOrderAttachment uploads a file to a work order, with the same dedupe by Filename.
func (c *Client) AddWorkOrderAttachment(ctx context.Context, wo *WorkOrder, up Upload) (*Attachment, error) {
	const op = "upload work order attachment"
	if wo == nil || wo.WorkOrderId == "" {
		return nil, invalidArgument(op, "work order with WorkOrderId required")
	}
	if err := checkUpload(op, up); err != nil {
		return nil, err
	}
	existing, err := c.WorkOrderAttachments(ctx, wo)
	if err != nil {
		return nil, err
	}
	if a := FindAttachment(existing, up.Filename); a != nil {
		return a, nil
	}
	data := struct {
		WorkOrderId  string
		WorkOrderSid int    `json:",omitempty"`
		Comments     string `json:",omitempty"`
		Filename     string
	}{string(wo.WorkOrderId), wo.WorkOrderSid, up.Comments, up.Filename}
	return c.upload(ctx, op, "Ams/Attachments/AddWorkOrderAttachment", &data, up)
}

// RequestAttachments lists the attachments of service requests.
func (c *Client) RequestAttachments(ctx context.Context, requestIDs ...int) ([]Attachment, error) {
	var out []Attachment
	for batch := range slices.Chunk(requestIDs, batchSize) {
		var page []Attachment
		if _, err := c.call(ctx, rpc{op: "list request attachments", path: "Ams/Attachments/RequestAttachments",
			data: map[string][]int{"RequestIds": batch}}, &page); err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	return out, nil
}

// WorkOrderAttachments lists the attachments of work orders.
func (c *Client) WorkOrderAttachments(ctx context.Context, wos ...*WorkOrder) ([]Attachment, error) {
	var out []Attachment
	for batch := range slices.Chunk(wos, batchSize) {
		in := struct {
			WorkOrderIds  []string
			WorkOrderSids []int `json:",omitempty"`
		}{}
		for _, wo := range batch {
			in.WorkOrderIds = append(in.WorkOrderIds, string(wo.WorkOrderId))
			if wo.WorkOrderSid != 0 {
				in.WorkOrderSids = append(in.WorkOrderSids, wo.WorkOrderSid)
			}
		}
		var page []Attachment
		if _, err := c.call(ctx, rpc{op: "list work order attachments", path: "Ams/Attachments/WorkOrderAttachments",
			data: &in}, &page); err != nil {
			return nil, err
		}
		out = append(out, page...)
	}
	return out, nil
}

// DownloadRequestAttachment fetches an attachment's bytes.
func (c *Client) DownloadRequestAttachment(ctx context.Context, attachmentID int) (*Download, error) {
	return c.download(ctx, "download request attachment", "Ams/Attachments/DownloadRequestAttachment", attachmentID)
}

// DownloadWorkOrderAttachment fetches an attachment's bytes.
func (c *Client) DownloadWorkOrderAttachment(ctx context.Context, attachmentID int) (*Download, error) {
	return c.download(ctx, "download work order attachment", "Ams/Attachments/DownloadWorkOrderAttachment", attachmentID)
}

// FindAttachment returns the attachment stored under filename (compared without directory and
// case, since servers store the name as a path on Windows), or nil.
func FindAttachment(list []Attachment, filename string) *Attachment {
	want := strings.ToLower(baseName(filename))
	for i := range list {
		if strings.ToLower(baseName(list[i].Attachment)) == want {
			return &list[i]
		}
	}
	return nil
}

func baseName(p string) string { return path.Base(strings.ReplaceAll(p, `\`, "/")) }

func checkUpload(op string, up Upload) error {
	switch {
	case strings.TrimSpace(up.Filename) == "" || baseName(up.Filename) != up.Filename:
		return invalidArgument(op, "Filename must be a plain file name")
	case len(up.Content) == 0:
		return invalidArgument(op, "empty file")
	}
	return nil
}

// upload posts the multipart form and decodes the Attachment. A timeout after the server
// stored the file is retryable: the retry finds it by Filename.
func (c *Client) upload(ctx context.Context, op, path string, data any, up Upload) (*Attachment, error) {
	payload, err := c.encodeData(op, data)
	if err != nil {
		return nil, err
	}
	ct := up.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	build := func(tok string) (string, []byte, error) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		if err := mw.WriteField("token", tok); err != nil {
			return "", nil, err
		}
		if err := mw.WriteField("data", string(payload)); err != nil {
			return "", nil, err
		}
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": "file", "filename": up.Filename}))
		h.Set("Content-Type", ct)
		w, err := mw.CreatePart(h)
		if err != nil {
			return "", nil, err
		}
		if _, err := w.Write(up.Content); err != nil {
			return "", nil, err
		}
		if err := mw.Close(); err != nil {
			return "", nil, err
		}
		return mw.FormDataContentType(), b.Bytes(), nil
	}
	resp, env, err := c.exchange(ctx, op, path, build, c.upTimeout, maxResponseBody, c.decodeEnvelope)
	if err != nil {
		return nil, err
	}
	var out Attachment
	if err := c.decodeValue(op, resp, env, &out); err != nil {
		return nil, err
	}
	if out.Id == 0 {
		return nil, badValue(op, "uploaded attachment has no Id")
	}
	return &out, nil
}

// download fetches raw bytes. Failures still come as an envelope (JSON with a Status), so a
// JSON answer is read as one; anything else is the file.
func (c *Client) download(ctx context.Context, op, path string, attachmentID int) (*Download, error) {
	payload, err := c.encodeData(op, map[string]int{"AttachmentId": attachmentID})
	if err != nil {
		return nil, err
	}
	build := func(tok string) (string, []byte, error) {
		form := url.Values{"data": {string(payload)}, "token": {tok}}
		return "application/x-www-form-urlencoded", []byte(form.Encode()), nil
	}
	decode := func(op string, resp *response) (*envelope, error) {
		if resp.StatusCode == http.StatusOK && !isEnvelope(resp) {
			if isSessionExpired(resp, nil) {
				return nil, vendorapi.NotJSON(Vendor, op, resp.Response)
			}
			return nil, nil // the file
		}
		return c.decodeEnvelope(op, resp)
	}
	resp, env, err := c.exchange(ctx, op, path, build, c.upTimeout, c.maxDownload, decode)
	if err != nil {
		return nil, err
	}
	if env != nil { // Status 0 with a JSON Value instead of bytes: nothing to download
		return nil, badValue(op, "download answered with an envelope, not a file")
	}
	d := &Download{Content: resp.body, ContentType: resp.Header.Get("Content-Type")}
	if _, params, err := mime.ParseMediaType(resp.Header.Get("Content-Disposition")); err == nil {
		d.Filename = params["filename"]
	}
	return d, nil
}

// isEnvelope reports whether a response is a Cityworks JSON envelope (it has a Status).
func isEnvelope(resp *response) bool {
	if !vendorapi.IsJSON(resp.Response) {
		return false
	}
	var probe struct{ Status *int }
	return json.Unmarshal(resp.body, &probe) == nil && probe.Status != nil
}
