// Package handoff is the form of a handoff: a structured note an agent
// leaves on an issue for whoever continues it (itself after a restart or a
// compaction, or another agent). It is stored as an ordinary comment, so
// that every reader of the WAL (the original grite included) shows it, and
// the comment carries its fields twice: as Markdown for people, and as one
// line of JSON in an HTML comment, which renderers hide, for programs.
// Pure: it formats and parses comment bodies.
package handoff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Handoff is what an agent leaves for the next one.
type Handoff struct {
	Done     string `json:"done"`
	Next     string `json:"next"`
	Blocker  string `json:"blocker,omitempty"`
	Evidence string `json:"evidence,omitempty"`
	// Where the work stood: the author's actor, the repository's HEAD
	// commit and branch, and whether its working tree had uncommitted
	// changes.
	Actor  string `json:"actor"`
	Head   string `json:"head,omitempty"`
	Branch string `json:"branch,omitempty"`
	Dirty  bool   `json:"dirty"`
}

// marker opens the machine-readable line; the version is in it so that a
// later form can be told apart.
const marker = "<!-- grite-handoff/1 "

// Format renders h as a comment body.
func Format(h Handoff) string {
	var b strings.Builder
	b.WriteString("**Handoff**\n\n")
	field := func(name, v string) {
		if v = strings.TrimSpace(v); v != "" {
			fmt.Fprintf(&b, "**%s:** %s\n\n", name, v)
		}
	}
	field("Done", h.Done)
	field("Next", h.Next)
	field("Blocker", h.Blocker)
	field("Evidence", h.Evidence)
	if h.Head != "" {
		at := h.Head
		if len(at) > 12 {
			at = at[:12]
		}
		if h.Branch != "" {
			at = h.Branch + " @ " + at
		}
		state := "clean working tree"
		if h.Dirty {
			state = "uncommitted changes"
		}
		fmt.Fprintf(&b, "_At %s, %s._\n\n", at, state)
	}
	// json.Marshal escapes <, > and & as \u003c..., so the JSON can never
	// close the HTML comment early.
	j, _ := json.Marshal(h) // strings and a bool: cannot fail
	b.WriteString(marker)
	b.Write(j)
	b.WriteString(" -->\n")
	return b.String()
}

// Parse finds the handoff in a comment body; ok is false for an ordinary
// comment, or one whose handoff line does not parse.
func Parse(body string) (h Handoff, ok bool) {
	i := strings.LastIndex(body, marker)
	if i < 0 {
		return Handoff{}, false
	}
	rest := body[i+len(marker):]
	end := strings.Index(rest, " -->")
	if end < 0 {
		return Handoff{}, false
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(rest[:end])))
	if err := dec.Decode(&h); err != nil || dec.More() {
		return Handoff{}, false
	}
	return h, true
}
