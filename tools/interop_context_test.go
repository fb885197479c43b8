package tools_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"

	"grite/internal/testrepo"
	"grite/tools"
)

// The context store's interop fixture: the spec's vectors of kinds 13 and
// 14 (testdata/interop/context-vectors.json, copied from vectors.json)
// made into WAL commits as the original writes them, with nothing of
// grite-go's: the chunk is assembled from each vector's preimage bytes,
// and the commit from git's plumbing. grite-go must read back exactly the
// records the vectors describe, the newest of each path and key winning
// (docs/format.md §10) whatever the commit order.

type contextVector struct {
	Name  string `json:"name"`
	Event struct {
		TS          uint64 `json:"ts_unix_ms"`
		Kind        string `json:"kind"`
		Path        string `json:"path"`
		Language    string `json:"language"`
		Summary     string `json:"summary"`
		ContentHash string `json:"content_hash"`
		Symbols     []struct {
			Name      string `json:"name"`
			Kind      string `json:"kind"`
			LineStart uint32 `json:"line_start"`
			LineEnd   uint32 `json:"line_end"`
		} `json:"symbols"`
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"event"`
	PreimageHex string `json:"preimage_hex"`
	EventIDHex  string `json:"event_id_hex"`
}

func loadContextVectors(t *testing.T) map[string]contextVector {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(interopDir, "context-vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var vs []contextVector
	if err := json.Unmarshal(b, &vs); err != nil {
		t.Fatal(err)
	}
	out := map[string]contextVector{}
	for _, v := range vs {
		out[v.Name] = v
	}
	return out
}

// record is a chunk record made from a preimage (docs/format.md §5): the
// schema version replaced by the event ID, and a null signature.
func record(t *testing.T, preimage []byte) []byte {
	t.Helper()
	if !bytes.HasPrefix(preimage, []byte{0x87, 0x01}) {
		t.Fatalf("preimage % x does not start with 87 01", preimage[:2])
	}
	id := blake2b.Sum256(preimage)
	rec := append([]byte{0x88, 0x58, 0x20}, id[:]...)
	rec = append(rec, preimage[2:]...)
	return append(rec, 0xf6)
}

// commitChunk writes one WAL commit holding records, on top of the
// current WAL head, with git's plumbing only.
func commitChunk(t *testing.T, dir string, firstTS uint64, records ...[]byte) {
	t.Helper()
	chunk, _ := hex.DecodeString("4752495445434e4b01000763626f722d7631")
	chunk = append(chunk, 0x80+byte(len(records)))
	for _, r := range records {
		chunk = append(chunk, r...)
	}
	sum := blake2b.Sum256(chunk)
	hash := hex.EncodeToString(sum[:])
	git := func(stdin []byte, args ...string) string {
		return strings.TrimSpace(string(testrepo.GitStdin(t, dir, stdin, args...)))
	}
	blob := git(chunk, "hash-object", "-w", "--stdin")
	tree := git([]byte("100644 blob "+blob+"\t"+hash+".bin\n"), "mktree")
	day := time.UnixMilli(int64(firstTS)).UTC()
	for _, name := range []string{fmt.Sprintf("%02d", day.Day()), fmt.Sprintf("%02d", day.Month()), fmt.Sprintf("%04d", day.Year()), "events"} {
		tree = git([]byte("040000 tree "+tree+"\t"+name+"\n"), "mktree")
	}
	prev, err := testrepo.GitErr(dir, "rev-parse", "-q", "--verify", "refs/grite/wal")
	prevJSON, parent := "null", []string{}
	if err == nil {
		prevJSON, parent = `"`+prev+`"`, []string{"-p", prev}
	}
	meta := "{\n  \"schema_version\": 1,\n  \"actor_id\": \"101112131415161718191a1b1c1d1e1f\",\n  \"chunk_hash\": \"" + hash + "\",\n  \"prev_wal\": " + prevJSON + "\n}"
	metaBlob := git([]byte(meta), "hash-object", "-w", "--stdin")
	root := git([]byte("040000 tree "+tree+"\tevents\n100644 blob "+metaBlob+"\tmeta.json\n"), "mktree")
	commit := git(nil, append(append([]string{"commit-tree", root}, parent...), "-m", fmt.Sprintf("WAL: %d events from 10111213", len(records)))...)
	git(nil, "update-ref", "refs/grite/wal", commit)
}

// TestContextInTheOriginalsFormatReadsBack: the vectors' context events,
// in the original's chunks, read back as the records they describe; a
// newer record of the same path (the d13 preimage with a later ts and
// another content hash), written in an earlier commit, wins over the
// older one written after it.
func TestContextInTheOriginalsFormatReadsBack(t *testing.T) {
	vs := loadContextVectors(t)
	d13, d14, sentinel := vs["d13_context_updated_unsorted_symbols"], vs["d14_project_context_updated"], vs["x_project_context_sentinel_issue"]
	pre := func(v contextVector) []byte {
		b, err := hex.DecodeString(v.PreimageHex)
		if err != nil {
			t.Fatal(err)
		}
		if id := blake2b.Sum256(b); hex.EncodeToString(id[:]) != v.EventIDHex {
			t.Fatalf("%s: preimage does not hash to its event ID", v.Name)
		}
		return b
	}
	older := pre(d13)
	// The same record, 1 ms later, with content hash bb×32.
	newerHex := strings.Replace(d13.PreimageHex, "1b0000018bcfe592f8", "1b0000018bcfe592f9", 1)
	newerHex = strings.Replace(newerHex, "5820"+strings.Repeat("aa", 32), "5820"+strings.Repeat("bb", 32), 1)
	newer, _ := hex.DecodeString(newerHex)

	dir := testrepo.New(t)
	commitChunk(t, dir, d13.Event.TS+1, record(t, newer), record(t, pre(d14)))
	commitChunk(t, dir, d13.Event.TS, record(t, older), record(t, pre(sentinel)))
	testrepo.Git(t, dir, "fsck", "--strict", "--no-dangling")

	s, err := tools.Open(t.Context(), tools.OpenOptions{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	show, err := tools.ContextShow.Call(t.Context(), s, tools.ContextShowInput{Path: d13.Event.Path})
	if err != nil {
		t.Fatal(err)
	}
	// The vector's symbols, in the canonical order (§3.3) the chunk holds.
	got, _ := json.Marshal(show)
	want := `{"path":"src/main.rs","language":"rust","summary":"Entry point","content_hash":"` + strings.Repeat("bb", 32) + `",` +
		`"symbols":[{"name":"Config","kind":"struct","line_start":12,"line_end":20},{"name":"main","kind":"function","line_start":1,"line_end":10}],"symbol_count":2}`
	if string(got) != want {
		t.Fatalf("show\n%s\nwant\n%s", got, want)
	}
	proj, err := tools.ContextProject.Call(t.Context(), s, struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := json.Marshal(proj); string(got) != `{"entries":[{"key":"build_system","value":"cargo"},{"key":"framework","value":"actix-web"}],"count":2}` {
		t.Fatalf("project: %s", got)
	}
	q, err := tools.ContextQuery.Call(t.Context(), s, tools.ContextQueryInput{Query: "main"})
	if err != nil || q.Total != 1 || q.Matches[0].Path != "src/main.rs" || q.Matches[0].LineEnd != 10 {
		t.Fatalf("query main: %+v, %v", q, err)
	}
	// A rebuild reads the same.
	if _, err := tools.Rebuild.Call(t.Context(), s, tools.RebuildInput{}); err != nil {
		t.Fatal(err)
	}
	again, err := tools.ContextShow.Call(t.Context(), s, tools.ContextShowInput{Path: d13.Event.Path})
	if got, _ := json.Marshal(again); err != nil || string(got) != want {
		t.Fatalf("after a rebuild: %s, %v", got, err)
	}
}
