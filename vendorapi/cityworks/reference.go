package cityworks

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"
)

// MaxExternalReference bounds our reference in characters. Cityworks documents no length for
// OtherSystemId or the TextN fields; 50 keeps well inside the shortest text columns we have
// seen on on-prem schemas, so a reference is never silently cut by the database.
const MaxExternalReference = 50

const refPrefix = "ticketsync:"

// ExternalReference is our idempotency key in Cityworks (a service request's OtherSystemId, or
// a work order's reference text field): "ticketsync:<connection>:<externalId>", or, when that
// exceeds MaxExternalReference, "ticketsync:" + the first 32 hex digits of its SHA-256. It never
// changes for a given pair, which is what lets a retried create find the first attempt's item.
func ExternalReference(connectionID, externalID string) string {
	long := refPrefix + connectionID + ":" + externalID
	if utf8.RuneCountInString(long) <= MaxExternalReference {
		return long
	}
	sum := sha256.Sum256([]byte(long))
	return refPrefix + hex.EncodeToString(sum[:])[:32]
}

// ParseReference reads the external id back from a reference of connectionID. Hashed
// references, other connections' and foreign values are not readable (ok false).
func ParseReference(connectionID, reference string) (externalID string, ok bool) {
	ext, found := strings.CutPrefix(reference, refPrefix+connectionID+":")
	if !found || ext == "" || ExternalReference(connectionID, ext) != reference {
		return "", false
	}
	return ext, true
}

// Reference is ExternalReference, as a method for the vendor-neutral work-system interface.
func (c *Client) Reference(connectionID, externalID string) string {
	return ExternalReference(connectionID, externalID)
}

// ParseReference is the package function ParseReference, as a method.
func (c *Client) ParseReference(connectionID, reference string) (string, bool) {
	return ParseReference(connectionID, reference)
}
