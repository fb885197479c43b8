package codeindex

import (
	"bytes"
	"cmp"
	"regexp"
	"slices"
	"strings"

	"grite/event"
)

// The fallback is the original grite's: regular expressions over lines,
// for the languages it has them for (Rust, Python, TypeScript and
// JavaScript, Go), used where tree-sitter gives nothing (a parse that does
// not finish in time). Its line ranges are estimates: from the name's line
// to the next blank line, at most 50 lines on (10 when no blank line
// follows).

type fallbackRule struct {
	re   *regexp.Regexp
	kind string
}

func (x *Extractor) fallbackRules(language string) []fallbackRule {
	x.fallbackOnce.Do(func() {
		rule := func(re, kind string) fallbackRule { return fallbackRule{regexp.MustCompile(re), kind} }
		ts := []fallbackRule{
			rule(`(?m)^\s*(?:export\s+)?(?:async\s+)?function\s+(\w+)`, "function"),
			rule(`(?m)^\s*(?:export\s+)?class\s+(\w+)`, "class"),
			rule(`(?m)^\s*(?:export\s+)?interface\s+(\w+)`, "interface"),
			rule(`(?m)^\s*(?:export\s+)?type\s+(\w+)`, "type"),
			rule(`(?m)^\s*(?:export\s+)?const\s+(\w+)`, "const"),
			rule(`(?m)^\s*(?:export\s+)?(?:const|let)\s+(\w+)\s*=\s*(?:async\s+)?\(`, "function"),
		}
		x.fallback = map[string][]fallbackRule{
			"rust": {
				rule(`(?m)^\s*(?:pub(?:\(.*?\))?\s+)?(?:async\s+)?fn\s+(\w+)`, "function"),
				rule(`(?m)^\s*(?:pub(?:\(.*?\))?\s+)?struct\s+(\w+)`, "struct"),
				rule(`(?m)^\s*(?:pub(?:\(.*?\))?\s+)?enum\s+(\w+)`, "enum"),
				rule(`(?m)^\s*(?:pub(?:\(.*?\))?\s+)?trait\s+(\w+)`, "trait"),
				rule(`(?m)^\s*impl(?:<[^>]*>)?\s+(\w+)`, "impl"),
				rule(`(?m)^\s*(?:pub(?:\(.*?\))?\s+)?(?:const|static)\s+(\w+)`, "const"),
			},
			"python": {
				rule(`(?m)^(?:\s*)(?:async\s+)?def\s+(\w+)`, "function"),
				rule(`(?m)^class\s+(\w+)`, "class"),
			},
			"typescript":      ts,
			"typescriptreact": ts,
			"javascript":      ts,
			"go": {
				rule(`(?m)^func\s+(?:\(\w+\s+\*?\w+\)\s+)?(\w+)`, "function"),
				rule(`(?m)^type\s+(\w+)\s+struct`, "struct"),
				rule(`(?m)^type\s+(\w+)\s+interface`, "interface"),
				rule(`(?m)^type\s+(\w+)\s+\w`, "type"),
			},
		}
	})
	return x.fallback[language]
}

// fallbackSymbols is the original's regex_fallback::extract.
func (x *Extractor) fallbackSymbols(content []byte, language string) []event.Symbol {
	rules := x.fallbackRules(language)
	if len(rules) == 0 {
		return nil
	}
	var symbols []event.Symbol
	for _, r := range rules {
		for _, m := range r.re.FindAllSubmatchIndex(content, -1) {
			if m[2] < 0 {
				continue
			}
			start := uint32(bytes.Count(content[:m[2]], []byte{'\n'})) + 1
			rest := content[m[3]:]
			lines := uint32(10)
			if i := bytes.Index(rest, []byte("\n\n")); i >= 0 {
				lines = uint32(bytes.Count(rest[:i], []byte{'\n'}))
			}
			symbols = append(symbols, event.Symbol{
				Name: strings.ToValidUTF8(string(content[m[2]:m[3]]), "\uFFFD"), Kind: r.kind,
				LineStart: start, LineEnd: start + min(lines, 50),
			})
		}
	}
	switch language {
	case "rust", "python":
		slices.SortStableFunc(symbols, func(a, b event.Symbol) int { return cmp.Compare(a.LineStart, b.LineStart) })
		return symbols
	}
	// The others by line and name, and one symbol per name and line: the
	// first rule's (a Go struct is matched as a type too).
	slices.SortStableFunc(symbols, func(a, b event.Symbol) int {
		return cmp.Or(cmp.Compare(a.LineStart, b.LineStart), strings.Compare(a.Name, b.Name))
	})
	return slices.CompactFunc(symbols, func(a, b event.Symbol) bool { return a.LineStart == b.LineStart && a.Name == b.Name })
}
