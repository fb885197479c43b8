package codeindex

import (
	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/c"
	"github.com/smacker/go-tree-sitter/cpp"
	"github.com/smacker/go-tree-sitter/elixir"
	"github.com/smacker/go-tree-sitter/golang"
	"github.com/smacker/go-tree-sitter/java"
	"github.com/smacker/go-tree-sitter/javascript"
	"github.com/smacker/go-tree-sitter/python"
	"github.com/smacker/go-tree-sitter/ruby"
	"github.com/smacker/go-tree-sitter/rust"
	"github.com/smacker/go-tree-sitter/typescript/tsx"
	"github.com/smacker/go-tree-sitter/typescript/typescript"
)

// A language's query has one pattern per kind of definition, in the order
// of its kinds: the pattern a match comes from names the symbol's kind.
// Each pattern captures the symbol's name as @name and the whole
// definition, whose lines are the symbol's, as @definition. The queries
// and kinds are the original grite's (crates/libgrite-core, context
// extractor), so both name the same symbols alike; the patterns marked
// "grite-go" add what the original leaves out: the methods of
// TypeScript and JavaScript classes.

type querySpec struct {
	language func() *sitter.Language
	query    string
	kinds    []string
}

func querySpecs() map[string]querySpec {
	return map[string]querySpec{
		"rust":            {rust.GetLanguage, rustQuery, rustKinds},
		"python":          {python.GetLanguage, pythonQuery, pythonKinds},
		"typescript":      {typescript.GetLanguage, typescriptQuery, typescriptKinds},
		"typescriptreact": {tsx.GetLanguage, typescriptQuery, typescriptKinds},
		"javascript":      {javascript.GetLanguage, javascriptQuery, javascriptKinds},
		"go":              {golang.GetLanguage, goQuery, goKinds},
		"java":            {java.GetLanguage, javaQuery, javaKinds},
		"c":               {c.GetLanguage, cQuery, cKinds},
		"cpp":             {cpp.GetLanguage, cppQuery, cppKinds},
		"ruby":            {ruby.GetLanguage, rubyQuery, rubyKinds},
		"elixir":          {elixir.GetLanguage, elixirQuery, elixirKinds},
	}
}

const rustQuery = `
(function_item name: (identifier) @name) @definition
(struct_item name: (type_identifier) @name) @definition
(enum_item name: (type_identifier) @name) @definition
(trait_item name: (type_identifier) @name) @definition
(impl_item type: (type_identifier) @name) @definition
(const_item name: (identifier) @name) @definition
(type_item name: (type_identifier) @name) @definition
(static_item name: (identifier) @name) @definition
`

var rustKinds = []string{"function", "struct", "enum", "trait", "impl", "const", "type", "static"}

const pythonQuery = `
(function_definition name: (identifier) @name) @definition
(class_definition name: (identifier) @name) @definition
`

var pythonKinds = []string{"function", "class"}

// Works for both the TypeScript and the TSX grammars.
const typescriptQuery = `
(function_declaration name: (identifier) @name) @definition
(class_declaration name: (type_identifier) @name) @definition
(interface_declaration name: (type_identifier) @name) @definition
(type_alias_declaration name: (type_identifier) @name) @definition
(enum_declaration name: (identifier) @name) @definition
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: (arrow_function)) @definition)
(method_definition name: (property_identifier) @name) @definition
`

var typescriptKinds = []string{"function", "class", "interface", "type", "enum", "function", "method" /* grite-go */}

const javascriptQuery = `
(function_declaration name: (identifier) @name) @definition
(class_declaration name: (identifier) @name) @definition
(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: (arrow_function)) @definition)
(method_definition name: (property_identifier) @name) @definition
`

var javascriptKinds = []string{"function", "class", "function", "method" /* grite-go */}

const goQuery = `
(function_declaration name: (identifier) @name) @definition
(method_declaration name: (field_identifier) @name) @definition
(type_declaration (type_spec name: (type_identifier) @name type: (struct_type))) @definition
(type_declaration (type_spec name: (type_identifier) @name type: (interface_type))) @definition
(type_declaration (type_spec name: (type_identifier) @name)) @definition
`

// The original names Go methods "function" (and so does grite-go, so the
// two agree on every Go file).
var goKinds = []string{"function", "function", "struct", "interface", "type"}

const javaQuery = `
(method_declaration name: (identifier) @name) @definition
(class_declaration name: (identifier) @name) @definition
(interface_declaration name: (identifier) @name) @definition
(enum_declaration name: (identifier) @name) @definition
(constructor_declaration name: (identifier) @name) @definition
`

var javaKinds = []string{"method", "class", "interface", "enum", "method"}

const cQuery = `
(function_definition
  declarator: (function_declarator
    declarator: (identifier) @name)) @definition
(struct_specifier
  name: (type_identifier) @name) @definition
(enum_specifier
  name: (type_identifier) @name) @definition
(type_definition
  declarator: (type_identifier) @name) @definition
`

var cKinds = []string{"function", "struct", "enum", "type"}

const cppQuery = `
(function_definition
  declarator: (function_declarator
    declarator: (identifier) @name)) @definition
(class_specifier
  name: (type_identifier) @name) @definition
(struct_specifier
  name: (type_identifier) @name) @definition
(enum_specifier
  name: (type_identifier) @name) @definition
(namespace_definition
  name: (namespace_identifier) @name) @definition
`

var cppKinds = []string{"function", "class", "struct", "enum", "namespace"}

const rubyQuery = `
(method name: (identifier) @name) @definition
(class name: (constant) @name) @definition
(module name: (constant) @name) @definition
(singleton_method name: (identifier) @name) @definition
`

var rubyKinds = []string{"function", "class", "module", "function"}

const elixirQuery = `
(call
  target: (identifier) @_kw
  (arguments
    (call target: (identifier) @name))
  (#match? @_kw "^(def|defp)$")) @definition

(call
  target: (identifier) @_kw
  (arguments
    (identifier) @name)
  (#match? @_kw "^(def|defp)$")) @definition

(call
  target: (identifier) @_kw
  (arguments
    (alias) @name)
  (#match? @_kw "^defmodule$")) @definition
`

var elixirKinds = []string{"function", "function", "module"}

// kindPriority orders symbols that start on the same line: the more
// specific kind first, so that the duplicate dropped is the generic one
// (a Go struct is also matched as a "type").
func kindPriority(kind string) int {
	switch kind {
	case "struct", "class", "interface", "enum", "trait", "module", "namespace":
		return 0
	case "function", "method", "impl", "const", "static":
		return 1
	case "type":
		return 2
	}
	return 3
}
