package tools

import (
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits in bytes of UTF-8 (docs/cli.md decision 13).
const (
	MaxTitleBytes    = 1024
	MaxBodyBytes     = 1 << 20
	MaxNameBytes     = 128 // labels, assignees
	MaxLabelsPerCall = 100
	MaxURLBytes      = 8192
)

// checkText validates a free-text field: valid UTF-8 within the limit.
// Control characters are preserved in bodies (tabs, newlines, anything).
// Only the CLI can deliver invalid UTF-8 (argv and files carry raw bytes):
// MCP arguments are JSON-decoded before they reach this layer, and the
// decoder replaces invalid sequences and lone surrogate escapes with U+FFFD
// (pinned by e2e TestHostileInputInvalidUTF8OverMCPArrivesAsReplacementCharacters).
func checkText(field, v string, limit int) error {
	if !utf8.ValidString(v) {
		return newErr(CodeInvalidArgs, "%s is not valid UTF-8", field)
	}
	if len(v) > limit {
		return newErr(CodeInvalidArgs, "%s is %d bytes, limit %d", field, len(v), limit).with("limit", limit)
	}
	return nil
}

// checkTitle: required, not blank, one line of printable text.
func checkTitle(v string) error {
	if err := checkText("title", v, MaxTitleBytes); err != nil {
		return err
	}
	if strings.TrimSpace(v) == "" {
		return newErr(CodeInvalidArgs, "title must not be empty or blank")
	}
	if hasControl(v, true) {
		return newErr(CodeInvalidArgs, "title must not contain control characters or newlines")
	}
	return nil
}

// checkName validates a label or assignee: non-blank, no controls, ≤ 128 bytes.
func checkName(field, v string) error {
	if err := checkText(field, v, MaxNameBytes); err != nil {
		return err
	}
	if strings.TrimSpace(v) == "" {
		return newErr(CodeInvalidArgs, "%s must not be empty", field)
	}
	if hasControl(v, false) {
		return newErr(CodeInvalidArgs, "%s must not contain control characters", field)
	}
	if field == "label" && strings.Contains(v, ",") {
		// Labels are shown and filtered comma-separated: "a,b" would read
		// as two labels everywhere after.
		return newErr(CodeInvalidArgs, "label %q must not contain a comma", v).
			suggest("Give each label separately: --label a --label b")
	}
	return nil
}

// checkURL accepts an absolute URL: a scheme, and a host for web URLs.
// Anything else (a phrase, a bare path) is almost surely a mistake that
// would be stored for good.
func checkURL(v string) error {
	u, err := url.Parse(v)
	bad := err != nil || u.Scheme == "" || strings.ContainsAny(v, " \t\n") ||
		((u.Scheme == "http" || u.Scheme == "https") && u.Host == "")
	if bad {
		return newErr(CodeInvalidArgs, "url %q is not an absolute URL", clip(v)).
			suggest("Give a URL with a scheme, such as https://example.com/issue/1 or file:///path")
	}
	return nil
}

func checkNames(field string, vs []string) error {
	if len(vs) > MaxLabelsPerCall {
		return newErr(CodeInvalidArgs, "%d %ss, limit %d per call", len(vs), field, MaxLabelsPerCall)
	}
	for _, v := range vs {
		if err := checkName(field, v); err != nil {
			return err
		}
	}
	return nil
}

func hasControl(s string, allowTab bool) bool {
	for _, r := range s {
		if unicode.IsControl(r) && !(allowTab && r == '\t') {
			return true
		}
	}
	return false
}
