package codeindex

import (
	"cmp"
	"context"
	"crypto/sha256"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	sitter "github.com/smacker/go-tree-sitter"

	"grite/event"
)

// Extractor holds every language's compiled query, compiled on first use
// and shared by the Parsers it makes. It is safe for concurrent use.
type Extractor struct {
	grammars     map[string]*grammar
	fallbackOnce sync.Once
	fallback     map[string][]fallbackRule
}

// grammar is one language's parser language and compiled query.
type grammar struct {
	spec  querySpec
	once  sync.Once
	lang  *sitter.Language
	query *sitter.Query
	// name and def are the capture indexes of @name and @definition.
	name, def uint32
	hasDef    bool
	// preds are the text predicates (#match?, #eq?) of each pattern,
	// which tree-sitter leaves to its caller to apply.
	preds [][]predicate
	err   error
}

// predicate says the text of a capture must (or must not) match re.
type predicate struct {
	capture uint32
	re      *regexp.Regexp
	want    bool
}

// New returns an Extractor for every language DetectLanguage names.
func New() *Extractor {
	x := &Extractor{grammars: map[string]*grammar{}}
	for lang, spec := range querySpecs() {
		x.grammars[lang] = &grammar{spec: spec}
	}
	return x
}

// compile compiles the language's query once; a query the grammar
// refuses leaves the language to the fallback.
func (g *grammar) compile() error {
	g.once.Do(func() {
		g.lang = g.spec.language()
		q, err := sitter.NewQuery([]byte(g.spec.query), g.lang)
		if err != nil {
			g.err = fmt.Errorf("compile query: %w", err)
			return
		}
		if int(q.PatternCount()) != len(g.spec.kinds) {
			g.err = fmt.Errorf("query has %d patterns for %d kinds", q.PatternCount(), len(g.spec.kinds))
			return
		}
		captures := map[string]uint32{}
		for i := range q.CaptureCount() {
			captures[q.CaptureNameForId(i)] = i
		}
		var ok bool
		if g.name, ok = captures["name"]; !ok {
			g.err = fmt.Errorf("query captures no @name")
			return
		}
		g.def, g.hasDef = captures["definition"]
		g.preds = make([][]predicate, q.PatternCount())
		for i := range q.PatternCount() {
			for _, steps := range q.PredicatesForPattern(i) {
				p, err := textPredicate(q, steps)
				if err != nil {
					g.err = err
					return
				}
				if p != nil {
					g.preds[i] = append(g.preds[i], *p)
				}
			}
		}
		g.query = q
	})
	return g.err
}

// textPredicate reads one #match?, #not-match?, #eq? or #not-eq? of a
// capture and a string; other predicates are not used by these queries.
func textPredicate(q *sitter.Query, steps []sitter.QueryPredicateStep) (*predicate, error) {
	if len(steps) != 4 || steps[1].Type != sitter.QueryPredicateStepTypeCapture || steps[2].Type != sitter.QueryPredicateStepTypeString {
		return nil, nil
	}
	arg := q.StringValueForId(steps[2].ValueId)
	var pattern string
	var want bool
	switch q.StringValueForId(steps[0].ValueId) {
	case "match?", "not-match?":
		pattern, want = arg, q.StringValueForId(steps[0].ValueId) == "match?"
	case "eq?", "not-eq?":
		pattern, want = "^"+regexp.QuoteMeta(arg)+"$", q.StringValueForId(steps[0].ValueId) == "eq?"
	default:
		return nil, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("query predicate %q: %w", arg, err)
	}
	return &predicate{capture: steps[1].ValueId, re: re, want: want}, nil
}

// Parser extracts symbols; one per goroutine (tree-sitter's parsers are
// not safe for concurrent use). Close frees its C memory.
type Parser struct {
	x       *Extractor
	parsers map[string]*sitter.Parser
	cursor  *sitter.QueryCursor
}

// NewParser returns a Parser using x's compiled queries.
func (x *Extractor) NewParser() *Parser {
	return &Parser{x: x, parsers: map[string]*sitter.Parser{}}
}

// Close frees the parser's C memory (the garbage collector would, later).
func (p *Parser) Close() {
	for _, sp := range p.parsers {
		sp.Close()
	}
	p.parsers = nil
	if p.cursor != nil {
		p.cursor.Close()
		p.cursor = nil
	}
}

// parseTimeout bounds one file's parse; a file that takes longer (a
// pathological input) gets the fallback's symbols instead.
const parseTimeout = 5 * time.Second

// maxNesting bounds the bracket nesting of a file given to tree-sitter.
// Its queries take time quadratic in the length of a run of unclosed
// brackets (100,000 of them: half a minute), which no source file a
// person writes has; such a file gets the fallback's symbols.
const maxNesting = 512

// nesting is the deepest bracket nesting of content, counted over its
// bytes (brackets in strings and comments count too: it is a bound).
func nesting(content []byte) int {
	depth, deepest := 0, 0
	for _, c := range content {
		switch c {
		case '(', '[', '{':
			depth++
			deepest = max(deepest, depth)
		case ')', ']', '}':
			depth = max(depth-1, 0)
		}
	}
	return deepest
}

