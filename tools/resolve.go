package tools

import (
	"context"
	"strings"

	"grite/event"
)

// MinPrefix is the shortest issue ID prefix accepted (docs/cli.md decision 12).
const MinPrefix = 4

// ResolveIssue turns a full ID or a unique hex prefix into an issue that
// exists in the view.
func (s *Session) ResolveIssue(ctx context.Context, text string) (event.IssueID, error) {
	p := strings.ToLower(strings.TrimSpace(text))
	if p == "" {
		return event.IssueID{}, newErr(CodeInvalidArgs, "issue ID is required")
	}
	if !isHex(p) {
		return event.IssueID{}, newErr(CodeInvalidArgs, "invalid issue ID %q: not hexadecimal", clip(text)).
			suggest("IDs are hex strings (e.g. 'abc123...')", "Use 'grite issue list' to see valid issue IDs")
	}
	if len(p) > 32 {
		return event.IssueID{}, newErr(CodeInvalidArgs, "invalid issue ID %q: longer than 32 hex characters", clip(text))
	}
	if len(p) < MinPrefix {
		return event.IssueID{}, newErr(CodeInvalidArgs, "issue ID prefix %q is too short: give at least %d hex characters", p, MinPrefix)
	}
	matches, err := s.Store().MatchPrefix(ctx, p, 11)
	if err != nil {
		return event.IssueID{}, err
	}
	switch len(matches) {
	case 0:
		return event.IssueID{}, newErr(CodeNotFound, "issue %s not found", p).
			with("issue_id", p).suggest("Run 'grite issue list' to see available issues")
	case 1:
		return event.ParseIssueID(matches[0])
	}
	return event.IssueID{}, newErr(CodeInvalidArgs, "issue ID prefix %q is ambiguous: %d issues match", p, len(matches)).
		with("candidates", matches).suggest("Give more characters of the ID")
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func clip(s string) string {
	if len(s) > 70 {
		return s[:70] + "..."
	}
	return s
}

// ResolveActor turns "me", a full actor ID, the label of an actor of this
// clone or a unique prefix of one's ID into an actor ID. A full ID need not
// be known here: other clones' actors hold claims too.
func (s *Session) ResolveActor(text string) (string, error) {
	t := strings.TrimSpace(text)
	switch {
	case t == "":
		return "", newErr(CodeInvalidArgs, "actor is required")
	case strings.EqualFold(t, "me"):
		return s.Actor.ID.String(), nil
	}
	if id, err := event.ParseActorID(strings.ToLower(t)); err == nil {
		return id.String(), nil
	}
	a, err := s.Grite.Find(t)
	if err != nil {
		return "", err
	}
	return a.ID.String(), nil
}
