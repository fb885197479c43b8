package wal

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"

	"grite/event"
	"grite/gitdir"
)

// Meta is a WAL commit's meta.json.
type Meta struct {
	SchemaVersion int
	ActorID       event.ActorID
	ChunkHash     [32]byte
	PrevWAL       plumbing.Hash // zero for the first commit
}

// MarshalMeta renders meta.json byte-exactly as the original (serde_json
// to_string_pretty: 2-space indent, fixed key order, no trailing newline).
func MarshalMeta(m Meta) []byte {
	prev := "null"
	if !m.PrevWAL.IsZero() {
		prev = `"` + m.PrevWAL.String() + `"`
	}
	return fmt.Appendf(nil, "{\n  \"schema_version\": %d,\n  \"actor_id\": \"%s\",\n  \"chunk_hash\": \"%s\",\n  \"prev_wal\": %s\n}",
		m.SchemaVersion, m.ActorID, hex.EncodeToString(m.ChunkHash[:]), prev)
}

// maxMetaBytes caps meta.json before it is read; a real one is ~200 bytes.
const maxMetaBytes = 4096

// ParseMeta reads meta.json written by any conforming implementation.
func ParseMeta(b []byte) (Meta, error) {
	var raw struct {
		SchemaVersion *int    `json:"schema_version"`
		ActorID       *string `json:"actor_id"`
		ChunkHash     *string `json:"chunk_hash"`
		PrevWAL       *string `json:"prev_wal"`
	}
	if len(b) > maxMetaBytes {
		return Meta{}, fmt.Errorf("meta.json is %d bytes, limit %d", len(b), maxMetaBytes)
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return Meta{}, fmt.Errorf("meta.json: %w", err)
	}
	var m Meta
	if raw.SchemaVersion == nil || *raw.SchemaVersion != 1 {
		return m, fmt.Errorf("meta.json: schema_version must be 1")
	}
	m.SchemaVersion = 1
	if raw.ActorID == nil {
		return m, fmt.Errorf("meta.json: actor_id missing")
	}
	a, err := event.ParseActorID(*raw.ActorID)
	if err != nil {
		return m, fmt.Errorf("meta.json: %w", err)
	}
	m.ActorID = a
	if raw.ChunkHash == nil || len(*raw.ChunkHash) != 64 {
		return m, fmt.Errorf("meta.json: chunk_hash must be 64 hex characters")
	}
	if _, err := hex.Decode(m.ChunkHash[:], []byte(*raw.ChunkHash)); err != nil {
		return m, fmt.Errorf("meta.json: chunk_hash: %w", err)
	}
	if raw.PrevWAL != nil {
		h, ok := gitdir.ParseHash(*raw.PrevWAL)
		if !ok {
			return m, fmt.Errorf("meta.json: prev_wal %q is not a commit ID", *raw.PrevWAL)
		}
		m.PrevWAL = h
	}
	return m, nil
}
