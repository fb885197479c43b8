package event

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/fxamacker/cbor/v2"
	"golang.org/x/crypto/blake2b"
)

// Chunk file constants (docs/format.md §5).
const (
	ChunkMagic   = "GRITECNK"
	ChunkVersion = 1
	ChunkCodec   = "cbor-v1"

	// MaxChunkBytes caps a chunk file; callers reading blobs check it before
	// loading one. 64 MiB holds far more than any append or snapshot chunk.
	MaxChunkBytes = 64 << 20
	// MaxChunkEvents caps the record count a chunk may claim.
	MaxChunkEvents = 1 << 20
)

// ChunkHeader is the 18-byte header of every version-1 chunk.
var ChunkHeader = func() []byte {
	h := []byte(ChunkMagic)
	h = binary.LittleEndian.AppendUint16(h, ChunkVersion)
	h = append(h, byte(len(ChunkCodec)))
	return append(h, ChunkCodec...)
}()

// EncodeChunk writes events as a chunk file. Empty chunks are refused.
func EncodeChunk(events []Event) ([]byte, error) {
	if len(events) == 0 {
		return nil, ErrEmptyChunk
	}
	records := make([]any, len(events))
	for i := range events {
		e := &events[i]
		if e.Kind == nil {
			return nil, fmt.Errorf("event %d has no kind", i)
		}
		var sig any
		if len(e.Sig) > 0 {
			sig = e.Sig
		}
		records[i] = []any{
			e.ID[:], e.IssueID[:], e.Actor[:], e.TS,
			parentValue(e.Parent), e.Kind.Tag(), e.Kind.payload(), sig,
		}
	}
	body, err := encMode.Marshal(records)
	if err != nil {
		return nil, fmt.Errorf("encode chunk: %w", err)
	}
	return append(bytes.Clone(ChunkHeader), body...), nil
}

// ChunkHash is the BLAKE2b-256 of the whole chunk file, header included.
func ChunkHash(chunk []byte) [32]byte { return blake2b.Sum256(chunk) }

var decMode = func() cbor.DecMode {
	m, err := cbor.DecOptions{
		MaxArrayElements: MaxChunkEvents,
		MaxNestedLevels:  8,
		MaxMapPairs:      16,
	}.DecMode()
	if err != nil {
		panic(err) // static options; cannot fail
	}
	return m
}()

// rawRecord is the 8-element chunk record. toarray makes the decoder reject
// any other length. Nil slices stand for CBOR null. The names in the tags are
// not used on the wire (toarray); they make type errors name the slot as
// docs/format.md §5 does.
type rawRecord struct {
	_       struct{}        `cbor:",toarray"`
	ID      []byte          `cbor:"event_id"`
	IssueID []byte          `cbor:"issue_id"`
	Actor   []byte          `cbor:"actor"`
	TS      uint64          `cbor:"ts_unix_ms"`
	Parent  []byte          `cbor:"parent"`
	Tag     uint64          `cbor:"kind_tag"`
	Payload cbor.RawMessage `cbor:"kind_payload"`
	Sig     []byte          `cbor:"sig"`
}

// DecodeChunk decodes a chunk file with the original's rules: it checks the
// header and the shape of every record but does not recompute event IDs (use
// VerifyChunk for bytes from elsewhere). Trailing bytes after the array are
// ignored, as the original does.
func DecodeChunk(b []byte) ([]Event, error) {
	if len(b) > MaxChunkBytes {
		return nil, chunkErr(ErrTooLarge, "chunk is %d bytes, limit %d", len(b), MaxChunkBytes)
	}
	if len(b) < 11 {
		return nil, chunkErr(ErrTruncated, "chunk is %d bytes, header needs at least 11", len(b))
	}
	if string(b[:8]) != ChunkMagic {
		return nil, chunkErr(ErrBadMagic, "got %q", b[:8])
	}
	if v := binary.LittleEndian.Uint16(b[8:10]); v != ChunkVersion {
		return nil, chunkErr(ErrBadVersion, "version %d", v)
	}
	l := int(b[10])
	if len(b) < 11+l {
		return nil, chunkErr(ErrTruncated, "codec name needs %d bytes, %d left", l, len(b)-11)
	}
	if codec := string(b[11 : 11+l]); codec != ChunkCodec {
		return nil, chunkErr(ErrBadCodec, "codec %q", codec)
	}
	var records []cbor.RawMessage
	if _, err := decMode.UnmarshalFirst(b[11+l:], &records); err != nil {
		reason := classifyCBOR(err)
		if reason == ErrBadField {
			// A type error here has no field: the body is not an array.
			reason = ErrBadCBOR
		}
		return nil, chunkErr(reason, "records: %v", err)
	}
	// Sized from the count only up to a snapshot chunk's 1000 events, then
	// grown as records decode: a chunk of a million one-byte non-records must
	// not reserve a million Events before its first record fails.
	events := make([]Event, 0, min(len(records), 1024))
	for i, raw := range records {
		var e Event
		if err := decodeRecord(raw, &e); err != nil {
			var de *DecodeError
			if errors.As(err, &de) {
				de.Record = i
				return nil, de
			}
			return nil, recordErr(i, ErrBadRecord, "%v", err)
		}
		events = append(events, e)
	}
	return events, nil
}

