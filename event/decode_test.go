package event_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"grite/event"
)

// decodeCase is one hostile input: the sentinel it must fail with, the record
// the error must name (-1: the chunk as a whole) and text the message must
// contain, so a human reading it learns what was wrong.
type decodeCase struct {
	name   string
	in     []byte
	want   error
	record int
	msg    []string
}

func header() []byte { return bytes.Clone(event.ChunkHeader) }

// patchedHeader is a one-record chunk whose header has b written at offset at.
func patchedHeader(at int, b ...byte) []byte {
	h := header()
	copy(h[at:], b)
	return append(h, cArray(goodRecord().cbor())...)
}

// second puts a bad record after a good one, so the error must name record 1.
func second(bad record) []byte { return chunkOf(goodRecord().cbor(), bad.cbor()) }

func checkDecodeError(t *testing.T, err error, c decodeCase) {
	t.Helper()
	if err == nil {
		t.Fatalf("decoded without error; want %v", c.want)
	}
	if !errors.Is(err, c.want) {
		t.Fatalf("error %q is not %q", err, c.want)
	}
	var de *event.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %q (%T) is not a *event.DecodeError", err, err)
	}
	if de.Record != c.record {
		t.Errorf("error %q names record %d, want %d", err, de.Record, c.record)
	}
	for _, m := range c.msg {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not mention %q", err, m)
		}
	}
}

func TestDecodeChunkRejectsBadHeader(t *testing.T) {
	valid := chunkOf(goodRecord().cbor())
	cases := []decodeCase{
		{"empty", nil, event.ErrTruncated, -1, []string{"0 bytes"}},
		{"one byte", []byte("G"), event.ErrTruncated, -1, []string{"1 bytes"}},
		{"ten bytes", valid[:10], event.ErrTruncated, -1, []string{"10 bytes", "at least 11"}},
		{"cut in codec", valid[:14], event.ErrTruncated, -1, []string{"codec", "needs 7 bytes, 3 left"}},
		{"header only", valid[:18], event.ErrTruncated, -1, []string{"records"}},
		{"cut in array head", append(header(), 0x9a, 0x00, 0x01), event.ErrTruncated, -1, []string{"records"}},
		{"cut mid-record", valid[:len(valid)-7], event.ErrTruncated, -1, []string{"records"}},
		{"cut after record head", valid[:20], event.ErrTruncated, -1, []string{"records"}},
		{"wrong magic", patchedHeader(0, 'g'), event.ErrBadMagic, -1, []string{`"gRITECNK"`}},
		{"magic of another format", append([]byte("PK\x03\x04\x14\x00\x00\x00\x08\x00"), valid[10:]...), event.ErrBadMagic, -1, []string{"wrong magic"}},
		{"version 0", patchedHeader(8, 0, 0), event.ErrBadVersion, -1, []string{"version 0"}},
		{"version 2", patchedHeader(8, 2, 0), event.ErrBadVersion, -1, []string{"version 2"}},
		{"version 1 big-endian", patchedHeader(8, 0, 1), event.ErrBadVersion, -1, []string{"version 256"}},
		{"version 0xffff", patchedHeader(8, 0xff, 0xff), event.ErrBadVersion, -1, []string{"version 65535"}},
		{"codec cbor-v2", patchedHeader(17, '2'), event.ErrBadCodec, -1, []string{`"cbor-v2"`}},
		{"codec upper case", patchedHeader(11, 'C', 'B', 'O', 'R'), event.ErrBadCodec, -1, []string{`"CBOR-v1"`}},
		{"codec length 0", patchedHeader(10, 0), event.ErrBadCodec, -1, []string{`codec ""`}},
		{"codec length 6", patchedHeader(10, 6), event.ErrBadCodec, -1, []string{`"cbor-v"`}},
		{"codec length 255", patchedHeader(10, 255), event.ErrTruncated, -1, []string{"codec", "255"}},
		{"not CBOR", append(header(), 0x1c), event.ErrBadCBOR, -1, []string{"records"}},
		{"lone break", append(header(), 0xff), event.ErrBadCBOR, -1, []string{"records"}},
		{"top level is not an array", append(header(), cText("events")...), event.ErrBadCBOR, -1, []string{"records"}},
		{"top level is a map", append(header(), 0xa1, 0x01, 0x02), event.ErrBadCBOR, -1, []string{"records"}},
		{"invalid UTF-8 in a label", chunkOf(goodRecord().kind(event.TagLabelAdded, []byte{0x62, 0xc3, 0x28}).cbor()), event.ErrBadField, 0, []string{"payload of kind 4", "invalid UTF-8"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := event.DecodeChunk(c.in)
			checkDecodeError(t, err, c)
			_, err = event.VerifyChunk(c.in)
			checkDecodeError(t, err, c)
		})
	}
}

