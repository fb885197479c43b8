package wal_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/blake2b"

	"grite/event"
	"grite/gitdir"
	"grite/internal/testrepo"
	"grite/wal"
)

// TestIndependentReaderAgreesWithFormat writes a WAL with grite's own code and
// reads it back with nothing of grite's: only the git CLI and a tiny CBOR
// decoder written here from docs/format.md §3, §5 and §6. If grite's writer and
// grite's reader shared a misreading of the format, their round trip would
// still pass; this reader catches it.
func TestIndependentReaderAgreesWithFormat(t *testing.T) {
	dir := testrepo.New(t)
	repo, err := gitdir.Discover(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := wal.Open(repo)
	alice, bob := event.ActorID{0xa1, 0xce, 0x01}, event.ActorID{0xb0, 0xb0, 0x02}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	issue, other := event.IssueID{0x11, 1}, event.IssueID{0x22, 2}
	note := "see\tthis \"note\" 🚀"
	title := "Retitled <&>"
	// The commit clock is deliberately on another day than the events: the
	// chunk's directory must come from the first event's ts, in UTC.
	commitTime := time.Date(2031, 7, 4, 23, 30, 15, 0, time.FixedZone("X", -5*3600))
	appends := []struct {
		actor  event.ActorID
		key    ed25519.PrivateKey
		events []event.Event
	}{
		{alice, nil, []event.Event{
			{IssueID: issue, Actor: alice, TS: 1700000000000, Kind: event.IssueCreated{Title: "First", Body: "line\nline", Labels: []string{"p0", "Zeta", "bug", "ä", "a b"}}},
		}},
		{alice, nil, []event.Event{ // multi-event chunk whose events straddle UTC midnight
			{IssueID: issue, Actor: alice, TS: 1709251199999, Kind: event.CommentAdded{Body: "just before midnight UTC"}}, // 2024-02-29T23:59:59.999Z
			{IssueID: issue, Actor: alice, TS: 1709251200000, Kind: event.LabelAdded{Label: "needs-triage"}},
			{IssueID: issue, Actor: alice, TS: 1709251200001, Kind: event.StateChanged{State: event.StateClosed}},
			{IssueID: issue, Actor: alice, TS: 1709251200002, Kind: event.IssueUpdated{Title: &title}},
			{IssueID: issue, Actor: alice, TS: 1709251200003, Kind: event.LinkAdded{URL: "https://example.com/x"}},
		}},
		{bob, priv, []event.Event{ // signed
			{IssueID: other, Actor: bob, TS: 1710000000000, Kind: event.IssueCreated{Title: "Second"}},
		}},
		{bob, priv, []event.Event{ // signed multi-event chunk appended by another actor
			{IssueID: other, Actor: bob, TS: 1710000000500, Kind: event.LinkAdded{URL: "https://example.com/y", Note: &note}},
			{IssueID: other, Actor: bob, TS: 1710000000600, Kind: event.DependencyAdded{Target: issue, Type: event.DepBlocks}},
			{IssueID: other, Actor: bob, TS: 1710000000700, Kind: event.AttachmentAdded{Name: "log.txt", SHA256: [32]byte{1, 2, 3}, MIME: "text/plain"}},
		}},
		{alice, nil, []event.Event{ // the context store: symbols given out of order
			{IssueID: event.FileContextIssueID("src/main.rs"), Actor: alice, TS: 1711000000000, Kind: event.ContextUpdated{
				Path: "src/main.rs", Language: "rust", Summary: "Entry point", ContentHash: [32]byte{0xaa, 0xbb},
				Symbols: []event.Symbol{{Name: "main", Kind: "function", LineStart: 1, LineEnd: 10}, {Name: "Config", Kind: "struct", LineStart: 12, LineEnd: 300}, {Name: "Config", Kind: "impl", LineStart: 22, LineEnd: 70000}},
			}},
			{IssueID: event.ProjectContextIssueID, Actor: alice, TS: 1711000000001, Kind: event.ProjectContextUpdated{Key: "framework", Value: "actix-web"}},
		}},
	}
	var commits []string
	for i := range appends {
		a := &appends[i]
		for j := range a.events {
			if err := a.events[j].Seal(a.key); err != nil {
				t.Fatal(err)
			}
		}
		res, err := w.Append(ctx, a.actor, a.events, commitTime)
		if err != nil {
			t.Fatal(err)
		}
		commits = append(commits, res.Commit.String())
	}

	// History: a linear chain, newest first from the ref.
	revs := strings.Fields(testrepo.Git(t, dir, "rev-list", "--topo-order", wal.Ref))
	if len(revs) != len(appends) {
		t.Fatalf("rev-list shows %d WAL commits, want %d", len(revs), len(appends))
	}
	for i := range revs {
		if want := commits[len(commits)-1-i]; revs[i] != want {
			t.Fatalf("rev-list[%d] = %s, want %s", i, revs[i], want)
		}
	}
	testrepo.Git(t, dir, "fsck", "--strict", "--no-dangling")

	for i, a := range appends {
		sha := commits[i]
		t.Run(fmt.Sprintf("commit%d", i), func(t *testing.T) {
			c := parseRawCommit(t, testrepo.GitRaw(t, dir, "cat-file", "commit", sha))
			// Same thing through -p, the pretty form, for the header lines.
			if pretty := testrepo.Git(t, dir, "cat-file", "-p", sha); !strings.HasPrefix(pretty, "tree "+c.tree+"\n") {
				t.Fatalf("cat-file -p disagrees with the raw commit:\n%s", pretty)
			}
			wantParent := ""
			if i > 0 {
				wantParent = commits[i-1]
			}
			if strings.Join(c.parents, " ") != wantParent {
				t.Fatalf("parents %v, want %q", c.parents, wantParent)
			}
			wantIdent := "grite <grit@local> " + strconv.FormatInt(commitTime.Unix(), 10) + " "
			if !strings.HasPrefix(c.author, wantIdent) || !strings.HasPrefix(c.committer, wantIdent) {
				t.Fatalf("author %q committer %q, want prefix %q", c.author, c.committer, wantIdent)
			}
			wantMsg := fmt.Sprintf("WAL: %d events from %s", len(a.events), hex.EncodeToString(a.actor[:])[:8])
			if c.message != wantMsg {
				t.Fatalf("message %q, want %q (exactly, no trailing newline)", c.message, wantMsg)
			}

			// Root tree: exactly meta.json (blob) and events/ (tree).
			root := testrepo.Git(t, dir, "ls-tree", sha)
			rootRe := regexp.MustCompile(`^040000 tree ([0-9a-f]{40})\tevents\n100644 blob ([0-9a-f]{40})\tmeta\.json$`)
			m := rootRe.FindStringSubmatch(root)
			if m == nil {
				t.Fatalf("root tree is not exactly events/ + meta.json:\n%s", root)
			}
			metaBlob := m[2]

			// Every path in the commit: meta.json and one chunk under events/YYYY/MM/DD.
			all := strings.Split(testrepo.Git(t, dir, "ls-tree", "-r", "-t", sha), "\n")
			var chunkLine string
			var trees []string
			for _, l := range all {
				switch {
				case strings.HasPrefix(l, "040000 tree "):
					trees = append(trees, l[strings.IndexByte(l, '\t')+1:])
				case strings.HasSuffix(l, "\tmeta.json"):
				default:
					if chunkLine != "" {
						t.Fatalf("more than one blob besides meta.json:\n%s", strings.Join(all, "\n"))
					}
					chunkLine = l
				}
			}
			chunkRe := regexp.MustCompile(`^100644 blob ([0-9a-f]{40})\tevents/(\d{4})/(\d{2})/(\d{2})/([0-9a-f]{64})\.bin$`)
			cm := chunkRe.FindStringSubmatch(chunkLine)
			if cm == nil {
				t.Fatalf("chunk entry %q is not events/YYYY/MM/DD/<64 hex>.bin", chunkLine)
			}
			day := cm[2] + "/" + cm[3] + "/" + cm[4]
			wantTrees := []string{"events", "events/" + cm[2], "events/" + cm[2] + "/" + cm[3], "events/" + day}
			if strings.Join(trees, ",") != strings.Join(wantTrees, ",") {
				t.Fatalf("trees %v, want %v", trees, wantTrees)
			}
			blob := testrepo.GitRaw(t, dir, "cat-file", "blob", cm[1])
			sum := blake2b.Sum256(blob)
			chunkHash := hex.EncodeToString(sum[:])
			if chunkHash != cm[5] {
				t.Fatalf("file name says chunk_hash %s, BLAKE2b-256 of the blob is %s", cm[5], chunkHash)
			}
			if want := time.UnixMilli(int64(a.events[0].TS)).UTC().Format("2006/01/02"); day != want {
				t.Fatalf("chunk directory %s, want the first event's UTC date %s", day, want)
			}

			// meta.json, byte for byte (serde_json to_string_pretty).
			prev := "null"
			if i > 0 {
				prev = `"` + c.parents[0] + `"`
			}
			wantMeta := "{\n" +
				"  \"schema_version\": 1,\n" +
				"  \"actor_id\": \"" + hex.EncodeToString(a.actor[:]) + "\",\n" +
				"  \"chunk_hash\": \"" + chunkHash + "\",\n" +
				"  \"prev_wal\": " + prev + "\n" +
				"}"
			if got := string(testrepo.GitRaw(t, dir, "cat-file", "blob", metaBlob)); got != wantMeta {
				t.Fatalf("meta.json\n%q\nwant\n%q", got, wantMeta)
			}

			// The chunk: 18-byte header, then one array of 8-element records.
			header, _ := hex.DecodeString("4752495445434e4b" + "0100" + "07" + "63626f722d7631")
			if !bytes.HasPrefix(blob, header) {
				t.Fatalf("chunk header % x, want % x", blob[:min(len(blob), 18)], header)
			}
			records, err := decodeChunkBody(blob[len(header):])
			if err != nil {
				t.Fatalf("independent decoder: %v", err)
			}
			if len(records) != len(a.events) {
				t.Fatalf("%d records, want %d", len(records), len(a.events))
			}
			for j, r := range records {
				want := a.events[j] // stored order is append order
				if r.id != want.ID.String() {
					t.Errorf("record %d: event_id %s, grite sealed %s", j, r.id, want.ID)
				}
				if got := blake2b.Sum256(r.preimage); hex.EncodeToString(got[:]) != r.id {
					t.Errorf("record %d: event_id %s but BLAKE2b-256(preimage) = %x", j, r.id, got)
				}
				if r.issue != hex.EncodeToString(want.IssueID[:]) || r.actor != hex.EncodeToString(want.Actor[:]) || r.ts != want.TS || r.tag != want.Kind.Tag() {
					t.Errorf("record %d: issue %s actor %s ts %d tag %d; want %s %s %d %d", j, r.issue, r.actor, r.ts, r.tag, want.IssueID, want.Actor, want.TS, want.Kind.Tag())
				}
				// Context events sit on derived issues (docs/format.md §1):
				// BLAKE2b parameterised for 16 bytes over the path, and ff×16.
				switch r.tag {
				case 13:
					h, _ := blake2b.New(16, nil)
					h.Write([]byte("grite:context:file:" + r.payload[0].(string)))
					if r.issue != hex.EncodeToString(h.Sum(nil)) {
						t.Errorf("record %d: file context on issue %s, want BLAKE2b-16 of its path %x", j, r.issue, h.Sum(nil))
					}
				case 14:
					if r.issue != strings.Repeat("ff", 16) {
						t.Errorf("record %d: project context on issue %s, want ff×16", j, r.issue)
					}
				}
				if r.parent != nil {
					t.Errorf("record %d: parent %v, want null", j, r.parent)
				}
				switch {
				case a.key == nil && r.sig != nil:
					t.Errorf("record %d: unsigned append stored sig %x", j, r.sig)
				case a.key != nil && (len(r.sig) != ed25519.SignatureSize || !ed25519.Verify(pub, mustDecodeHex(t, r.id), r.sig)):
					t.Errorf("record %d: signature %x does not verify over the raw event_id", j, r.sig)
				}
				checkPayload(t, j, want.Kind, r.payload)
			}
		})
	}
}

// checkPayload compares a decoded payload with what was appended, including
// the sorting docs/format.md §3.3 requires and null for absent optional text.
func checkPayload(t *testing.T, j int, k event.Kind, got []any) {
	t.Helper()
	var want []any
	switch k := k.(type) {
	case event.IssueCreated:
		// docs/format.md §12 gives this byte-wise order.
		labels := []any{}
		if len(k.Labels) > 0 {
			labels = []any{"Zeta", "a b", "bug", "p0", "ä"}
		}
		want = []any{k.Title, k.Body, labels}
	case event.CommentAdded:
		want = []any{k.Body}
	case event.LabelAdded:
		want = []any{k.Label}
	case event.StateChanged:
		want = []any{string(k.State)}
	case event.IssueUpdated:
		want = []any{optional(k.Title), optional(k.Body)}
	case event.LinkAdded:
		want = []any{k.URL, optional(k.Note)}
	case event.DependencyAdded:
		want = []any{k.Target[:], string(k.Type)}
	case event.AttachmentAdded:
		want = []any{k.Name, k.SHA256[:], k.MIME}
	case event.ContextUpdated:
		// Sorted by (name, kind) byte-wise, stable (§3.3): "Config" <
		// "main", and "impl" < "struct"; line numbers are uints.
		want = []any{k.Path, k.Language, []any{
			[]any{"Config", "impl", uint64(22), uint64(70000)},
			[]any{"Config", "struct", uint64(12), uint64(300)},
			[]any{"main", "function", uint64(1), uint64(10)},
		}, k.Summary, k.ContentHash[:]}
	case event.ProjectContextUpdated:
		want = []any{k.Key, k.Value}
	default:
		t.Fatalf("record %d: test does not know kind %T", j, k)
	}
	if fmt.Sprintf("%#v", got) != fmt.Sprintf("%#v", want) {
		t.Errorf("record %d payload\n%#v\nwant\n%#v", j, got, want)
	}
}

func optional(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func mustDecodeHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

type rawCommit struct {
	tree, author, committer, message string
	parents                          []string
}

func parseRawCommit(t *testing.T, b []byte) rawCommit {
	t.Helper()
	head, msg, ok := bytes.Cut(b, []byte("\n\n"))
	if !ok {
		t.Fatalf("commit without a message:\n%s", b)
	}
	c := rawCommit{message: string(msg)}
	for _, l := range strings.Split(string(head), "\n") {
		k, v, _ := strings.Cut(l, " ")
		switch k {
		case "tree":
			c.tree = v
		case "parent":
			c.parents = append(c.parents, v)
		case "author":
			c.author = v
		case "committer":
			c.committer = v
		default:
			t.Fatalf("unexpected commit header %q", l)
		}
	}
	return c
}

// chunkRecord is one decoded record, with the preimage rebuilt from its bytes.
type chunkRecord struct {
	id, issue, actor string
	ts, tag          uint64
	parent           any
	payload          []any
	sig              []byte
	preimage         []byte
}

// decodeChunkBody decodes the CBOR after the header: array(N) of records.
// It accepts only the canonical form grite must write (docs/format.md §3.2):
// shortest arguments, definite lengths, no maps, tags or floats.
func decodeChunkBody(b []byte) ([]chunkRecord, error) {
	d := &cborDecoder{b: b}
	major, n, err := d.head()
	if err != nil {
		return nil, err
	}
	if major != 4 {
		return nil, fmt.Errorf("chunk body is major type %d, want an array", major)
	}
	var out []chunkRecord
	for i := uint64(0); i < n; i++ {
		major, fields, err := d.head()
		if err != nil {
			return nil, err
		}
		if major != 4 || fields != 8 || d.b[d.off-1] != 0x88 {
			return nil, fmt.Errorf("record %d: major %d with %d elements, want 0x88", i, major, fields)
		}
		var r chunkRecord
		id, err := d.bytesOf(32)
		if err != nil {
			return nil, fmt.Errorf("record %d event_id: %w", i, err)
		}
		r.id = hex.EncodeToString(id)
		// Elements 1..6 are byte-for-byte the preimage after its schema slot.
		start := d.off
		var vals [6]any
		for k := range vals {
			if vals[k], err = d.value(0); err != nil {
				return nil, fmt.Errorf("record %d element %d: %w", i, k+1, err)
			}
		}
		r.preimage = append([]byte{0x87, 0x01}, d.b[start:d.off]...)
		issue, ok1 := vals[0].([]byte)
		actor, ok2 := vals[1].([]byte)
		ts, ok3 := vals[2].(uint64)
		tag, ok4 := vals[4].(uint64)
		payload, ok5 := vals[5].([]any)
		if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || len(issue) != 16 || len(actor) != 16 {
			return nil, fmt.Errorf("record %d: bad field types %#v", i, vals)
		}
		if p, ok := vals[3].([]byte); vals[3] != nil && (!ok || len(p) != 32) {
			return nil, fmt.Errorf("record %d: parent %#v is neither null nor bstr(32)", i, vals[3])
		}
		r.issue, r.actor, r.ts, r.tag, r.parent, r.payload = hex.EncodeToString(issue), hex.EncodeToString(actor), ts, tag, vals[3], payload
		sig, err := d.value(0)
		if err != nil {
			return nil, fmt.Errorf("record %d sig: %w", i, err)
		}
		if sig != nil {
			s, ok := sig.([]byte)
			if !ok {
				return nil, fmt.Errorf("record %d: sig %#v is neither null nor bytes", i, sig)
			}
			r.sig = s
		}
		out = append(out, r)
	}
	if d.off != len(d.b) {
		return nil, fmt.Errorf("%d bytes after the record array", len(d.b)-d.off)
	}
	return out, nil
}

type cborDecoder struct {
	b   []byte
	off int
}

var errShort = errors.New("truncated CBOR")

// head reads an initial byte and its argument, refusing non-shortest forms.
func (d *cborDecoder) head() (major byte, arg uint64, err error) {
	if d.off >= len(d.b) {
		return 0, 0, errShort
	}
	ib := d.b[d.off]
	d.off++
	major, info := ib>>5, ib&0x1f
	switch {
	case info < 24:
		return major, uint64(info), nil
	case info > 27:
		return 0, 0, fmt.Errorf("additional info %d (indefinite or reserved) at %d", info, d.off-1)
	}
	size := 1 << (info - 24)
	if d.off+size > len(d.b) {
		return 0, 0, errShort
	}
	for _, c := range d.b[d.off : d.off+size] {
		arg = arg<<8 | uint64(c)
	}
	d.off += size
	if limits := []uint64{24, 1 << 8, 1 << 16, 1 << 32}; arg < limits[info-24] {
		return 0, 0, fmt.Errorf("argument %d not in shortest form at %d", arg, d.off-size-1)
	}
	return major, arg, nil
}

func (d *cborDecoder) bytesOf(n int) ([]byte, error) {
	v, err := d.value(0)
	if err != nil {
		return nil, err
	}
	b, ok := v.([]byte)
	if !ok || len(b) != n {
		return nil, fmt.Errorf("%#v is not bstr(%d)", v, n)
	}
	return b, nil
}

// value decodes one item: uint64, []byte, string, []any or nil.
func (d *cborDecoder) value(depth int) (any, error) {
	if depth > 8 {
		return nil, errors.New("nested too deep")
	}
	major, arg, err := d.head()
	if err != nil {
		return nil, err
	}
	switch major {
	case 0:
		return arg, nil
	case 2, 3:
		if arg > uint64(len(d.b)-d.off) {
			return nil, errShort
		}
		s := d.b[d.off : d.off+int(arg)]
		d.off += int(arg)
		if major == 3 {
			return string(s), nil
		}
		return bytes.Clone(s), nil
	case 4:
		if arg > uint64(len(d.b)-d.off) {
			return nil, errShort
		}
		out := make([]any, 0, arg)
		for range arg {
			v, err := d.value(depth + 1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case 7:
		if arg == 22 && d.b[d.off-1] == 0xf6 {
			return nil, nil
		}
	}
	return nil, fmt.Errorf("unexpected CBOR major %d arg %d at %d", major, arg, d.off)
}
