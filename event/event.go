package event

import (
	"bytes"
	"crypto/ed25519"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"golang.org/x/crypto/blake2b"
)

// SchemaVersion is the first element of every preimage.
const SchemaVersion = 1

// Event is one immutable change to an issue.
type Event struct {
	ID      EventID
	IssueID IssueID
	Actor   ActorID
	TS      uint64 // wall clock ms since the Unix epoch at creation
	Parent  *EventID
	Kind    Kind
	Sig     []byte // Ed25519 over the raw ID; not part of the hash
}

// encMode produces the original's encoding: shortest-form integers, definite
// lengths, no tags. The defaults of fxamacker/cbor already do that for the
// types used here (uint64, string, []byte, []any, nil).
var encMode = func() cbor.EncMode {
	m, err := cbor.EncOptions{}.EncMode()
	if err != nil {
		panic(err) // static options; cannot fail
	}
	return m
}()

func parentValue(p *EventID) any {
	if p == nil {
		return nil
	}
	return p[:]
}

// Preimage returns the canonical CBOR bytes that are hashed into the event ID.
func (e *Event) Preimage() ([]byte, error) {
	if e.Kind == nil {
		return nil, fmt.Errorf("event has no kind")
	}
	return encMode.Marshal([]any{
		uint64(SchemaVersion), e.IssueID[:], e.Actor[:], e.TS,
		parentValue(e.Parent), e.Kind.Tag(), e.Kind.payload(),
	})
}

// ComputeID hashes the preimage (BLAKE2b-256).
func (e *Event) ComputeID() (EventID, error) {
	pre, err := e.Preimage()
	if err != nil {
		return EventID{}, err
	}
	return EventID(blake2b.Sum256(pre)), nil
}

// Seal sets ID from the content and, when key is not nil, signs it.
func (e *Event) Seal(key ed25519.PrivateKey) error {
	id, err := e.ComputeID()
	if err != nil {
		return err
	}
	e.ID = id
	e.Sig = nil
	if key != nil {
		e.Sig = ed25519.Sign(key, id[:])
	}
	return nil
}

// VerifyID checks that ID matches the content.
func (e *Event) VerifyID() error {
	id, err := e.ComputeID()
	if err != nil {
		return err
	}
	if id != e.ID {
		return &DecodeError{Reason: ErrIDMismatch, Record: noRecord, Detail: fmt.Sprintf("event %s hashes to %s", e.ID, id)}
	}
	return nil
}

// VerifySignature checks Sig against pub. An unsigned event is an error here:
// callers decide whether unsigned events are acceptable.
func (e *Event) VerifySignature(pub ed25519.PublicKey) error {
	if len(e.Sig) == 0 {
		return &DecodeError{Reason: ErrBadSignature, Record: noRecord, Detail: fmt.Sprintf("event %s is not signed", e.ID)}
	}
	if len(pub) != ed25519.PublicKeySize || len(e.Sig) != ed25519.SignatureSize || !ed25519.Verify(pub, e.ID[:], e.Sig) {
		return &DecodeError{Reason: ErrBadSignature, Record: noRecord, Detail: fmt.Sprintf("event %s by actor %s", e.ID, e.Actor)}
	}
	return nil
}

// Version is the LWW order key of an event: (ts, actor, event id).
type Version struct {
	TS    uint64
	Actor ActorID
	ID    EventID
}

// Version returns the event's version.
func (e *Event) Version() Version { return Version{e.TS, e.Actor, e.ID} }

// Compare orders versions: numeric ts, then actor bytes, then event id bytes.
func (v Version) Compare(w Version) int {
	switch {
	case v.TS < w.TS:
		return -1
	case v.TS > w.TS:
		return 1
	}
	if c := bytes.Compare(v.Actor[:], w.Actor[:]); c != 0 {
		return c
	}
	return bytes.Compare(v.ID[:], w.ID[:])
}

// Less reports v < w.
func (v Version) Less(w Version) bool { return v.Compare(w) < 0 }
