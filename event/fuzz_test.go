package event_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"grite/event"
)

// FuzzDecodeChunk feeds arbitrary bytes to the chunk decoders. They must not
// panic, must fail only with a *event.DecodeError, and whatever they accept
// must survive encode → decode with the same event IDs. The seeds live in
// testdata/fuzz/FuzzDecodeChunk (see TestFuzzDecodeChunkCorpus).
func FuzzDecodeChunk(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		events, err := event.DecodeChunk(b)
		verified, verr := event.VerifyChunk(b)
		if err != nil {
			requireDecodeError(t, "DecodeChunk", err)
			if verr == nil {
				t.Fatalf("VerifyChunk accepted a chunk DecodeChunk rejected with %v", err)
			}
			requireDecodeError(t, "VerifyChunk", verr)
			return
		}
		if verr != nil {
			// The only thing VerifyChunk adds is the ID check.
			requireDecodeError(t, "VerifyChunk", verr)
			if !errors.Is(verr, event.ErrIDMismatch) {
				t.Fatalf("VerifyChunk failed with %v on a chunk DecodeChunk accepts", verr)
			}
		} else if len(verified) != len(events) {
			t.Fatalf("VerifyChunk returned %d events, DecodeChunk %d", len(verified), len(events))
		}
		if len(events) == 0 {
			if _, err := event.EncodeChunk(events); !errors.Is(err, event.ErrEmptyChunk) {
				t.Fatalf("EncodeChunk of no events: %v, want ErrEmptyChunk", err)
			}
			return
		}
		canonical, err := event.EncodeChunk(events)
		if err != nil {
			t.Fatalf("re-encoding decoded events: %v", err)
		}
		again, err := event.DecodeChunk(canonical)
		if err != nil {
			t.Fatalf("decoding the re-encoded chunk: %v", err)
		}
		if len(again) != len(events) {
			t.Fatalf("re-decoded %d events, want %d", len(again), len(events))
		}
		for i := range again {
			if again[i].ID != events[i].ID {
				t.Fatalf("event %d: ID %s became %s", i, events[i].ID, again[i].ID)
			}
		}
		twice, err := event.EncodeChunk(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(twice, canonical) {
			t.Fatalf("canonical encoding is not a fixed point:\n got %x\nwant %x", twice, canonical)
		}
		// The content is the same, so the IDs check the same way.
		if _, err := event.VerifyChunk(canonical); (err == nil) != (verr == nil) {
			t.Fatalf("VerifyChunk: original %v, re-encoded %v", verr, err)
		}
	})
}

func requireDecodeError(t *testing.T, what string, err error) {
	t.Helper()
	var de *event.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("%s returned %T %q, want *event.DecodeError", what, err, err)
	}
	if de.Reason == nil || de.Error() == "" || de.Record < -1 {
		t.Fatalf("%s returned an incomplete DecodeError %#v", what, de)
	}
}

// fuzzDecodeChunkSeeds is the seed corpus, by file name: both chunk vectors,
// each cut at several points, header variants, oversize claims, a record of
// each kind and the lenient forms.
func fuzzDecodeChunkSeeds(t *testing.T) map[string][]byte {
	t.Helper()
	seeds := map[string][]byte{}
	for _, v := range loadChunkVectors(t) {
		b := v.chunk(t)
		seeds["vector-"+v.Name] = b
		for _, n := range []int{0, 10, 14, 18, 20, 60, len(b) / 2, len(b) - 1} {
			seeds[fmt.Sprintf("vector-%s-cut-%d", v.Name, n)] = b[:n]
		}
		seeds["vector-"+v.Name+"-trailing"] = append(bytes.Clone(b), 0xff, 0x00)
	}
	seeds["header-wrong-magic"] = patchedHeader(0, 'X')
	seeds["header-version-2"] = patchedHeader(8, 2, 0)
	seeds["header-version-big-endian"] = patchedHeader(8, 0, 1)
	seeds["header-codec-cbor-v2"] = patchedHeader(17, '2')
	seeds["header-codec-length-0"] = patchedHeader(10, 0)
	seeds["header-only"] = header()
	seeds["empty-array"] = append(header(), 0x80)
	good := goodRecord()
	seeds["record-of-7"] = chunkOf(cArray(good[:7]...))
	seeds["record-null"] = chunkOf(cNull)
	seeds["unknown-kind-15"] = chunkOf(goodRecord().kind(15, cText("x")).cbor())
	seeds["bad-state"] = chunkOf(goodRecord().kind(event.TagStateChanged, cText("reopened")).cbor())
	seeds["id-mismatch"] = chunkOf(goodRecord().cbor()) // its event_id is not its hash
	for _, c := range oversizeCases() {
		seeds["oversize-"+strings.NewReplacer(" ", "-", "^", "").Replace(c.name)] = c.in
	}
	events := mixedEvents(t, 14)
	for _, e := range events {
		b, err := event.EncodeChunk([]event.Event{e})
		if err != nil {
			t.Fatal(err)
		}
		seeds[fmt.Sprintf("kind-%02d-%s", e.Kind.Tag(), e.Kind.KindName())] = b
	}
	all, err := event.EncodeChunk(events)
	if err != nil {
		t.Fatal(err)
	}
	seeds["all-kinds"] = all
	lenient := style{wideInts: true, indefArrays: true, indefStrings: true, trailing: []byte{0}}
	seeds["lenient-forms"] = lenient.encode(t, []event.Event{events[0], events[12]})
	return seeds
}

