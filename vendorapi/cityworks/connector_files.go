package cityworks

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// Files: the request's files (SeeClickFix images) are downloaded from the request system and
// uploaded to the service request or work order, deduped by file name; staff's files that
// carry a "To SCF:" comment are read back through OpenAttachment for the requester.

const (
	// maxFileBytes caps a copied file: SeeClickFix accepts images up to 20 MB.
	maxFileBytes = 20 << 20
	fileTimeout  = 2 * time.Minute
	maxFileHops  = 5
)

// fileFetcher downloads the request's files. They are public URLs of the request system (an
// image URL that redirects to its file store), so no credential is sent; only allowed hosts
// are fetched, so a request cannot make the worker read an internal URL into Cityworks.
type fileFetcher struct {
	client *http.Client
	ua     string
	hosts  []string
}

func newFileFetcher(base *http.Client, ua string, hosts []string) *fileFetcher {
	c := &http.Client{Timeout: fileTimeout}
	if base != nil {
		*c = *base
		c.Timeout = fileTimeout
	}
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= maxFileHops {
			return fmt.Errorf("more than %d redirects", maxFileHops)
		}
		return checkFileURL(req.URL)
	}
	var hs []string
	for _, h := range hosts {
		if h = strings.ToLower(strings.TrimSpace(h)); h != "" && !slices.Contains(hs, h) {
			hs = append(hs, h)
		}
	}
	return &fileFetcher{client: c, ua: cmp.Or(ua, defaultUA), hosts: hs}
}

// checkFileURL allows https anywhere, http only on loopback (simulators).
func checkFileURL(u *url.URL) error {
	if u.Scheme == "https" || (u.Scheme == "http" && vendorapi.IsLoopbackHost(u.Hostname())) {
		return nil
	}
	return fmt.Errorf("refusing %s URL %s: https required", u.Scheme, u.Redacted())
}

type fetched struct {
	data        []byte
	contentType string
}

func (f *fileFetcher) fetch(ctx context.Context, raw string) (*fetched, error) {
	const op = "download request file"
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, invalidArgument(op, fmt.Sprintf("not a URL: %q", raw))
	}
	if err := checkFileURL(u); err != nil {
		return nil, invalidArgument(op, err.Error())
	}
	if !slices.Contains(f.hosts, strings.ToLower(u.Hostname())) {
		return nil, invalidArgument(op, fmt.Sprintf("host %s is not the request system's nor in options.attachmentHosts", u.Hostname()))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, invalidArgument(op, err.Error())
	}
	req.Header.Set("User-Agent", f.ua)
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, vendorapi.TransportError(Vendor, op, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, vendorapi.ClassifyStatus(Vendor, op, resp)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxFileBytes+1))
	if err != nil {
		return nil, vendorapi.TransportError(Vendor, op, err)
	}
	if len(data) > maxFileBytes {
		return nil, &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: http.StatusRequestEntityTooLarge, Code: "file_too_large",
			Message: fmt.Sprintf("larger than %d MiB", maxFileBytes>>20)}
	}
	ct := resp.Header.Get("Content-Type")
	if mt, _, err := mime.ParseMediaType(ct); err == nil {
		ct = mt
	}
	if ct == "" || ct == "application/octet-stream" {
		ct = http.DetectContentType(data)
	}
	return &fetched{data: data, contentType: ct}, nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// stem is the dedupe key of a file: its name without extension, made safe for Cityworks.
