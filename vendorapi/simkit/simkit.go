// Package simkit is the fault machinery the vendor simulators (vendorapi/*/sim) share: fault
// JSON with readable durations, "next N calls" counters and seeded rate draws, the faults most
// vendor APIs have in common (429 bursts, random 5xx, HTML where JSON was expected, dropped
// connections, latency), IIS error pages, and the small HTTP helpers of the staff control API.
//
// Only simulators import it. A vendor client must not: each simulator and its client are two
// independent readings of one contract, and a shared helper between them could hide a
// misreading that the contract tests exist to catch.
package simkit
