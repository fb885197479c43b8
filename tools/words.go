package tools

import (
	"strconv"
	"strings"
)

// Plural counts a noun as English does: "1 event", "2 events", "3 retries".
// The CLI's and MCP's human text use it too, so there is one rule.
func Plural(n int, noun string) string {
	if n != 1 && noun != "" {
		if strings.HasSuffix(noun, "y") {
			noun = noun[:len(noun)-1] + "ie"
		}
		noun += "s"
	}
	return strconv.Itoa(n) + " " + noun
}

// Article puts "a" or "an" before a noun by its first letter, which is
// enough for the nouns grite builds sentences from ("an assignee", "a
// label", "an array").
func Article(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}