func TestDecodeChunkRejectsChunkOverSizeLimit(t *testing.T) {
	big := make([]byte, event.MaxChunkBytes+1)
	copy(big, chunkOf(goodRecord().cbor()))
	_, err := event.DecodeChunk(big)
	checkDecodeError(t, err, decodeCase{want: event.ErrTooLarge, record: -1, msg: []string{"limit"}})
}

func TestDecodeChunkRejectsBadRecords(t *testing.T) {
	good := goodRecord()
	ctx := func(symbols ...[]byte) record {
		return good.kind(event.TagContextUpdated, cText("a.go"), cText("go"), cArray(symbols...), cText("sum"), cBytes(filled(32, 7)))
	}
	sym := func(start, end []byte) []byte { return cArray(cText("main"), cText("func"), start, end) }
	cases := []decodeCase{
		// Kind tags.
		{"kind tag 0", second(good.kind(0, cText("x"))), event.ErrUnknownKind, 1, []string{"Unknown kind tag: 0"}},
		{"kind tag 15", second(good.kind(15, cText("x"))), event.ErrUnknownKind, 1, []string{"Unknown kind tag: 15"}},
		{"kind tag 2^64-1", second(good.kind(1<<64-1, cText("x"))), event.ErrUnknownKind, 1, []string{"Unknown kind tag: 18446744073709551615"}},
		{"kind tag as text", second(good.with(slotTag, cText("1"))), event.ErrBadField, 1, []string{"kind_tag"}},
		{"kind tag negative", second(good.with(slotTag, cNeg(0))), event.ErrBadField, 1, []string{"kind_tag"}},

		// Slots of the wrong CBOR type.
		{"event_id as text", second(good.with(slotEventID, cText(strings.Repeat("e", 32)))), event.ErrBadField, 1, []string{"event_id"}},
		{"issue_id as text", second(good.with(slotIssueID, cText("000102030405060708090a0b0c0d0e0f"))), event.ErrBadField, 1, []string{"issue_id"}},
		{"actor as int", second(good.with(slotActor, cUint(7))), event.ErrBadField, 1, []string{"actor"}},
		{"ts negative", second(good.with(slotTS, cNeg(99))), event.ErrBadField, 1, []string{"ts_unix_ms"}},
		{"ts as text", second(good.with(slotTS, cText("1700000000000"))), event.ErrBadField, 1, []string{"ts_unix_ms"}},
		{"ts as float", second(good.with(slotTS, []byte{0xf9, 0x3c, 0x00})), event.ErrBadField, 1, []string{"ts_unix_ms"}},
		{"parent as int", second(good.with(slotParent, cUint(0))), event.ErrBadField, 1, []string{"parent"}},
		{"parent as text", second(good.with(slotParent, cText("p"))), event.ErrBadField, 1, []string{"parent"}},
		{"payload as text", second(good.with(slotPayload, cText("payload"))), event.ErrBadField, 1, []string{"payload of kind 1"}},
		{"sig as int", second(good.with(slotSig, cUint(1))), event.ErrBadField, 1, []string{"sig"}},
		{"sig as array", second(good.with(slotSig, cArray(cBytes(filled(64, 1))))), event.ErrBadField, 1, []string{"sig"}},
		{"title as int", second(good.kind(event.TagIssueCreated, cUint(5), cText("b"), cArray())), event.ErrBadField, 1, []string{"payload of kind 1", "Title"}},
		{"body as bytes", second(good.kind(event.TagIssueCreated, cText("t"), cBytes([]byte("b")), cArray())), event.ErrBadField, 1, []string{"payload of kind 1", "Body"}},
		{"labels as text", second(good.kind(event.TagIssueCreated, cText("t"), cText("b"), cText("bug"))), event.ErrBadField, 1, []string{"Labels"}},
		{"label as int", second(good.kind(event.TagIssueCreated, cText("t"), cText("b"), cArray(cText("a"), cUint(1)))), event.ErrBadField, 1, []string{"Labels"}},
		{"updated title as int", second(good.kind(event.TagIssueUpdated, cUint(1), cNull)), event.ErrBadField, 1, []string{"payload of kind 2"}},
		{"line_start as text", second(ctx(sym(cText("1"), cUint(2)))), event.ErrBadField, 1, []string{"payload of kind 13"}},

		// Byte strings of the wrong length.
		{"event_id 31 bytes", second(good.with(slotEventID, cBytes(filled(31, 1)))), event.ErrBadField, 1, []string{"event_id must be 32 bytes, got 31"}},
		{"event_id 33 bytes", second(good.with(slotEventID, cBytes(filled(33, 1)))), event.ErrBadField, 1, []string{"event_id must be 32 bytes, got 33"}},
		{"event_id null", second(good.with(slotEventID, cNull)), event.ErrBadField, 1, []string{"event_id must be 32 bytes, got 0"}},
		{"issue_id 15 bytes", second(good.with(slotIssueID, cBytes(filled(15, 1)))), event.ErrBadField, 1, []string{"issue_id must be 16 bytes, got 15"}},
		{"actor 17 bytes", second(good.with(slotActor, cBytes(filled(17, 1)))), event.ErrBadField, 1, []string{"actor must be 16 bytes, got 17"}},
		{"parent 31 bytes", second(good.with(slotParent, cBytes(filled(31, 1)))), event.ErrBadField, 1, []string{"parent must be 32 bytes, got 31"}},
		{"parent empty", second(good.with(slotParent, cBytes(nil))), event.ErrBadField, 1, []string{"parent must be 32 bytes, got 0"}},
		{"target 17 bytes", second(good.kind(event.TagDependencyAdded, cBytes(filled(17, 1)), cText("blocks"))), event.ErrBadField, 1, []string{"target must be 16 bytes, got 17"}},
		{"target 15 bytes", second(good.kind(event.TagDependencyRemoved, cBytes(filled(15, 1)), cText("blocks"))), event.ErrBadField, 1, []string{"target must be 16 bytes, got 15"}},
		{"sha256 31 bytes", second(good.kind(event.TagAttachmentAdded, cText("a.png"), cBytes(filled(31, 1)), cText("image/png"))), event.ErrBadField, 1, []string{"sha256 must be 32 bytes, got 31"}},
		{"content_hash 33 bytes", second(good.kind(event.TagContextUpdated, cText("a.go"), cText("go"), cArray(), cText("s"), cBytes(filled(33, 1)))), event.ErrBadField, 1, []string{"content_hash must be 32 bytes, got 33"}},

		// Records and payloads of the wrong length.
		{"record of 7", chunkOf(goodRecord().cbor(), cArray(good[:7]...)), event.ErrBadRecord, 1, []string{"different number of elements"}},
		{"record of 9", chunkOf(goodRecord().cbor(), cArray(append(good[:], cNull)...)), event.ErrBadRecord, 1, []string{"different number of elements"}},
		{"record of 0", chunkOf(goodRecord().cbor(), cArray()), event.ErrBadRecord, 1, []string{"different number of elements"}},
		{"record not an array", chunkOf(goodRecord().cbor(), cUint(8)), event.ErrBadRecord, 1, []string{"record 1", "not an array"}},
		{"record is null", chunkOf(goodRecord().cbor(), cNull), event.ErrBadRecord, 1, []string{"record 1", "not an array"}},
		{"first record bad", chunkOf(cArray(good[:7]...), goodRecord().cbor()), event.ErrBadRecord, 0, []string{"record 0"}},
		{"IssueCreated payload of 2", second(good.kind(event.TagIssueCreated, cText("t"), cText("b"))), event.ErrBadField, 1, []string{"payload of kind 1", "different number of elements"}},
		{"IssueCreated payload of 4", second(good.kind(event.TagIssueCreated, cText("t"), cText("b"), cArray(), cNull)), event.ErrBadField, 1, []string{"payload of kind 1", "different number of elements"}},
		{"IssueUpdated payload of 1", second(good.kind(event.TagIssueUpdated, cText("t"))), event.ErrBadField, 1, []string{"payload of kind 2", "different number of elements"}},
		{"CommentAdded payload of 0", second(good.kind(event.TagCommentAdded)), event.ErrBadField, 1, []string{"payload of kind 3", "different number of elements"}},
		{"CommentAdded payload of 2", second(good.kind(event.TagCommentAdded, cText("a"), cText("b"))), event.ErrBadField, 1, []string{"payload of kind 3", "different number of elements"}},
		{"LinkAdded payload of 1", second(good.kind(event.TagLinkAdded, cText("https://x"))), event.ErrBadField, 1, []string{"payload of kind 7", "different number of elements"}},
		{"AttachmentAdded payload of 2", second(good.kind(event.TagAttachmentAdded, cText("a"), cBytes(filled(32, 1)))), event.ErrBadField, 1, []string{"payload of kind 10", "different number of elements"}},
		{"DependencyAdded payload of 3", second(good.kind(event.TagDependencyAdded, cBytes(filled(16, 1)), cText("blocks"), cText("x"))), event.ErrBadField, 1, []string{"payload of kind 11", "different number of elements"}},
		{"ContextUpdated payload of 4", second(good.kind(event.TagContextUpdated, cText("a.go"), cText("go"), cArray(), cText("s"))), event.ErrBadField, 1, []string{"payload of kind 13", "different number of elements"}},
		{"symbol of 3", second(ctx(cArray(cText("main"), cText("func"), cUint(1)))), event.ErrBadField, 1, []string{"payload of kind 13", "different number of elements"}},
		{"ProjectContextUpdated payload of 1", second(good.kind(event.TagProjectContextUpdated, cText("k"))), event.ErrBadField, 1, []string{"payload of kind 14", "different number of elements"}},

		// Closed sets of strings and integer ranges.
		{"state Open", second(good.kind(event.TagStateChanged, cText("Open"))), event.ErrBadField, 1, []string{`invalid state "Open"`}},
		{"state empty", second(good.kind(event.TagStateChanged, cText(""))), event.ErrBadField, 1, []string{`invalid state ""`}},
		{"state reopened", second(good.kind(event.TagStateChanged, cText("reopened"))), event.ErrBadField, 1, []string{`invalid state "reopened"`}},
		{"dep_type blocked_by", second(good.kind(event.TagDependencyAdded, cBytes(filled(16, 1)), cText("blocked_by"))), event.ErrBadField, 1, []string{`invalid dependency type "blocked_by"`}},
		{"dep_type dependsOn", second(good.kind(event.TagDependencyRemoved, cBytes(filled(16, 1)), cText("dependsOn"))), event.ErrBadField, 1, []string{`invalid dependency type "dependsOn"`}},
		{"line_start 2^32", second(ctx(sym(cUint(1<<32), cUint(2)))), event.ErrBadField, 1, []string{"payload of kind 13", "Symbols", "4294967296 overflows uint32"}},
		{"line_end 2^64-1", second(ctx(sym(cUint(1), cUint(1<<64-1)))), event.ErrBadField, 1, []string{"payload of kind 13", "Symbols", "18446744073709551615 overflows uint32"}},
		{"line_start negative", second(ctx(sym(cNeg(0), cUint(2)))), event.ErrBadField, 1, []string{"payload of kind 13", "Symbols", "negative integer"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := event.DecodeChunk(c.in)
			checkDecodeError(t, err, c)
		})
	}
}