// Record is the context record of a file: its language, its symbols
// (in the canonical order of docs/format.md §3.3, as they go on the wire),
// its summary and the SHA-256 of its content. Symbol names are valid
// UTF-8 (an invalid sequence reads as U+FFFD). The error is ctx's only.
func (p *Parser) Record(ctx context.Context, path string, content []byte) (event.ContextUpdated, error) {
	lang := DetectLanguage(path)
	symbols, err := p.Symbols(ctx, content, lang)
	if err != nil {
		return event.ContextUpdated{}, err
	}
	return event.ContextUpdated{
		Path:        path,
		Language:    lang,
		Symbols:     event.SortedSymbols(symbols),
		Summary:     Summary(path, symbols, lang),
		ContentHash: sha256.Sum256(content),
	}, nil
}

// Symbols extracts the symbols of content in language, in line order: by
// tree-sitter where it parses, by the original's regular expressions
// where it does not. The error is ctx's only.
func (p *Parser) Symbols(ctx context.Context, content []byte, language string) ([]event.Symbol, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	g := p.x.grammars[language]
	if g == nil {
		return nil, nil
	}
	if err := g.compile(); err != nil || nesting(content) > maxNesting {
		return p.x.fallbackSymbols(content, language), nil
	}
	symbols, ok, err := p.treeSitter(ctx, g, content, language)
	if err != nil {
		return nil, err
	}
	if !ok {
		return p.x.fallbackSymbols(content, language), nil
	}
	return symbols, nil
}

// treeSitter runs the language's query over a parse of content; ok is
// false when the parse did not finish in time.
func (p *Parser) treeSitter(ctx context.Context, g *grammar, content []byte, language string) ([]event.Symbol, bool, error) {
	sp := p.parsers[language]
	if sp == nil {
		sp = sitter.NewParser()
		sp.SetLanguage(g.lang)
		sp.SetOperationLimit(int(parseTimeout / time.Microsecond))
		p.parsers[language] = sp
	}
	tree, err := sp.ParseCtx(ctx, nil, content)
	if err != nil {
		sp.Reset() // a parse stopped half-way resumes otherwise
		if ctx.Err() != nil {
			return nil, false, ctx.Err()
		}
		return nil, false, nil
	}
	defer tree.Close()
	if p.cursor == nil {
		p.cursor = sitter.NewQueryCursor()
	}
	p.cursor.Exec(g.query, tree.RootNode())
	var symbols []event.Symbol
	for {
		m, more := p.cursor.NextMatch()
		if !more {
			break
		}
		if !g.accepts(m, content) {
			continue
		}
		var name string
		var haveName bool
		var nameStart, nameEnd, defStart, defEnd uint32
		for _, c := range m.Captures {
			switch {
			case c.Index == g.name:
				name, haveName = c.Node.Content(content), true
				nameStart, nameEnd = c.Node.StartPoint().Row+1, c.Node.EndPoint().Row+1
			case g.hasDef && c.Index == g.def:
				defStart, defEnd = c.Node.StartPoint().Row+1, c.Node.EndPoint().Row+1
			}
		}
		if !haveName {
			continue
		}
		// The definition's lines where it has them, else the name's.
		start, end := nameStart, nameEnd
		if g.hasDef && defStart > 0 {
			start, end = defStart, defEnd
		}
		kind := "unknown"
		if int(m.PatternIndex) < len(g.spec.kinds) {
			kind = g.spec.kinds[m.PatternIndex]
		}
		symbols = append(symbols, event.Symbol{Name: strings.ToValidUTF8(name, "\uFFFD"), Kind: kind, LineStart: start, LineEnd: end})
	}
	return lineOrder(symbols), true, nil
}

// accepts applies the match's pattern's text predicates.
func (g *grammar) accepts(m *sitter.QueryMatch, content []byte) bool {
	if int(m.PatternIndex) >= len(g.preds) {
		return true
	}
	for _, pr := range g.preds[m.PatternIndex] {
		for _, c := range m.Captures {
			if c.Index == pr.capture && pr.re.MatchString(c.Node.Content(content)) != pr.want {
				return false
			}
		}
	}
	return true
}

// lineOrder sorts symbols by first line, the more specific kind first on
// one line (stable otherwise), and drops a symbol of the same name on
// the same line as the one before it: the original's order and
// de-duplication (a Go struct is matched as a struct and as a type).
func lineOrder(symbols []event.Symbol) []event.Symbol {
	slices.SortStableFunc(symbols, func(a, b event.Symbol) int {
		return cmp.Or(cmp.Compare(a.LineStart, b.LineStart), cmp.Compare(kindPriority(a.Kind), kindPriority(b.Kind)))
	})
	return slices.CompactFunc(symbols, func(a, b event.Symbol) bool {
		return a.LineStart == b.LineStart && a.Name == b.Name
	})
}
