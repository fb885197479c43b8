package codeindex

import (
	"fmt"
	"path"
	"strings"

	"grite/event"
)

// Summary is the one-line summary of a file, as the original grite writes
// it: "defines A, B, C (+N more); M functions" from its types and
// functions, "<language> file" when it has no symbols, and "<name>
// (<language>)" when it has symbols of other kinds only.
func Summary(p string, symbols []event.Symbol, language string) string {
	lang := displayLanguage(language)
	if len(symbols) == 0 {
		return lang + " file"
	}
	var types []string
	functions := 0
	for _, s := range symbols {
		switch s.Kind {
		case "struct", "class", "interface":
			types = append(types, s.Name)
		case "function", "method":
			functions++
		}
	}
	var parts []string
	if len(types) > 0 {
		names := strings.Join(types[:min(3, len(types))], ", ")
		if len(types) > 3 {
			parts = append(parts, fmt.Sprintf("defines %s (+%d more)", names, len(types)-3))
		} else {
			parts = append(parts, "defines "+names)
		}
	}
	if functions > 0 {
		parts = append(parts, fmt.Sprintf("%d functions", functions))
	}
	if len(parts) == 0 {
		return fmt.Sprintf("%s (%s)", path.Base(p), lang)
	}
	return strings.Join(parts, "; ")
}