// oversize inputs claim far more elements or bytes than follow; decoding must
// fail before allocating anything of the claimed size.
func oversizeCases() []decodeCase {
	good := goodRecord()
	// cut is a chunk of one record whose first slots are good, followed by
	// rest and then nothing.
	cut := func(slots int, rest ...[]byte) []byte {
		b := append(header(), 0x81, 0x88)
		b = append(b, bytes.Join(good[:slots], nil)...)
		return append(b, bytes.Join(rest, nil)...)
	}
	claim := func(major byte, n uint64, rest ...byte) []byte {
		return append(cborHead(major, n), rest...)
	}
	return []decodeCase{
		{"top-level array of 2^40", append(header(), claim(4, 1<<40, 0x88, 0x58, 0x20)...), event.ErrTooLarge, -1, []string{"records"}},
		// fxamacker/cbor reports this one as malformed rather than over a limit.
		{"top-level array of 2^64-1", append(header(), claim(4, 1<<64-1, 0x88)...), event.ErrBadCBOR, -1, []string{"records", "too large"}},
		{"top-level array of MaxChunkEvents+1", append(header(), claim(4, event.MaxChunkEvents+1, 0x88)...), event.ErrTooLarge, -1, []string{"records"}},
		{"top-level array of MaxChunkEvents, one record", append(header(), claim(4, event.MaxChunkEvents, good.cbor()...)...), event.ErrTruncated, -1, []string{"records"}},
		{"labels array of 2^32", cut(6, []byte{0x83}, cText("t"), cText("b"), claim(4, 1<<32, 0x61, 'a')), event.ErrTooLarge, -1, []string{"records"}},
		{"labels array of 2^20, one label", cut(6, []byte{0x83}, cText("t"), cText("b"), claim(4, 1<<20, 0x61, 'a')), event.ErrTruncated, -1, []string{"records"}},
		{"symbols array of 2^32", cut(5, cUint(event.TagContextUpdated), []byte{0x85}, cText("a.go"), cText("go"), claim(4, 1<<32, 0x84)), event.ErrTooLarge, -1, []string{"records"}},
		{"event_id bytes of 2^62", cut(0, claim(2, 1<<62, 1, 2, 3)), event.ErrTruncated, -1, []string{"records"}},
		{"title text of 2^40", cut(6, []byte{0x83}, claim(3, 1<<40, 'x')), event.ErrTruncated, -1, []string{"records"}},
		{"sig bytes of 2^32", cut(7, claim(2, 1<<32, 0)), event.ErrTruncated, -1, []string{"records"}},
		{"map of 2^40 pairs", append(header(), claim(5, 1<<40, 1, 2)...), event.ErrTooLarge, -1, []string{"records"}},
		{"arrays nested 1000 deep", append(header(), bytes.Repeat([]byte{0x81}, 1000)...), event.ErrTooLarge, -1, []string{"records"}},
	}
}

