package event_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"grite/event"
)

// This file holds what the hostile-input, property, fuzz and benchmark tests
// share: a tiny hand-rolled CBOR writer (so tests can build exactly the bytes
// they mean, canonical or not), a record builder, a seeded random event
// generator and the chunk vectors.

// cborHead writes a CBOR head with the shortest argument, as the canonical
// encoder does.
func cborHead(major byte, n uint64) []byte {
	m := major << 5
	switch {
	case n < 24:
		return []byte{m | byte(n)}
	case n <= 0xff:
		return []byte{m | 24, byte(n)}
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16([]byte{m | 25}, uint16(n))
	case n <= 0xffffffff:
		return binary.BigEndian.AppendUint32([]byte{m | 26}, uint32(n))
	default:
		return binary.BigEndian.AppendUint64([]byte{m | 27}, n)
	}
}

// cborHeadWide writes a head whose argument always takes 8 bytes: valid CBOR,
// but not the shortest form.
func cborHeadWide(major byte, n uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{major<<5 | 27}, n)
}

func cUint(n uint64) []byte  { return cborHead(0, n) }
func cNeg(n uint64) []byte   { return cborHead(1, n) } // the integer -1-n
func cBytes(b []byte) []byte { return append(cborHead(2, uint64(len(b))), b...) }
func cText(s string) []byte  { return append(cborHead(3, uint64(len(s))), s...) }
func cArray(items ...[]byte) []byte {
	return append(cborHead(4, uint64(len(items))), bytes.Join(items, nil)...)
}

// cIndefArray writes an indefinite-length array (0x9f ... 0xff).
func cIndefArray(items ...[]byte) []byte {
	out := append([]byte{0x9f}, bytes.Join(items, nil)...)
	return append(out, 0xff)
}

var cNull = []byte{0xf6}

func filled(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }

// chunkOf puts raw CBOR records behind the version-1 header.
func chunkOf(records ...[]byte) []byte {
	return append(bytes.Clone(event.ChunkHeader), cArray(records...)...)
}

// Record slots (docs/format.md §5).
const (
	slotEventID = iota
	slotIssueID
	slotActor
	slotTS
	slotParent
	slotTag
	slotPayload
	slotSig
)

// record is the eight CBOR-encoded slots of one chunk record.
type record [8][]byte

// goodRecord is a well-formed IssueCreated record (its event ID is not the
// hash of its content; DecodeChunk does not check that).
func goodRecord() record {
	return record{
		cBytes(filled(32, 0xee)),
		cBytes(filled(16, 0x01)),
		cBytes(filled(16, 0x02)),
		cUint(1700000000000),
		cNull,
		cUint(event.TagIssueCreated),
		cArray(cText("Title"), cText("Body"), cArray(cText("bug"), cText("p0"))),
		cNull,
	}
}

func (r record) with(slot int, v []byte) record { r[slot] = v; return r }

func (r record) kind(tag uint64, payload ...[]byte) record {
	r[slotTag] = cUint(tag)
	r[slotPayload] = cArray(payload...)
	return r
}

func (r record) cbor() []byte { return cArray(r[:]...) }

// testRand is the one source of randomness for tests: seeded, so a failure
// reproduces.
func testRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x67726974)) }

var textPool = []string{"", "bug", "p0", "Zeta", "a b", "ä", "日本語", "line\nbreak", "open", "closed", "blocks", "\x00", "🦀"}

func randText(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0, 1, 2:
		return textPool[r.IntN(len(textPool))]
	case 3:
		// Long enough to need a two-byte (and now and then four-byte) length head.
		n := 24 + r.IntN(300)
		if r.IntN(20) == 0 {
			n = 65536 + r.IntN(100)
		}
		return strings.Repeat("x", n)
	}
	var sb strings.Builder
	for n := r.IntN(20); n > 0; n-- {
		// Any rune: an invalid one (surrogate, too large) becomes U+FFFD, which
		// keeps the string valid UTF-8 as Go strings from callers are.
		sb.WriteRune(rune(r.IntN(0x110000)))
	}
	return sb.String()
}

func randOptText(r *rand.Rand) *string {
	if r.IntN(3) == 0 {
		return nil
	}
	s := randText(r)
	return &s
}

func randFill(r *rand.Rand, b []byte) {
	for i := range b {
		b[i] = byte(r.Uint32())
	}
}

