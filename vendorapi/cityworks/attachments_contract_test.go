package cityworks_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ticketsync/ticketsync/vendorapi/cityworks"
	"github.com/ticketsync/ticketsync/vendorapi/cityworks/sim"
)

// photo is binary content with NUL bytes and an HTML-looking prefix: the multipart round trip
// and the download must keep it byte for byte.
var photo = append([]byte("<html>not really\x00\xff\xd8\xff\xe0"), bytes.Repeat([]byte{0, 1, 2, 254, 255}, 4000)...)

func TestAttachmentRoundTrip(t *testing.T) {
	for _, v := range versions {
		t.Run(v, func(t *testing.T) {
			e := newEnv(t, sim.Options{Version: v})
			ctx := context.Background()
			sr := e.createSR(t, "ticketsync:c:att")
			up := cityworks.Upload{Filename: "scf-5501.jpg", ContentType: "image/jpeg", Content: photo, Comments: "Photo from the reporter"}
			a, err := e.client.AddRequestAttachment(ctx, sr.RequestId, up)
			if err != nil {
				t.Fatal(err)
			}
			if a.Id == 0 || a.RequestId != sr.RequestId || a.Attachment != "scf-5501.jpg" || a.Comments != "Photo from the reporter" ||
				a.AttachmentType != cityworks.AttachmentFile || !a.DateTimeAttached.Equal(e.clock.Now()) || a.AttachedBy != sim.DefaultLoginName {
				t.Fatalf("uploaded = %+v", a)
			}
			stored, _ := e.sim.Request(sr.RequestId)
			if len(stored.Attachments) != 1 || !bytes.Equal(stored.Attachments[0].Content, photo) || stored.Attachments[0].ContentType != "image/jpeg" {
				t.Fatalf("stored attachment differs (%d attachments)", len(stored.Attachments))
			}
			list, err := e.client.RequestAttachments(ctx, sr.RequestId)
			if err != nil || len(list) != 1 || list[0].Id != a.Id {
				t.Fatalf("list = %+v, %v", list, err)
			}
			d, err := e.client.DownloadRequestAttachment(ctx, a.Id)
			if err != nil || !bytes.Equal(d.Content, photo) || d.ContentType != "image/jpeg" || d.Filename != "scf-5501.jpg" {
				t.Fatalf("download: %d bytes, %q %q, %v", len(d.Content), d.ContentType, d.Filename, err)
			}

			// Uploading the same file again (a retried activity) returns the first one.
			again, err := e.client.AddRequestAttachment(ctx, sr.RequestId, up)
			if err != nil || again.Id != a.Id || e.sim.Stats().Uploads != 1 {
				t.Fatalf("re-upload = %+v, %v, uploads %d", again, err, e.sim.Stats().Uploads)
			}

			// After a token expiry the multipart body is rebuilt with the new token.
			e.sim.ExpireTokens()
			b, err := e.client.AddRequestAttachment(ctx, sr.RequestId, cityworks.Upload{Filename: "scf-5502.png", Content: []byte("png")})
			if err != nil || b.Attachment != "scf-5502.png" {
				t.Fatalf("upload after expiry = %+v, %v", b, err)
			}
			if st := e.sim.Stats(); st.Uploads != 2 || st.Authentications != 2 {
				t.Fatalf("stats = %+v", st)
			}
			d, err = e.client.DownloadRequestAttachment(ctx, b.Id)
			if err != nil || string(d.Content) != "png" || d.ContentType != "image/png" {
				t.Fatalf("content type from the extension: %+v, %v", d, err)
			}
		})
	}
}

