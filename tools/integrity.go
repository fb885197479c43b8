package tools

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"sort"

	"grite/event"
)

// CorruptEvent is one event of the view that fails a check.
type CorruptEvent struct {
	EventID string `json:"event_id"`
	IssueID string `json:"issue_id"`
	Error   string `json:"error"`
}

// DBCheckInput is `grite db check`.
type DBCheckInput struct {
	// VerifyParents also checks that every event's parent is an event of
	// the same issue in the view.
	VerifyParents bool `json:"verify_parents,omitempty"`
}

// DBCheckOutput is the original's `db check` report (same keys).
type DBCheckOutput struct {
	EventsChecked int            `json:"events_checked"`
	EventsValid   int            `json:"events_valid"`
	CorruptCount  int            `json:"corrupt_count"`
	Errors        []CorruptEvent `json:"errors"`
}

// Healthy reports whether no event failed.
func (o DBCheckOutput) Healthy() bool { return o.CorruptCount == 0 }

// DBCheck checks the events of the view (the local database): each event's
// ID must be the hash of its content and, with VerifyParents, its parent
// must be an event of the same issue. doctor runs the same check.
var DBCheck = Op[DBCheckInput, DBCheckOutput]{
	Name: "db_check", Title: "Check the view's events", ReadOnly: true, Idempotent: true,
	Description: "Check that every event in the local view hashes to its ID, and optionally that every parent exists.",
	Run: func(ctx context.Context, s *Session, in DBCheckInput) (DBCheckOutput, error) {
		events, err := s.Store().AllEvents(ctx)
		if err != nil {
			return DBCheckOutput{}, err
		}
		return checkEvents(events, in.VerifyParents), nil
	},
}

// checkEvents is db check's report over events, in issue then event order.
func checkEvents(events []event.Event, verifyParents bool) DBCheckOutput {
	sortEvents(events)
	out := DBCheckOutput{Errors: []CorruptEvent{}}
	ofIssue := map[event.IssueID]map[event.EventID]bool{}
	if verifyParents {
		for _, e := range events {
			if ofIssue[e.IssueID] == nil {
				ofIssue[e.IssueID] = map[event.EventID]bool{}
			}
			ofIssue[e.IssueID][e.ID] = true
		}
	}
	for i := range events {
		e := &events[i]
		out.EventsChecked++
		bad := func(msg string) {
			out.Errors = append(out.Errors, CorruptEvent{EventID: e.ID.String(), IssueID: e.IssueID.String(), Error: msg})
		}
		id, err := e.ComputeID()
		switch {
		case err != nil:
			bad(fmt.Sprintf("cannot encode: %v", err))
			continue
		case id != e.ID:
			bad(fmt.Sprintf("hash mismatch: expected %s, computed %s", e.ID, id))
			continue
		}
		out.EventsValid++
		if verifyParents && e.Parent != nil && !ofIssue[e.IssueID][*e.Parent] {
			bad(fmt.Sprintf("missing parent: %s", *e.Parent))
		}
	}
	out.CorruptCount = len(out.Errors)
	return out
}

// DBVerifyInput is `grite db verify`.
type DBVerifyInput struct {
	// Verbose lists every error; otherwise the first ten.
	Verbose bool `json:"verbose,omitempty"`
}

// SignatureProblem is one event whose signature does not verify.
type SignatureProblem struct {
	EventID string `json:"event_id"`
	ActorID string `json:"actor_id"`
	Error   string `json:"error"`
}

// DBVerifyOutput is the original's `db verify` report (same keys), plus
// counts by kind of problem, since in a repository whose actors have no
// keys every event is "unsigned" and only the other two say something.
type DBVerifyOutput struct {
	EventsChecked     int                `json:"events_checked"`
	SignaturesChecked int                `json:"signatures_checked"`
	SignaturesValid   int                `json:"signatures_valid"`
	ErrorCount        int                `json:"error_count"`
	Errors            []SignatureProblem `json:"errors"`
	Unsigned          int                `json:"unsigned"`
	UnknownKey        int                `json:"unknown_key"`
	Invalid           int                `json:"invalid"`
}

// verifyShown is how many errors db verify lists without --verbose.
const verifyShown = 10

// DBVerify checks the signature of every event of the view against the
// public keys of this clone's actors, as the original does: an unsigned
// event, or one whose actor's key is not known here, counts as an error
// alongside a signature that does not verify. Signing is optional, so the
// report is information: it does not fail the command.
var DBVerify = Op[DBVerifyInput, DBVerifyOutput]{
	Name: "db_verify", Title: "Verify event signatures", ReadOnly: true, Idempotent: true,
	Description: "Verify the Ed25519 signature of every event in the local view against the known actors' public keys.",
	Run: func(ctx context.Context, s *Session, in DBVerifyInput) (DBVerifyOutput, error) {
		keys, err := s.Grite.PublicKeys()
		if err != nil {
			return DBVerifyOutput{}, err
		}
		events, err := s.Store().AllEvents(ctx)
		if err != nil {
			return DBVerifyOutput{}, err
		}
		sortEvents(events)
		out := DBVerifyOutput{Errors: []SignatureProblem{}}
		for i := range events {
			e := &events[i]
			out.EventsChecked++
			problem := ""
			if len(e.Sig) == 0 {
				out.Unsigned++
				problem = "signature missing"
			} else {
				out.SignaturesChecked++
				pub, ok := keys[e.Actor]
				switch {
				case !ok:
					out.UnknownKey++
					problem = "public key not found"
				case e.VerifySignature(ed25519.PublicKey(pub)) != nil:
					out.Invalid++
					problem = "signature does not verify"
				default:
					out.SignaturesValid++
				}
			}
			if problem == "" {
				continue
			}
			out.ErrorCount++
			if in.Verbose || len(out.Errors) < verifyShown {
				out.Errors = append(out.Errors, SignatureProblem{EventID: e.ID.String(), ActorID: e.Actor.String(), Error: problem})
			}
		}
		return out, nil
	},
}

// sortEvents orders events by issue, then by version, so reports are
// stable.
func sortEvents(events []event.Event) {
	sort.Slice(events, func(i, j int) bool {
		if c := events[i].IssueID.Compare(events[j].IssueID); c != 0 {
			return c < 0
		}
		return events[i].Version().Less(events[j].Version())
	})
}
