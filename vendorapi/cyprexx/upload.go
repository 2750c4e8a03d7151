package cyprexx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"

	"github.com/ticketsync/ticketsync/vendorapi"
)

var errPhotoTooLarge = errors.New("photo exceeds the size limit")

// UploadPhoto relays one photo. The multipart body is produced while it is sent (through a
// pipe): the photo's bytes go from p.Body to the connection unaltered, and at most one copy
// buffer of them is in memory. The metadata parts come first, so Cyprexx can refuse early.
//
// A retry after an unknown outcome (timeout, connection reset) is safe with the same
// SourceID (Created is then false); it needs a fresh Body. Errors: 413 file_too_large
// (also raised here, before sending more than MaxPhotoBytes), 415 unsupported_media_type,
// 422 unknown_task / invalid_category, 409 work_order_closed (IsWorkOrderClosed).
func (c *Client) UploadPhoto(ctx context.Context, workOrderID string, p Photo) (PhotoReceipt, error) {
	const op = "upload photo"
	switch {
	case workOrderID == "":
		return PhotoReceipt{}, invalidArgument(op, "empty work order id")
	case strings.TrimSpace(p.SourceID) == "":
		return PhotoReceipt{}, invalidArgument(op, "empty sourceId (the Pruvan photo uuid)")
	case p.TaskID == "" || p.Category == "":
		return PhotoReceipt{}, invalidArgument(op, "empty taskId or category")
	case p.Body == nil:
		return PhotoReceipt{}, invalidArgument(op, "no photo body")
	}
	if p.FileName == "" {
		p.FileName = p.SourceID + ".jpg"
	}
	if p.ContentType == "" {
		p.ContentType = "image/jpeg"
	}
	ctx, cancel := context.WithTimeout(ctx, c.uploadTimeout)
	defer cancel()
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	written := make(chan error, 1)
	go func() {
		err := writePhotoBody(mw, p)
		pw.CloseWithError(err)
		written <- err
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/workorders/"+url.PathEscape(workOrderID)+"/photos", pr)
	if err != nil {
		pr.CloseWithError(err)
		<-written
		return PhotoReceipt{}, &vendorapi.Error{Vendor: Vendor, Op: op, Message: "build request", Err: err}
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, sendErr := c.send(op, req)
	pr.CloseWithError(io.ErrClosedPipe) // Cyprexx may answer before reading everything
	writeErr := <-written
	if errors.Is(writeErr, errPhotoTooLarge) {
		return PhotoReceipt{}, &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: http.StatusRequestEntityTooLarge,
			Code: CodeFileTooLarge, Message: fmt.Sprintf("photo larger than %d bytes", MaxPhotoBytes)}
	}
	if sendErr != nil {
		if writeErr != nil && !errors.Is(writeErr, io.ErrClosedPipe) {
			// Reading the photo failed (its source broke): retry with a fresh body.
			return PhotoReceipt{}, &vendorapi.Error{Vendor: Vendor, Op: op, Message: "read photo", Err: writeErr, Retryable: true}
		}
		return PhotoReceipt{}, sendErr
	}
	var rec PhotoReceipt
	if err := decode(op, resp, &rec); err != nil {
		return PhotoReceipt{}, err
	}
	if rec.PhotoID == "" {
		return PhotoReceipt{}, &vendorapi.Error{Vendor: Vendor, Op: op, HTTPStatus: resp.StatusCode, Code: "bad_response",
			Message: "stored photo without photoId", Retryable: true}
	}
	rec.Created = resp.StatusCode == http.StatusCreated
	return rec, nil
}

// writePhotoBody writes the metadata fields, then the file part, copying at most
// MaxPhotoBytes from p.Body.
func writePhotoBody(mw *multipart.Writer, p Photo) error {
	fields := [][2]string{{"taskId", p.TaskID}, {"category", p.Category}, {"sourceId", p.SourceID}}
	if !p.TakenAt.IsZero() {
		fields = append(fields, [2]string{"takenAt", FormatTime(p.TakenAt)})
	}
	if p.Latitude != nil && p.Longitude != nil {
		fields = append(fields, [2]string{"latitude", strconv.FormatFloat(*p.Latitude, 'f', -1, 64)},
			[2]string{"longitude", strconv.FormatFloat(*p.Longitude, 'f', -1, 64)})
	}
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			return err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename=%q`, p.FileName))
	h.Set("Content-Type", p.ContentType)
	part, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	n, err := io.Copy(part, io.LimitReader(p.Body, MaxPhotoBytes+1))
	if err != nil {
		return err
	}
	if n > MaxPhotoBytes {
		return errPhotoTooLarge
	}
	return mw.Close()
}