func stem(name string) string {
	n := path.Base(strings.ReplaceAll(name, `\`, "/"))
	n = strings.TrimSuffix(n, path.Ext(n))
	n = strings.Trim(unsafeName.ReplaceAllString(n, "-"), "-.")
	if n == "" {
		n = "file"
	}
	return n
}

func extFor(contentType, name string) string {
	switch contentType {
	case "image/jpeg":
		return ".jpg"
	case "image/png":
		return ".png"
	case "image/gif":
		return ".gif"
	case "application/pdf":
		return ".pdf"
	}
	if e := path.Ext(name); e != "" && len(e) <= 5 {
		return strings.ToLower(e)
	}
	return ".bin"
}

func contentTypeOf(name string) string {
	if t := mime.TypeByExtension(strings.ToLower(path.Ext(name))); t != "" {
		if mt, _, err := mime.ParseMediaType(t); err == nil {
			return mt
		}
	}
	return "application/octet-stream"
}

// CopyAttachments copies the request's files to a request or work order (after its create or
// adoption; vendorapi.AttachmentCopier). A file already there (same name stem) is skipped, so a
// retry never uploads twice. A file that can never be copied (refused host, gone, too large) is
// reported as a note; a transient failure fails the call for a retry.
func (c *Connector) CopyAttachments(ctx context.Context, remoteID string, files []vendorapi.Attachment) ([]string, error) {
	rid, err := parseRemoteID("copy attachments", remoteID)
	if err != nil {
		return nil, err
	}
	return c.copyFiles(ctx, rid, files, "Photo from the requester")
}

func (c *Connector) copyFiles(ctx context.Context, rid remoteID, files []vendorapi.Attachment, comment string) ([]string, error) {
	existing, wo, err := c.attachments(ctx, rid)
	if err != nil {
		return nil, err
	}
	var notes []string
	for i, f := range files {
		s := stem(cmp.Or(f.Name, "file-"+strconv.Itoa(i+1)))
		if slices.ContainsFunc(existing, func(a Attachment) bool { return strings.EqualFold(stem(a.Attachment), s) }) {
			continue
		}
		got, err := c.files.fetch(ctx, f.URL)
		if err != nil {
			if isRetryable(err) {
				return notes, err
			}
			notes = append(notes, fmt.Sprintf("attachment %s not copied: %v", s, err))
			continue
		}
		up := Upload{Filename: s + extFor(got.contentType, f.Name), ContentType: got.contentType, Content: got.data, Comments: comment}
		if wo != nil {
			_, err = c.client.AddWorkOrderAttachment(ctx, wo, up)
		} else {
			_, err = c.client.AddRequestAttachment(ctx, rid.sr, up)
		}
		if err != nil {
			if isRetryable(err) {
				return notes, err
			}
			notes = append(notes, fmt.Sprintf("attachment %s not accepted by Cityworks: %v", up.Filename, err))
		}
	}
	return notes, nil
}

// attachments lists a request's or work order's files (and returns the work order).
func (c *Connector) attachments(ctx context.Context, rid remoteID) ([]Attachment, *WorkOrder, error) {
	if rid.wo == "" {
		list, err := c.client.RequestAttachments(ctx, rid.sr)
		return list, nil, err
	}
	wo, err := c.client.WorkOrder(ctx, rid.wo)
	if err != nil {
		return nil, nil, err
	}
	list, err := c.client.WorkOrderAttachments(ctx, wo)
	return list, wo, err
}

// AddAttachment uploads one file (vendorapi.Attachments); a file of the same name is returned
// instead of uploading it again.
func (c *Connector) AddAttachment(ctx context.Context, remoteID string, a vendorapi.Attachment, body io.Reader) (vendorapi.Attachment, error) {
	const op = "add attachment"
	rid, err := parseRemoteID(op, remoteID)
	if err != nil {
		return vendorapi.Attachment{}, err
	}
	data, err := io.ReadAll(io.LimitReader(body, maxFileBytes+1))
	if err != nil {
		return vendorapi.Attachment{}, vendorapi.TransportError(Vendor, op, err)
	}
	if len(data) > maxFileBytes {
		return vendorapi.Attachment{}, invalidArgument(op, fmt.Sprintf("file larger than %d MiB", maxFileBytes>>20))
	}
	ct := cmp.Or(a.ContentType, http.DetectContentType(data))
	up := Upload{Filename: stem(a.Name) + extFor(ct, a.Name), ContentType: ct, Content: data}
	var got *Attachment
	if rid.wo != "" {
		wo, err := c.client.WorkOrder(ctx, rid.wo)
		if err != nil {
			return vendorapi.Attachment{}, err
		}
		got, err = c.client.AddWorkOrderAttachment(ctx, wo, up)
		if err != nil {
			return vendorapi.Attachment{}, err
		}
		return attachmentRef(*got, "workorder"), nil
	}
	if got, err = c.client.AddRequestAttachment(ctx, rid.sr, up); err != nil {
		return vendorapi.Attachment{}, err
	}
	return attachmentRef(*got, "request"), nil
}

// ListAttachments lists a request's or work order's files (vendorapi.Attachments).
func (c *Connector) ListAttachments(ctx context.Context, remoteID string) ([]vendorapi.Attachment, error) {
	rid, err := parseRemoteID("list attachments", remoteID)
	if err != nil {
		return nil, err
	}
	list, _, err := c.attachments(ctx, rid)
	if err != nil {
		return nil, err
	}
	kind := "request"
	if rid.wo != "" {
		kind = "workorder"
	}
	out := make([]vendorapi.Attachment, 0, len(list))
	for _, a := range list {
		out = append(out, attachmentRef(a, kind))
	}
	return out, nil
}

// OpenAttachment reads a file of a feedback item (vendorapi.AttachmentOpener): the request
// system relays it to the requester.
func (c *Connector) OpenAttachment(ctx context.Context, a vendorapi.Attachment) (io.ReadCloser, string, error) {
	const op = "open attachment"
	var d *Download
	var err error
	switch {
	case strings.HasPrefix(a.URL, requestAttachmentURL):
		id, perr := strconv.Atoi(strings.TrimPrefix(a.URL, requestAttachmentURL))
		if perr != nil {
			return nil, "", invalidArgument(op, "bad attachment reference "+a.URL)
		}
		d, err = c.client.DownloadRequestAttachment(ctx, id)
	case strings.HasPrefix(a.URL, workOrderAttachmentURL):
		id, perr := strconv.Atoi(strings.TrimPrefix(a.URL, workOrderAttachmentURL))
		if perr != nil {
			return nil, "", invalidArgument(op, "bad attachment reference "+a.URL)
		}
		d, err = c.client.DownloadWorkOrderAttachment(ctx, id)
	default:
		return nil, "", invalidArgument(op, "not a Cityworks attachment: "+a.URL)
	}
	if err != nil {
		return nil, "", err
	}
	if d == nil || len(d.Content) == 0 {
		return nil, "", &vendorapi.Error{Vendor: Vendor, Op: op, Code: "bad_response", Retryable: true, Message: "empty download"}
	}
	ct := d.ContentType
	if ct == "" || ct == "application/octet-stream" {
		ct = cmp.Or(a.ContentType, http.DetectContentType(d.Content))
	}
	return io.NopCloser(bytes.NewReader(d.Content)), ct, nil
}