func randLabels(r *rand.Rand) []string {
	labels := make([]string, r.IntN(6))
	for i := range labels {
		labels[i] = textPool[r.IntN(len(textPool))] // from the pool: duplicates happen
	}
	return labels
}

// randKind returns a random payload of the kind with the given tag.
func randKind(r *rand.Rand, tag uint64) event.Kind {
	states := []event.State{event.StateOpen, event.StateClosed}
	deps := []event.DepType{event.DepBlocks, event.DepDependsOn, event.DepRelatedTo}
	switch tag {
	case event.TagIssueCreated:
		return event.IssueCreated{Title: randText(r), Body: randText(r), Labels: randLabels(r)}
	case event.TagIssueUpdated:
		return event.IssueUpdated{Title: randOptText(r), Body: randOptText(r)}
	case event.TagCommentAdded:
		return event.CommentAdded{Body: randText(r)}
	case event.TagLabelAdded:
		return event.LabelAdded{Label: randText(r)}
	case event.TagLabelRemoved:
		return event.LabelRemoved{Label: randText(r)}
	case event.TagStateChanged:
		return event.StateChanged{State: states[r.IntN(2)]}
	case event.TagLinkAdded:
		return event.LinkAdded{URL: randText(r), Note: randOptText(r)}
	case event.TagAssigneeAdded:
		return event.AssigneeAdded{User: randText(r)}
	case event.TagAssigneeRemoved:
		return event.AssigneeRemoved{User: randText(r)}
	case event.TagAttachmentAdded:
		k := event.AttachmentAdded{Name: randText(r), MIME: randText(r)}
		randFill(r, k.SHA256[:])
		return k
	case event.TagDependencyAdded, event.TagDependencyRemoved:
		var target event.IssueID
		randFill(r, target[:])
		if tag == event.TagDependencyAdded {
			return event.DependencyAdded{Target: target, Type: deps[r.IntN(3)]}
		}
		return event.DependencyRemoved{Target: target, Type: deps[r.IntN(3)]}
	case event.TagContextUpdated:
		k := event.ContextUpdated{Path: randText(r), Language: randText(r), Summary: randText(r)}
		for n := r.IntN(5); n > 0; n-- {
			k.Symbols = append(k.Symbols, event.Symbol{
				Name:      textPool[r.IntN(4)],
				Kind:      textPool[r.IntN(4)],
				LineStart: r.Uint32(),
				LineEnd:   r.Uint32(),
			})
		}
		randFill(r, k.ContentHash[:])
		return k
	case event.TagProjectContextUpdated:
		return event.ProjectContextUpdated{Key: randText(r), Value: randText(r)}
	}
	panic("randKind: unknown tag")
}

// randEvent returns an unsealed random event of the given kind.
func randEvent(r *rand.Rand, tag uint64) event.Event {
	e := event.Event{Kind: randKind(r, tag)}
	randFill(r, e.IssueID[:])
	randFill(r, e.Actor[:])
	switch r.IntN(4) {
	case 0:
		e.TS = r.Uint64N(24) // one-byte integers
	case 1:
		e.TS = r.Uint64() // up to 2^64-1
	default:
		e.TS = 1700000000000 + r.Uint64N(1<<40)
	}
	if r.IntN(3) == 0 {
		var p event.EventID
		randFill(r, p[:])
		e.Parent = &p
	}
	return e
}

// testKey is a fixed signing key (the seed of the chunk vectors), so signed
// fixtures are reproducible.
var testKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{0x42}, ed25519.SeedSize))

func testPublicKey() ed25519.PublicKey { return testKey.Public().(ed25519.PublicKey) }

