package cityworks

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestExternalReferenceRoundTrips(t *testing.T) {
	for _, ext := range []string{"9001", "a:b:c", "x/y", strings.Repeat("9", 20)} {
		ref := ExternalReference("city-scf", ext)
		if got, ok := ParseReference("city-scf", ref); !ok || got != ext {
			t.Errorf("%q → %q → %q %t", ext, ref, got, ok)
		}
	}
	long := strings.Repeat("z", 60)
	ref := ExternalReference("city-scf", long)
	if utf8.RuneCountInString(ref) > MaxExternalReference || !strings.HasPrefix(ref, "ticketsync:") || ref != ExternalReference("city-scf", long) {
		t.Fatalf("hashed reference %q", ref)
	}
	if _, ok := ParseReference("city-scf", ref); ok {
		t.Error("a hashed reference must not parse")
	}
	for _, r := range []string{"ticketsync:other:1", "ticketsync:city-scf:", "SCF-1", ""} {
		if ext, ok := ParseReference("city-scf", r); ok {
			t.Errorf("%q parsed as %q", r, ext)
		}
	}
	var c Client
	if c.Reference("a", "b") != "ticketsync:a:b" {
		t.Error("Client.Reference differs from ExternalReference")
	}
	if ext, ok := c.ParseReference("a", "ticketsync:a:b"); !ok || ext != "b" {
		t.Error("Client.ParseReference differs from ParseReference")
	}
}