func TestDecodeChunkRejectsOversizeClaimsWithoutAllocating(t *testing.T) {
	for _, c := range oversizeCases() {
		t.Run(c.name, func(t *testing.T) {
			_, err := event.DecodeChunk(c.in)
			checkDecodeError(t, err, c)
			n := bytesAllocated(func() { event.DecodeChunk(c.in) })
			if n >= 1<<20 {
				t.Errorf("decoding %d bytes allocated %d bytes; want < 1 MiB", len(c.in), n)
			}
		})
	}
}

// A chunk may claim up to MaxChunkEvents records, but a bad first record must
// fail before memory is set aside for an Event per claimed record: all that
// may be spent is the decoder's index of the raw records (a slice header and
// a small copy each).
func TestDecodeChunkFailsFastOnManyBadRecords(t *testing.T) {
	const records = 1 << 18
	in := append(header(), cborHead(4, records)...)
	in = append(in, bytes.Repeat(cUint(8), records)...) // records that are not arrays
	c := decodeCase{want: event.ErrBadRecord, record: 0, msg: []string{"record 0", "not an array"}}
	_, err := event.DecodeChunk(in)
	checkDecodeError(t, err, c)
	n := bytesAllocated(func() { event.DecodeChunk(in) })
	if perRecord := n / records; perRecord > 48 {
		t.Errorf("decoding %d one-byte records allocated %d bytes (%d per record); want at most 48 per record", records, n, perRecord)
	}
}

