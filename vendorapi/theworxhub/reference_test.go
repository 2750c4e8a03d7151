package theworxhub

import (
	"strings"
	"testing"
)

func TestParseReferenceRoundTrips(t *testing.T) {
	c, err := New(Config{BaseURL: "https://x.example", ClientID: "a", ClientSecret: "b"})
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"cubigo-1001", "a:b:c", "x/y", strings.Repeat("9", 70)} {
		ref := c.Reference("sunrise-twh", ext)
		got, ok := c.ParseReference("sunrise-twh", ref)
		if !ok || got != ext {
			t.Errorf("%q → %q → %q %t", ext, ref, got, ok)
		}
	}
	long := strings.Repeat("z", 120) // hashed: cannot be read back
	if _, ok := c.ParseReference("sunrise-twh", c.Reference("sunrise-twh", long)); ok {
		t.Error("a hashed reference must not parse")
	}
	for _, ref := range []string{"ticketsync:other:1", "ticketsync:sunrise-twh:", "something else", ""} {
		if ext, ok := c.ParseReference("sunrise-twh", ref); ok {
			t.Errorf("%q parsed as %q", ref, ext)
		}
	}
}