func corpusFile(b []byte) []byte { return fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", b) }

// TestFuzzDecodeChunkCorpus keeps the checked-in seed corpus equal to
// fuzzDecodeChunkSeeds; GRITE_UPDATE_FUZZ_CORPUS=1 rewrites it. Files the
// fuzzer added (crashers) are left alone.
func TestFuzzDecodeChunkCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecodeChunk")
	seeds := fuzzDecodeChunkSeeds(t)
	if len(seeds) < 15 {
		t.Fatalf("only %d seeds", len(seeds))
	}
	if os.Getenv("GRITE_UPDATE_FUZZ_CORPUS") == "1" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, b := range seeds {
			if err := os.WriteFile(filepath.Join(dir, name), corpusFile(b), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	for name, b := range seeds {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("seed %s: %v (run with GRITE_UPDATE_FUZZ_CORPUS=1)", name, err)
			continue
		}
		if !bytes.Equal(got, corpusFile(b)) {
			t.Errorf("seed %s is stale (run with GRITE_UPDATE_FUZZ_CORPUS=1)", name)
		}
	}
}

// FuzzParseIssueID checks the identifier parsers on arbitrary text: no panic,
// a typed error on failure, and a success round-trips through String().
func FuzzParseIssueID(f *testing.F) {
	for _, s := range []string{
		"000102030405060708090a0b0c0d0e0f",
		"000102030405060708090A0B0C0D0E0F",
		"9c2aee7924bf7482dd3842c6ec32fd5103883b9d2354f63df2075ac61fe3d827",
		"ffffffffffffffffffffffffffffffff",
		"", "0", "00", "0g", "000102030405060708090a0b0c0d0e0",
		"000102030405060708090a0b0c0d0e0f00",
		"000102030405060708090a0b0c0d0e0g",
		"0x0102030405060708090a0b0c0d0e0f",
		" 00102030405060708090a0b0c0d0e0f",
		"ä0102030405060708090a0b0c0d0e0f",
		strings.Repeat("f", 200),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		checkParse(t, s, event.ParseIssueID, 16)
		checkParse(t, s, event.ParseEventID, 32)
		checkParse(t, s, event.ParseActorID, 16)
	})
}

func checkParse[ID interface {
	comparable
	String() string
	MarshalText() ([]byte, error)
}](t *testing.T, s string, parse func(string) (ID, error), size int) {
	t.Helper()
	id, err := parse(s)
	if err != nil {
		var ie *event.IDError
		if !errors.As(err, &ie) {
			t.Fatalf("parse %q: %T %v, want *event.IDError", s, err, err)
		}
		if ie.Error() == "" {
			t.Fatalf("parse %q: empty message", s)
		}
		return
	}
	if len(s) != 2*size {
		t.Fatalf("parse %q: accepted %d characters for a %d-byte ID", s, len(s), size)
	}
	if id.String() != strings.ToLower(s) {
		t.Fatalf("parse %q: String() = %q", s, id.String())
	}
	if text, err := id.MarshalText(); err != nil || string(text) != id.String() {
		t.Fatalf("parse %q: MarshalText = %q, %v", s, text, err)
	}
	back, err := parse(id.String())
	if err != nil || back != id {
		t.Fatalf("parse %q: String() %q parses to %v, %v", s, id.String(), back, err)
	}
}