// VerifyChunk decodes a chunk received from elsewhere and also checks that
// every event ID matches its content (grite's rule for foreign data,
// docs/format.md §4).
func VerifyChunk(b []byte) ([]Event, error) {
	events, err := DecodeChunk(b)
	if err != nil {
		return nil, err
	}
	for i := range events {
		if err := events[i].VerifyID(); err != nil {
			var de *DecodeError
			if errors.As(err, &de) {
				de.Record = i
			}
			return nil, err
		}
	}
	return events, nil
}

func classifyCBOR(err error) error {
	var maxErr *cbor.MaxArrayElementsError
	var mapErr *cbor.MaxMapPairsError
	var nestErr *cbor.MaxNestedLevelError
	switch {
	case errors.As(err, &maxErr), errors.As(err, &mapErr), errors.As(err, &nestErr):
		return ErrTooLarge
	case isEOF(err):
		return ErrTruncated
	}
	var typeErr *cbor.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return ErrBadField
	}
	return ErrBadCBOR
}

func decodeRecord(raw cbor.RawMessage, e *Event) error {
	// The decoder would turn null into an all-zero record; say what it is.
	if len(raw) == 0 || raw[0]>>5 != 4 {
		return &DecodeError{Reason: ErrBadRecord, Detail: "record is not an array"}
	}
	var r rawRecord
	if err := decMode.Unmarshal(raw, &r); err != nil {
		reason := classifyCBOR(err)
		var typeErr *cbor.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.StructFieldName != "":
			reason = ErrBadField // one slot of the wrong type; the message names it
		case reason == ErrBadField || reason == ErrBadCBOR:
			reason = ErrBadRecord // wrong number of slots, or malformed inside
		}
		return &DecodeError{Reason: reason, Detail: err.Error()}
	}
	if err := copyExact(e.ID[:], r.ID, "event_id"); err != nil {
		return err
	}
	if err := copyExact(e.IssueID[:], r.IssueID, "issue_id"); err != nil {
		return err
	}
	if err := copyExact(e.Actor[:], r.Actor, "actor"); err != nil {
		return err
	}
	e.TS = r.TS
	if r.Parent != nil {
		var p EventID
		if err := copyExact(p[:], r.Parent, "parent"); err != nil {
			return err
		}
		e.Parent = &p
	}
	if len(r.Sig) > 0 {
		e.Sig = r.Sig
	}
	k, err := DecodePayload(r.Tag, r.Payload)
	if err != nil {
		return err
	}
	e.Kind = k
	return nil
}

func copyExact(dst, src []byte, field string) error {
	if len(src) != len(dst) {
		return &DecodeError{Reason: ErrBadField, Detail: fmt.Sprintf("%s must be %d bytes, got %d", field, len(dst), len(src))}
	}
	copy(dst, src)
	return nil
}

// ChunkPath is a WAL chunk's path in its commit tree: the UTC date of the
// first event's timestamp, then the chunk hash (docs/format.md §6).
func ChunkPath(firstTS uint64, hash [32]byte) string {
	t := time.UnixMilli(int64(firstTS)).UTC()
	if firstTS > 1<<62 || t.Year() > 9999 {
		// The original falls back to the current time here; a pure package
		// has no clock, so callers needing that pass a sane timestamp.
		t = time.UnixMilli(0).UTC()
	}
	return fmt.Sprintf("events/%04d/%02d/%02d/%x.bin", t.Year(), int(t.Month()), t.Day(), hash[:])
}