// sampleEvent returns a deterministic, unsealed event of kind (i mod 14)+1
// with the field sizes of real use: short titles and labels, bodies of a few
// lines, 32-byte hashes.
func sampleEvent(i int) event.Event {
	e := event.Event{TS: 1700000000000 + uint64(i)*1000}
	binary.BigEndian.PutUint64(e.IssueID[:], uint64(i/14))
	binary.BigEndian.PutUint64(e.Actor[:], uint64(i%3))
	if i%5 == 4 {
		p := event.EventID{byte(i)}
		e.Parent = &p
	}
	n := strconv.Itoa(i)
	body := strings.Repeat("Steps to reproduce and what was expected instead. ", 1+i%4)
	title := "Sync drops events when the remote was rewritten #" + n
	var sum [32]byte
	binary.BigEndian.PutUint64(sum[:], uint64(i))
	switch uint64(i%14) + 1 {
	case event.TagIssueCreated:
		e.Kind = event.IssueCreated{Title: title, Body: body, Labels: []string{"p1", "bug", "area/sync"}}
	case event.TagIssueUpdated:
		e.Kind = event.IssueUpdated{Title: &title}
	case event.TagCommentAdded:
		e.Kind = event.CommentAdded{Body: body}
	case event.TagLabelAdded:
		e.Kind = event.LabelAdded{Label: "needs-review"}
	case event.TagLabelRemoved:
		e.Kind = event.LabelRemoved{Label: "p1"}
	case event.TagStateChanged:
		e.Kind = event.StateChanged{State: event.StateClosed}
	case event.TagLinkAdded:
		note := "upstream report"
		e.Kind = event.LinkAdded{URL: "https://example.com/issues/" + n, Note: &note}
	case event.TagAssigneeAdded:
		e.Kind = event.AssigneeAdded{User: "agent-" + n}
	case event.TagAssigneeRemoved:
		e.Kind = event.AssigneeRemoved{User: "agent-" + n}
	case event.TagAttachmentAdded:
		e.Kind = event.AttachmentAdded{Name: "trace-" + n + ".log", SHA256: sum, MIME: "text/plain"}
	case event.TagDependencyAdded:
		e.Kind = event.DependencyAdded{Target: event.IssueID{byte(i)}, Type: event.DepBlocks}
	case event.TagDependencyRemoved:
		e.Kind = event.DependencyRemoved{Target: event.IssueID{byte(i)}, Type: event.DepRelatedTo}
	case event.TagContextUpdated:
		e.IssueID = event.FileContextIssueID("wal/append" + n + ".go")
		e.Kind = event.ContextUpdated{
			Path: "wal/append" + n + ".go", Language: "go", Summary: "appends chunk commits with compare-and-swap",
			Symbols: []event.Symbol{
				{Name: "Append", Kind: "func", LineStart: 40, LineEnd: 96},
				{Name: "WAL", Kind: "type", LineStart: 12, LineEnd: 20},
				{Name: "Open", Kind: "func", LineStart: 22, LineEnd: 38},
			},
			ContentHash: sum,
		}
	case event.TagProjectContextUpdated:
		e.IssueID = event.ProjectContextIssueID
		e.Kind = event.ProjectContextUpdated{Key: "test-command", Value: "go test -race ./..."}
	}
	return e
}

// mixedEvents returns n sealed sample events cycling through all fourteen
// kinds, every other one signed.
func mixedEvents(tb testing.TB, n int) []event.Event {
	tb.Helper()
	events := make([]event.Event, n)
	for i := range events {
		events[i] = sampleEvent(i)
		var key ed25519.PrivateKey
		if i%2 == 0 {
			key = testKey
		}
		if err := events[i].Seal(key); err != nil {
			tb.Fatal(err)
		}
	}
	return events
}

// chunkVector is the part of a chunk vector in testdata/vectors.json these
// tests use.
type chunkVector struct {
	Name     string `json:"name"`
	ChunkHex string `json:"chunk_hex"`
	Seed     string `json:"signing_seed_hex"`
	Events   []struct {
		EventID string `json:"event_id"`
		Sig     string `json:"sig"`
	} `json:"events"`
}

func (v chunkVector) chunk(tb testing.TB) []byte {
	tb.Helper()
	b, err := hex.DecodeString(v.ChunkHex)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func loadChunkVectors(tb testing.TB) []chunkVector {
	tb.Helper()
	b, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var f struct {
		ChunkVectors []chunkVector `json:"chunk_vectors"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		tb.Fatal(err)
	}
	if len(f.ChunkVectors) < 2 {
		tb.Fatalf("want at least 2 chunk vectors, got %d", len(f.ChunkVectors))
	}
	return f.ChunkVectors
}

// bytesAllocated reports the heap bytes f allocates, averaged over a few runs.
// Callers must not run in parallel with other tests.
func bytesAllocated(f func()) uint64 {
	const runs = 5
	f() // warm up lazily initialised state
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range runs {
		f()
	}
	runtime.ReadMemStats(&after)
	return (after.TotalAlloc - before.TotalAlloc) / runs
}