// A slow upload the server stored after the client gave up is found by name on retry.
func TestSlowUploadRetryFindsTheFile(t *testing.T) {
	e := newEnv(t, sim.Options{}, func(c *cityworks.Config) { c.UploadTimeout = 300 * time.Millisecond })
	ctx := context.Background()
	sr := e.createSR(t, "ticketsync:c:slow")
	e.sim.SetFaults(sim.Faults{SlowUpload: 1, SlowDelay: 5 * time.Second})
	up := cityworks.Upload{Filename: "scf-77.jpg", Content: photo}
	_, err := e.client.AddRequestAttachment(ctx, sr.RequestId, up)
	if ve := vendorErr(t, err); !ve.Retryable || ve.Kind() != "Transport" {
		t.Fatalf("slow upload: %+v", ve)
	}
	a, err := e.client.AddRequestAttachment(ctx, sr.RequestId, up)
	if err != nil || a.Attachment != "scf-77.jpg" || e.sim.Stats().Uploads != 1 {
		t.Fatalf("retry = %+v, %v, uploads %d", a, err, e.sim.Stats().Uploads)
	}
}

func TestAttachmentErrors(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	if _, err := e.client.AddRequestAttachment(ctx, 99, cityworks.Upload{Filename: "a.jpg", Content: photo}); !cityworks.IsNotFound(err) {
		t.Fatalf("upload to an unknown request: %v", err)
	}
	if _, err := e.client.DownloadRequestAttachment(ctx, 12345); !cityworks.IsNotFound(err) {
		t.Fatalf("download unknown: %v", err)
	}
	for _, up := range []cityworks.Upload{{Filename: "", Content: photo}, {Filename: "../x.jpg", Content: photo}, {Filename: "x.jpg"}} {
		if _, err := e.client.AddRequestAttachment(ctx, 1, up); vendorErr(t, err).Code != "invalid_argument" {
			t.Errorf("%+v: %v", up, err)
		}
	}
	// An expired session during a download costs one re-authentication, like any call.
	sr := e.createSR(t, "ticketsync:c:dl")
	a, err := e.sim.AddRequestAttachment(sr.RequestId, "staff-photo.jpg", "image/jpeg", photo, "taken on site")
	if err != nil {
		t.Fatal(err)
	}
	e.sim.ExpireTokens()
	d, err := e.client.DownloadRequestAttachment(ctx, a.Id)
	if err != nil || !bytes.Equal(d.Content, photo) {
		t.Fatalf("download after expiry: %v", err)
	}
	list, _ := e.client.RequestAttachments(ctx, sr.RequestId)
	if cityworks.FindAttachment(list, "STAFF-PHOTO.jpg") == nil || cityworks.FindAttachment(list, "other.jpg") != nil {
		t.Fatalf("FindAttachment over %+v", list)
	}
	if list[0].AttachedBy != "Cityworks Staff" {
		t.Fatalf("staff attachment = %+v", list[0])
	}
}

func TestWorkOrderAttachments(t *testing.T) {
	e := newEnv(t, sim.Options{})
	ctx := context.Background()
	wos, err := e.client.CreateWorkOrder(ctx, cityworks.NewWorkOrder{WOTemplateId: "1001", EntityType: "STREET"})
	if err != nil {
		t.Fatal(err)
	}
	wo := &wos[0]
	a, err := e.client.AddWorkOrderAttachment(ctx, wo, cityworks.Upload{Filename: "before.jpg", ContentType: "image/jpeg", Content: photo})
	if err != nil || string(a.WorkOrderId) != string(wo.WorkOrderId) || a.RequestId != 0 {
		t.Fatalf("upload = %+v, %v", a, err)
	}
	list, err := e.client.WorkOrderAttachments(ctx, wo)
	if err != nil || len(list) != 1 || list[0].Id != a.Id {
		t.Fatalf("list = %+v, %v", list, err)
	}
	d, err := e.client.DownloadWorkOrderAttachment(ctx, a.Id)
	if err != nil || !bytes.Equal(d.Content, photo) {
		t.Fatalf("download: %v", err)
	}
	// Attachment ids are per kind: a WO attachment is not a request attachment.
	if _, err := e.client.DownloadRequestAttachment(ctx, a.Id); !cityworks.IsNotFound(err) {
		t.Fatalf("WO attachment as request attachment: %v", err)
	}
}
