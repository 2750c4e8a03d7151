package seeclickfix

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"path"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// MaxImageBytes is SCF's limit for uploaded images (20 MB).
const MaxImageBytes = 20 << 20

// imageTypes are the formats SCF accepts, by sniffed media type, with their file extension.
var imageTypes = map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif"}

// Image is an image to upload with a comment, a status change or a new issue. The content
// type is sniffed from Data; Name is the file name SCF sees (derived when empty).
type Image struct {
	Name string
	Data []byte
}

// contentType sniffs the image format, or reports why SCF would refuse it.
func (im *Image) contentType() (string, error) {
	switch {
	case len(im.Data) == 0:
		return "", fmt.Errorf("empty image")
	case len(im.Data) > MaxImageBytes:
		return "", fmt.Errorf("image of %d bytes exceeds SCF's %d-byte limit", len(im.Data), MaxImageBytes)
	}
	ct := http.DetectContentType(im.Data)
	if _, ok := imageTypes[ct]; !ok {
		return "", fmt.Errorf("image type %s is not png, jpeg or gif", ct)
	}
	return ct, nil
}

type formField struct{ name, value string }

// multipartPayload encodes fields plus one image part (SCF takes images only as multipart).
// A bad image is a non-retryable invalid_argument: SCF would answer 422 every time.
func multipartPayload(op string, fields []formField, fileField string, im *Image) (*payload, error) {
	ct, err := im.contentType()
	if err != nil {
		return nil, invalidArgument(op, err.Error())
	}
	name := path.Base(strings.ReplaceAll(im.Name, `\`, "/"))
	if name == "" || name == "." || name == "/" {
		name = "image" + imageTypes[ct]
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, f := range fields {
		if err := w.WriteField(f.name, f.value); err != nil {
			return nil, &vendorapi.Error{Vendor: Vendor, Op: op, Message: "encode form", Err: err}
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": fileField, "filename": name}))
	h.Set("Content-Type", ct)
	part, err := w.CreatePart(h)
	if err == nil {
		_, err = part.Write(im.Data)
	}
	if err == nil {
		err = w.Close()
	}
	if err != nil {
		return nil, &vendorapi.Error{Vendor: Vendor, Op: op, Message: "encode form", Err: err}
	}
	return &payload{contentType: w.FormDataContentType(), data: buf.Bytes()}, nil
}

// MediaFile is a downloaded image (or other media file).
type MediaFile struct {
	Data        []byte
	ContentType string
	// URL is where the bytes came from after redirects.
	URL string
}

// DownloadMedia fetches the bytes behind an issue's or comment's media URL (e.g.
// Issue.Media.ImageFull), following its redirects (SCF's image URLs redirect to the file
// store). No credentials are sent: media URLs are public and may point at another host.
// maxBytes <= 0 means Config.MaxMediaBytes; a larger file is a non-retryable media_too_large.
// It does not wait on the Limiter: the rate limit applies to API calls.
func (c *Client) DownloadMedia(ctx context.Context, rawURL string, maxBytes int64) (*MediaFile, error) {
	const op = "download media"
	if maxBytes <= 0 {
		maxBytes = c.maxMedia
	}
	target, err := c.root.Parse(strings.TrimSpace(rawURL))
	if err != nil || target.Host == "" || !secureOrLoopback(target) {
		return nil, invalidArgument(op, fmt.Sprintf("media URL %q must be an absolute https URL", rawURL))
	}
	cur := target.String()
	for hop := 0; ; hop++ {
		res, err := c.fetchMedia(ctx, op, cur, maxBytes)
		if err != nil {
			return nil, err
		}
		next, redirected, rerr := c.redirect(op, cur, res, hop, false)
		if rerr != nil {
			return nil, rerr
		}
		if redirected {
			cur = next
			continue
		}
		if res.StatusCode < 200 || res.StatusCode > 299 {
			e := vendorapi.ClassifyStatus(Vendor, op, res.Response)
			e.Message = "media " + cur
			if e.HTTPStatus == http.StatusNotFound {
				e.Code = CodeNotFound
			}
			return nil, e
		}
		ct := res.Header.Get("Content-Type")
		if mt, _, _ := mime.ParseMediaType(ct); mt == "" || mt == "application/octet-stream" {
			ct = http.DetectContentType(res.body)
		}
		return &MediaFile{Data: res.body, ContentType: ct, URL: cur}, nil
	}
}

// fetchMedia is one GET of a media URL with a body bound of maxBytes.
func (c *Client) fetchMedia(ctx context.Context, op, target string, maxBytes int64) (*response, error) {
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, invalidArgument(op, err.Error())
	}
	req.Header.Set("User-Agent", c.ua)
	res, err := c.hc.Do(req)
	if err != nil {
		return nil, vendorapi.TransportError(Vendor, op, err)
	}
	defer res.Body.Close()
	if res.ContentLength > maxBytes {
		return nil, mediaTooLarge(op, res.StatusCode, maxBytes)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxBytes+1))
	if err != nil {
		return nil, vendorapi.TransportError(Vendor, op, err)
	}
	if int64(len(data)) > maxBytes {
		return nil, mediaTooLarge(op, res.StatusCode, maxBytes)
	}
	return &response{Response: res, body: data}, nil
}

func mediaTooLarge(op string, status int, maxBytes int64) *vendorapi.Error {
	return &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: status, Code: CodeMediaTooLarge,
		Message: fmt.Sprintf("media exceeds %d bytes", maxBytes)}
}
