package tools_test

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "github.com/mattn/go-sqlite3"

	"grite/actor"
	"grite/event"
	"grite/tools"
)

// viewDB opens the session's view file directly, as another program would.
func viewDB(t *testing.T, s *tools.Session) *sql.DB {
	t.Helper()
	stats, err := tools.DBStats.Call(context.Background(), s, tools.NoInput{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", stats.Path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// tamperView rewrites, in the view's SQLite file, the stored record of
// every event whose record contains old: the cache damaged behind grite's
// back. where narrows the rows (SQL on the events table).
func tamperView(t *testing.T, s *tools.Session, old, new []byte, where string) int {
	t.Helper()
	db := viewDB(t, s)
	rows, err := db.Query(`SELECT event_id, record FROM events WHERE ` + where)
	if err != nil {
		t.Fatal(err)
	}
	changed := map[string][]byte{}
	for rows.Next() {
		var id string
		var rec []byte
		if err := rows.Scan(&id, &rec); err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(rec, old) {
			changed[id] = bytes.ReplaceAll(rec, old, new)
		}
	}
	rows.Close()
	for id, rec := range changed {
		if _, err := db.Exec(`UPDATE events SET record=? WHERE event_id=?`, rec, id); err != nil {
			t.Fatal(err)
		}
	}
	return len(changed)
}

// signatureOf returns the signature of the event whose record holds text.
func signatureOf(t *testing.T, s *tools.Session, text string) []byte {
	t.Helper()
	db := viewDB(t, s)
	rows, err := db.Query(`SELECT record FROM events`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var rec []byte
		if err := rows.Scan(&rec); err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(rec, []byte(text)) {
			continue
		}
		evs, err := event.DecodeChunk(append(append([]byte(nil), event.ChunkHeader...), rec...))
		if err != nil || len(evs) != 1 || len(evs[0].Sig) == 0 {
			t.Fatalf("record of %q: %v %+v", text, err, evs)
		}
		return evs[0].Sig
	}
	t.Fatalf("no record holds %q", text)
	return nil
}

// db check finds an event of the view whose content no longer hashes to its
// ID; doctor reports it too, and its fix (a rebuild from the WAL) clears it.
func TestDBCheckFindsDamagedViewEvents(t *testing.T) {
	r := newCoordRepo(t)
	a := r.agent("checker")
	id := a.create("checked issue")
	coordMust(a, tools.IssueComment, tools.IssueCommentInput{ID: id, Body: "original comment text"})

	out := coordMust(a, tools.DBCheck, tools.DBCheckInput{VerifyParents: true})
	if out.EventsChecked != 2 || out.EventsValid != 2 || out.CorruptCount != 0 || len(out.Errors) != 0 {
		t.Fatalf("healthy view: %+v", out)
	}

	if n := tamperView(t, a.s, []byte("original comment"), []byte("tampered comment"), "1"); n != 1 {
		t.Fatalf("tampered %d records, want 1", n)
	}
	out = coordMust(a, tools.DBCheck, tools.DBCheckInput{})
	if out.EventsChecked != 2 || out.EventsValid != 1 || out.CorruptCount != 1 || !strings.HasPrefix(out.Errors[0].Error, "hash mismatch: expected ") || out.Errors[0].IssueID != id {
		t.Fatalf("tampered view: %+v", out)
	}
	doc := coordMust(a, tools.Doctor, tools.DoctorInput{})
	if doc.Healthy || !failed(doc, "view_events") {
		t.Fatalf("doctor on a tampered view: %+v", doc)
	}
	doc = coordMust(a, tools.Doctor, tools.DoctorInput{Fix: true})
	if !doc.Fixed {
		t.Fatalf("doctor --fix: %+v", doc)
	}
	if out = coordMust(a, tools.DBCheck, tools.DBCheckInput{VerifyParents: true}); out.CorruptCount != 0 {
		t.Fatalf("after the rebuild: %+v", out)
	}

}

// checkEvents (db check's core) over events built by hand, since grite's
// own writes set no parent: a parent must be an event of the same issue.
func TestCheckEventsParents(t *testing.T) {
	mk := func(issue byte, ts uint64, parent *event.EventID) event.Event {
		e := event.Event{IssueID: event.IssueID{issue}, Actor: event.ActorID{7}, TS: ts, Parent: parent, Kind: event.CommentAdded{Body: "c"}}
		id, err := e.ComputeID()
		if err != nil {
			t.Fatal(err)
		}
		e.ID = id
		return e
	}
	root := mk(1, 1, nil)
	child := mk(1, 2, &root.ID)
	other := mk(2, 3, &root.ID) // its parent is an event of another issue
	for _, tc := range []struct {
		name          string
		events        []event.Event
		verifyParents bool
		wantCorrupt   int
	}{
		{"parents present", []event.Event{root, child}, true, 0},
		{"parent gone, not checked", []event.Event{child}, false, 0},
		{"parent gone", []event.Event{child}, true, 1},
		{"parent in another issue", []event.Event{root, other}, true, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := tools.CheckEvents(tc.events, tc.verifyParents)
			if out.CorruptCount != tc.wantCorrupt || out.EventsValid != len(tc.events) {
				t.Fatalf("%+v", out)
			}
			if tc.wantCorrupt > 0 && !strings.HasPrefix(out.Errors[0].Error, "missing parent: "+root.ID.String()) {
				t.Fatalf("error: %+v", out.Errors)
			}
		})
	}
}

func failed(d tools.DoctorOutput, name string) bool {
	for _, c := range d.Checks {
		if c.Name == name {
			return !c.OK
		}
	}
	return false
}

// db verify sorts every event into valid, invalid, unknown key and
// unsigned, lists the first ten problems unless verbose, and does not fail.
func TestDBVerifySignatures(t *testing.T) {
	ctx := context.Background()
	r := newCoordRepo(t)
	plain := r.agent("unsigned")
	bare, err := tools.OpenBare(r.dir, r.clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	info, err := tools.ActorInit.Call(ctx, bare, tools.ActorInitInput{Label: "signer", GenerateKey: true})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := tools.Open(ctx, tools.OpenOptions{Dir: r.dir, Selection: actor.Selection{ActorID: info.ActorID}, Now: r.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer signer.Close()
	for _, title := range []string{"signed one", "signed two", "signed three"} {
		if _, err := tools.IssueCreate.Call(ctx, signer, tools.IssueCreateInput{Title: title}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 11 {
		plain.create(strings.Repeat("u", i+1))
	}
	if err := plain.s.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	out := coordMust(plain, tools.DBVerify, tools.DBVerifyInput{})
	if out.EventsChecked != 14 || out.SignaturesChecked != 3 || out.SignaturesValid != 3 || out.Unsigned != 11 || out.ErrorCount != 11 || len(out.Errors) != 10 {
		t.Fatalf("verify: %+v", out)
	}
	if out := coordMust(plain, tools.DBVerify, tools.DBVerifyInput{Verbose: true}); len(out.Errors) != 11 {
		t.Fatalf("verbose lists %d errors, want 11", len(out.Errors))
	}

	// A signature damaged in the view no longer verifies; the event's ID
	// is intact (the signature is not hashed), so db check passes it.
	sig := signatureOf(t, plain.s, "signed one")
	bad := bytes.Clone(sig)
	bad[0] ^= 0xff
	if n := tamperView(t, plain.s, sig, bad, "1"); n != 1 {
		t.Fatalf("tampered %d records", n)
	}
	out = coordMust(plain, tools.DBVerify, tools.DBVerifyInput{})
	if out.Invalid != 1 || out.SignaturesValid != 2 || out.ErrorCount != 12 {
		t.Fatalf("verify with a damaged signature: %+v", out)
	}
	if out := coordMust(plain, tools.DBCheck, tools.DBCheckInput{}); out.CorruptCount != 0 {
		t.Fatalf("db check after damaging a signature: %+v", out)
	}
	// Forget the signer's key in this clone: its events have no key here.
	cfgDir := filepath.Join(r.dir, ".git", "grite", "actors", info.ActorID)
	if err := os.RemoveAll(cfgDir); err != nil {
		t.Fatal(err)
	}
	out = coordMust(plain, tools.DBVerify, tools.DBVerifyInput{})
	if out.UnknownKey != 3 || out.SignaturesValid != 0 || out.Unsigned != 11 {
		t.Fatalf("verify without the signer's key: %+v", out)
	}
}
