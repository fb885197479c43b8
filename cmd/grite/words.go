package main

import (
	"strconv"
	"strings"
)

// plural counts a noun as English does: "1 event", "2 events", "0 events".
func plural(n int, noun string) string {
	if n != 1 {
		noun += "s"
	}
	return strconv.Itoa(n) + " " + noun
}

// article puts "a" or "an" before a noun by its first letter, which is
// enough for the nouns the CLI builds sentences from ("an assignee",
// "a label").
func article(noun string) string {
	if noun != "" && strings.ContainsRune("aeiou", rune(noun[0])) {
		return "an " + noun
	}
	return "a " + noun
}
