// Package event owns grite's wire format: actor, issue and event identifiers,
// the fourteen event kinds, the canonical CBOR preimage and its BLAKE2b-256
// event ID, chunk files, and Ed25519 signatures, byte-compatible with
// docs/format.md. It is pure: it never touches git, SQLite, files or the clock,
// and its decoders treat every input as hostile (they return typed errors and
// cap sizes before allocating; they never panic).
package event