// patchChunk returns chunk with the first occurrence of old replaced by new
// (same length), failing the test if old is not there.
func patchChunk(t *testing.T, chunk, old, new []byte) []byte {
	t.Helper()
	i := bytes.Index(chunk, old)
	if i < 0 || len(old) != len(new) {
		t.Fatalf("cannot patch %x in chunk", old)
	}
	out := bytes.Clone(chunk)
	copy(out[i:], new)
	return out
}

func flipLast(b []byte) []byte {
	out := bytes.Clone(b)
	out[len(out)-1] ^= 0x01
	return out
}

func TestVerifyChunkNamesRecordWhoseIDDoesNotMatch(t *testing.T) {
	events := mixedEvents(t, 3)
	events[1].Kind = event.CommentAdded{Body: "hello world"}
	if err := events[1].Seal(nil); err != nil {
		t.Fatal(err)
	}
	chunk, err := event.EncodeChunk(events)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := event.VerifyChunk(chunk); err != nil {
		t.Fatalf("unpatched chunk: %v", err)
	}
	cases := []struct {
		name   string
		chunk  []byte
		record int
		id     event.EventID // the stored ID the message must name
	}{
		{"content changed", patchChunk(t, chunk, []byte("hello world"), []byte("jello world")), 1, events[1].ID},
		{"stored ID changed", patchChunk(t, chunk, events[2].ID[:], flipLast(events[2].ID[:])), 2, event.EventID(flipLast(events[2].ID[:]))},
		{"first ID changed", patchChunk(t, chunk, events[0].ID[:], flipLast(events[0].ID[:])), 0, event.EventID(flipLast(events[0].ID[:]))},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := event.DecodeChunk(c.chunk); err != nil {
				t.Fatalf("DecodeChunk does not recompute IDs, but failed: %v", err)
			}
			_, err := event.VerifyChunk(c.chunk)
			checkDecodeError(t, err, decodeCase{
				want:   event.ErrIDMismatch,
				record: c.record,
				msg:    []string{fmt.Sprintf("record %d", c.record), c.id.String()},
			})
		})
	}
}

