package codeindex

import (
	"fmt"
	"regexp"
	"strings"
)

// Pattern is a --pattern of 'grite context index': a glob matched against
// a whole path, as the original matches it (Rust's glob crate with its
// default options): `*` and `?` match any characters, `/` included, so
// "*.rs" matches src/a/b.rs; `**` as a whole path component matches any
// number of directories; `[abc]`, `[a-z]` and `[!abc]` match one
// character of (or not of) the set. Case matters.
type Pattern struct {
	re *regexp.Regexp
}

// CompilePattern compiles a glob; a malformed one (an unclosed `[`, a
// `**` within a component) is an error.
func CompilePattern(glob string) (*Pattern, error) {
	var b strings.Builder
	b.WriteString(`(?s)^`)
	rs := []rune(glob)
	for i := 0; i < len(rs); i++ {
		switch r := rs[i]; r {
		case '*':
			if i+1 < len(rs) && rs[i+1] == '*' {
				if (i > 0 && rs[i-1] != '/') || (i+2 < len(rs) && rs[i+2] != '/') {
					return nil, fmt.Errorf("invalid glob %q: recursive wildcards must form a single path component", glob)
				}
				i++
				if i+1 < len(rs) { // "**/": any directories, none included
					b.WriteString(`(?:.*/)?`)
					i++
				} else {
					b.WriteString(`.*`)
				}
				continue
			}
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			end, class, err := bracket(rs, i)
			if err != nil {
				return nil, fmt.Errorf("invalid glob %q: %w", glob, err)
			}
			b.WriteString(class)
			i = end
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString(`$`)
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, fmt.Errorf("invalid glob %q: %w", glob, err)
	}
	return &Pattern{re: re}, nil
}

// bracket translates the class starting at rs[open] ('['); it returns the
// index of its closing ']'. A ']' first in the class is one of its
// characters, as in the glob crate.
func bracket(rs []rune, open int) (int, string, error) {
	i := open + 1
	var b strings.Builder
	b.WriteByte('[')
	if i < len(rs) && rs[i] == '!' {
		b.WriteByte('^')
		i++
	}
	first := true
	for ; i < len(rs); i++ {
		r := rs[i]
		if r == ']' && !first {
			b.WriteByte(']')
			return i, b.String(), nil
		}
		first = false
		if i+2 < len(rs) && rs[i+1] == '-' && rs[i+2] != ']' {
			b.WriteString(regexp.QuoteMeta(string(r)) + "-" + regexp.QuoteMeta(string(rs[i+2])))
			i += 2
			continue
		}
		b.WriteString(escapeInClass(r))
	}
	return 0, "", fmt.Errorf("unclosed [ at character %d", open+1)
}

func escapeInClass(r rune) string {
	switch r {
	case '\\', ']', '[', '^', '-':
		return `\` + string(r)
	}
	return string(r)
}

// Match reports whether the whole path matches.
func (p *Pattern) Match(path string) bool { return p.re.MatchString(path) }
