// Command grite-mcp is grite's stdio MCP server: one agent session, one actor.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "grite-mcp: not yet implemented")
	os.Exit(1)
}
