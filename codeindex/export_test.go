package codeindex

// CompileQueries compiles every language's query, for tests: a query a
// grammar refuses would otherwise only show as fallback symbols.
func CompileQueries(x *Extractor) map[string]error {
	errs := map[string]error{}
	for lang, g := range x.grammars {
		errs[lang] = g.compile()
	}
	return errs
}
