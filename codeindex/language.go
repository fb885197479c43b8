// Package codeindex makes the record grite's context store keeps of a source
// file (event kind 13, ContextUpdated): its language, told from the file
// name; its symbols (name, kind, first and last line), from a tree-sitter
// parse; and a one-line summary; all as the original grite makes them, so
// that both index a file alike. It also matches the --pattern globs of
// 'grite context index'.
//
// It is pure but for the parser, which is C (cgo): it reads no files, runs
// no git, touches no database and keeps no state between calls beyond the
// compiled queries of an Extractor. Content is any bytes: invalid UTF-8, a
// binary file or a pathological parse gives fewer symbols, never a panic.
package codeindex

import (
	"path"
	"strings"
)

// Unknown is the language of a file no extractor knows; 'grite context
// index' skips such files, as the original does.
const Unknown = "unknown"

// DetectLanguage names a file's language from its extension, exactly as
// the original grite does (the names are stored in ContextUpdated events).
func DetectLanguage(p string) string {
	switch extension(p) {
	case "rs":
		return "rust"
	case "py":
		return "python"
	case "ts":
		return "typescript"
	case "tsx":
		return "typescriptreact"
	case "js", "jsx":
		return "javascript"
	case "go":
		return "go"
	case "java":
		return "java"
	case "c", "h":
		return "c"
	case "cpp", "hpp", "cc", "cxx":
		return "cpp"
	case "rb":
		return "ruby"
	case "ex", "exs":
		return "elixir"
	}
	return Unknown
}

// extension is what follows the last dot of the file name, as Rust's
// Path::extension has it: none for a name whose only dot leads it
// (".rs" is a hidden file, not a Rust file).
func extension(p string) string {
	base := path.Base(p)
	i := strings.LastIndexByte(base, '.')
	if i <= 0 {
		return ""
	}
	return base[i+1:]
}

// displayLanguage is the language as a summary names it.
func displayLanguage(language string) string {
	if language == "typescriptreact" {
		return "typescript"
	}
	return language
}
