// Package vendortest holds the checks the vendor packages' tests share.
package vendortest

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/ticketsync/ticketsync/vendorapi"
)

// ClassifiedError fails the test unless err is a *vendorapi.Error of vendor naming its
// operation, whose text carries none of secrets unless the vendor's own answer (body) did.
func ClassifiedError(t testing.TB, op string, err error, vendor string, body []byte, secrets ...string) *vendorapi.Error {
	t.Helper()
	var ve *vendorapi.Error
	if !errors.As(err, &ve) {
		t.Fatalf("%s: unclassified error %T %v", op, err, err)
	}
	if ve.Vendor != vendor || ve.Op == "" {
		t.Fatalf("%s: error without vendor/op: %+v", op, ve)
	}
	msg := err.Error()
	for _, s := range secrets {
		if !bytes.Contains(body, []byte(s)) && strings.Contains(msg, s) {
			t.Fatalf("%s: error leaks a secret: %s", op, msg)
		}
	}
	return ve
}
