package event

import (
	"bytes"
	"encoding/hex"
	"fmt"

	"golang.org/x/crypto/blake2b"
)

// ActorID identifies one writer (an agent session or a person); 16 random bytes.
type ActorID [16]byte

// IssueID identifies an issue; 16 random bytes, or derived for context events.
type IssueID [16]byte

// EventID is the BLAKE2b-256 of an event's canonical preimage.
type EventID [32]byte

func (a ActorID) String() string { return hex.EncodeToString(a[:]) }
func (i IssueID) String() string { return hex.EncodeToString(i[:]) }
func (e EventID) String() string { return hex.EncodeToString(e[:]) }

// Short returns the first 8 hex characters, as used in WAL commit messages.
func (a ActorID) Short() string { return a.String()[:8] }

// Compare orders IDs byte-wise, which equals ordering their lowercase hex.
func (a ActorID) Compare(b ActorID) int { return bytes.Compare(a[:], b[:]) }
func (i IssueID) Compare(b IssueID) int { return bytes.Compare(i[:], b[:]) }
func (e EventID) Compare(b EventID) int { return bytes.Compare(e[:], b[:]) }

func (a ActorID) MarshalText() ([]byte, error) { return []byte(a.String()), nil }
func (i IssueID) MarshalText() ([]byte, error) { return []byte(i.String()), nil }
func (e EventID) MarshalText() ([]byte, error) { return []byte(e.String()), nil }

func (a *ActorID) UnmarshalText(b []byte) error { return parseInto(a[:], "actor ID", string(b)) }
func (i *IssueID) UnmarshalText(b []byte) error { return parseInto(i[:], "issue ID", string(b)) }
func (e *EventID) UnmarshalText(b []byte) error { return parseInto(e[:], "event ID", string(b)) }

// ParseActorID parses 32 hex characters.
func ParseActorID(s string) (ActorID, error) {
	var a ActorID
	return a, parseInto(a[:], "actor ID", s)
}

// ParseIssueID parses 32 hex characters.
func ParseIssueID(s string) (IssueID, error) {
	var i IssueID
	return i, parseInto(i[:], "issue ID", s)
}

// ParseEventID parses 64 hex characters.
func ParseEventID(s string) (EventID, error) {
	var e EventID
	return e, parseInto(e[:], "event ID", s)
}

// IDError reports text that is not a valid identifier.
type IDError struct {
	What   string // "actor ID", "issue ID", "event ID"
	Input  string
	Reason string
}

func (e *IDError) Error() string {
	in := e.Input
	if len(in) > 80 {
		in = in[:80] + "..."
	}
	return fmt.Sprintf("invalid %s %q: %s", e.What, in, e.Reason)
}

// parseInto accepts either hex case, as the original's decoder does, but the
// decoded length must be exact.
func parseInto(dst []byte, what, s string) error {
	if len(s) != 2*len(dst) {
		if len(s)%2 == 0 && isHex(s) {
			return &IDError{what, s, fmt.Sprintf("invalid length: expected %d bytes, got %d", len(dst), len(s)/2)}
		}
		if !isHex(s) {
			return &IDError{what, s, "not hexadecimal"}
		}
		return &IDError{what, s, fmt.Sprintf("expected %d hex characters, got %d", 2*len(dst), len(s))}
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return &IDError{what, s, "not hexadecimal"}
	}
	return nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

// ProjectContextIssueID is the sentinel issue of project context events (kind 14).
var ProjectContextIssueID = IssueID{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}

// FileContextIssueID derives the issue of a file context event (kind 13):
// BLAKE2b with a 16-byte digest length (not a truncated BLAKE2b-256).
func FileContextIssueID(path string) IssueID {
	h, _ := blake2b.New(16, nil) // cannot fail: size 16 is valid and there is no key
	h.Write([]byte("grite:context:file:"))
	h.Write([]byte(path))
	var id IssueID
	copy(id[:], h.Sum(nil))
	return id
}