func TestVerifySignatureRejectsBadSignatures(t *testing.T) {
	var vec chunkVector
	for _, v := range loadChunkVectors(t) {
		if v.Name == "chunk_multi_mixed_signatures" {
			vec = v
		}
	}
	if vec.Seed == "" || vec.Events[0].Sig == "" || vec.Events[1].Sig != "" {
		t.Fatal("chunk_multi_mixed_signatures: want event 0 signed, event 1 not")
	}
	seed, err := hex.DecodeString(vec.Seed)
	if err != nil {
		t.Fatal(err)
	}
	pub := ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)
	chunk := vec.chunk(t)
	sig, err := hex.DecodeString(vec.Events[0].Sig)
	if err != nil {
		t.Fatal(err)
	}
	good, err := event.VerifyChunk(chunk)
	if err != nil {
		t.Fatal(err)
	}
	if err := good[0].VerifySignature(pub); err != nil {
		t.Fatalf("vector signature: %v", err)
	}

	flippedSig := bytes.Clone(sig)
	flippedSig[10] ^= 0x80
	tampered, err := event.VerifyChunk(patchChunk(t, chunk, sig, flippedSig))
	if err != nil {
		t.Fatalf("the signature is not part of the ID, but VerifyChunk failed: %v", err)
	}
	otherKey := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	short := good[0]
	short.Sig = sig[:63]
	cases := []struct {
		name string
		e    event.Event
		pub  ed25519.PublicKey
		msg  string
	}{
		{"flipped byte", tampered[0], pub, good[0].ID.String()},
		{"unsigned", good[1], pub, "not signed"},
		{"other key", good[0], otherKey, good[0].ID.String()},
		{"63-byte signature", short, pub, good[0].ID.String()},
		{"short public key", good[0], pub[:31], good[0].ID.String()},
		{"no public key", good[0], nil, good[0].ID.String()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.e.VerifySignature(c.pub)
			checkDecodeError(t, err, decodeCase{want: event.ErrBadSignature, record: -1, msg: []string{c.msg}})
		})
	}
}

// style picks the non-canonical CBOR forms the decoder must still accept
// (docs/format.md §5: lenient about form, strict about content).
type style struct {
	wideInts     bool // integers with an 8-byte argument
	wideLengths  bool // string and array lengths with an 8-byte argument
	indefArrays  bool // 0x9f ... 0xff
	indefStrings bool // byte and text strings split into indefinite-length chunks
	trailing     []byte
}

func (s style) uint(n uint64) []byte {
	if s.wideInts {
		return cborHeadWide(0, n)
	}
	return cUint(n)
}

func (s style) str(major byte, b []byte) []byte {
	switch {
	case s.indefStrings:
		out := []byte{major<<5 | 31}
		half := len(b) / 2
		out = append(append(out, cborHead(major, uint64(half))...), b[:half]...)
		out = append(append(out, cborHead(major, uint64(len(b)-half))...), b[half:]...)
		return append(out, 0xff)
	case s.wideLengths:
		return append(cborHeadWide(major, uint64(len(b))), b...)
	}
	return append(cborHead(major, uint64(len(b))), b...)
}

func (s style) bytes(b []byte) []byte { return s.str(2, b) }
func (s style) text(t string) []byte  { return s.str(3, []byte(t)) }

