package foreign

import (
	"strings"
)

// ProvenanceScheme starts the URL of the link that records where an
// imported issue came from: imported:<source>:<id>. With a fragment,
// imported:<source>:<id>#<type> records the source's type of a
// dependency on issue <id> that grite keeps as related_to
// (parent-child, discovered-from).
const ProvenanceScheme = "imported"

// ProvenanceURL is the link URL naming issue id of source.
func ProvenanceURL(source, id string) string {
	return ProvenanceScheme + ":" + source + ":" + id
}

// DepTypeURL is the link URL that keeps a dependency's type.
func DepTypeURL(source, target, depType string) string {
	return ProvenanceURL(source, target) + "#" + depType
}

// ParseProvenanceURL splits a URL written by ProvenanceURL or DepTypeURL;
// ok is false for any other URL.
func ParseProvenanceURL(u string) (source, id, depType string, ok bool) {
	rest, ok := strings.CutPrefix(u, ProvenanceScheme+":")
	if !ok {
		return "", "", "", false
	}
	source, rest, ok = strings.Cut(rest, ":")
	if !ok || source == "" {
		return "", "", "", false
	}
	id, depType, _ = strings.Cut(rest, "#")
	if id == "" {
		return "", "", "", false
	}
	return source, id, depType, true
}

// CommentHeader starts a comment imported with its author: grite writes
// events as the importing actor, so the original author is kept as text.
func CommentHeader(source, author string) string {
	if author == "" {
		return ""
	}
	return "From: " + author + " (" + source + ")\n\n"
}

// SplitComment undoes CommentHeader: the author and the text.
func SplitComment(body string) (author, text string) {
	first, rest, ok := strings.Cut(body, "\n\n")
	if !ok {
		return "", body
	}
	who, ok := strings.CutPrefix(first, "From: ")
	if !ok || !strings.HasSuffix(who, ")") {
		return "", body
	}
	i := strings.LastIndex(who, " (")
	if i <= 0 {
		return "", body
	}
	return who[:i], rest
}

// CloseReasonPrefix starts the comment that keeps why an issue was
// closed (beads' close_reason).
const CloseReasonPrefix = "Close reason: "