func (s style) array(items ...[]byte) []byte {
	switch {
	case s.indefArrays:
		return cIndefArray(items...)
	case s.wideLengths:
		return append(cborHeadWide(4, uint64(len(items))), bytes.Join(items, nil)...)
	}
	return cArray(items...)
}

// encode writes a chunk of events of the kinds used by the lenient test in the
// given style.
func (s style) encode(t *testing.T, events []event.Event) []byte {
	t.Helper()
	var records [][]byte
	for _, e := range events {
		parent := cNull
		if e.Parent != nil {
			parent = s.bytes(e.Parent[:])
		}
		var payload []byte
		switch k := e.Kind.(type) {
		case event.IssueCreated:
			var labels [][]byte
			for _, l := range event.SortedLabels(k.Labels) {
				labels = append(labels, s.text(l))
			}
			payload = s.array(s.text(k.Title), s.text(k.Body), s.array(labels...))
		case event.ContextUpdated:
			var syms [][]byte
			for _, y := range event.SortedSymbols(k.Symbols) {
				syms = append(syms, s.array(s.text(y.Name), s.text(y.Kind), s.uint(uint64(y.LineStart)), s.uint(uint64(y.LineEnd))))
			}
			payload = s.array(s.text(k.Path), s.text(k.Language), s.array(syms...), s.text(k.Summary), s.bytes(k.ContentHash[:]))
		default:
			t.Fatalf("style.encode: kind %s not handled", e.Kind.KindName())
		}
		sig := cNull
		if len(e.Sig) > 0 {
			sig = s.bytes(e.Sig)
		}
		records = append(records, s.array(
			s.bytes(e.ID[:]), s.bytes(e.IssueID[:]), s.bytes(e.Actor[:]), s.uint(e.TS),
			parent, s.uint(e.Kind.Tag()), payload, sig))
	}
	out := append(header(), s.array(records...)...)
	return append(out, s.trailing...)
}

func TestDecodeChunkAcceptsNonCanonicalForms(t *testing.T) {
	parent := event.EventID{1, 2, 3}
	events := []event.Event{
		{IssueID: event.IssueID{9}, Actor: event.ActorID{8}, TS: 5, Parent: &parent,
			Kind: event.IssueCreated{Title: "Title", Body: "Body", Labels: []string{"p0", "bug", "a b"}}},
		{IssueID: event.FileContextIssueID("main.go"), Actor: event.ActorID{8}, TS: 1700000000000,
			Kind: event.ContextUpdated{Path: "main.go", Language: "go", Summary: "entry point", ContentHash: [32]byte{4},
				Symbols: []event.Symbol{{Name: "main", Kind: "func", LineStart: 3, LineEnd: 1<<32 - 1}, {Name: "init", Kind: "func", LineStart: 300, LineEnd: 70000}}}},
	}
	for i := range events {
		var key ed25519.PrivateKey
		if i == 0 {
			key = testKey
		}
		if err := events[i].Seal(key); err != nil {
			t.Fatal(err)
		}
	}
	canonical, err := event.EncodeChunk(events)
	if err != nil {
		t.Fatal(err)
	}
	if got := (style{}).encode(t, events); !bytes.Equal(got, canonical) {
		t.Fatalf("test encoder disagrees with EncodeChunk:\n got %x\nwant %x", got, canonical)
	}
	cases := []struct {
		name string
		s    style
	}{
		{"non-shortest integers", style{wideInts: true}},
		{"non-shortest lengths", style{wideLengths: true}},
		{"indefinite-length arrays", style{indefArrays: true}},
		{"indefinite-length strings", style{indefStrings: true}},
		{"trailing bytes", style{trailing: []byte("trailing junk \xff\x00")}},
		{"trailing second array", style{trailing: canonical[len(event.ChunkHeader):]}},
		{"all at once", style{wideInts: true, indefArrays: true, indefStrings: true, trailing: []byte{0xff}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.s.encode(t, events)
			if bytes.Equal(in, canonical) {
				t.Fatal("style produced canonical bytes; the case tests nothing")
			}
			got, err := event.VerifyChunk(in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(events) {
				t.Fatalf("decoded %d events, want %d", len(got), len(events))
			}
			if err := got[0].VerifySignature(testPublicKey()); err != nil {
				t.Error(err)
			}
			again, err := event.EncodeChunk(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, canonical) {
				t.Errorf("re-encoded chunk differs from the canonical one:\n got %x\nwant %x", again, canonical)
			}
		})
	}
}
