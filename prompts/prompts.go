// Package prompts embeds grite's agent-facing texts: the AGENTS.md section
// written by `grite init` and the MCP prompts. It only holds text.
package prompts

import _ "embed"

// AgentsSection is appended to AGENTS.md by `grite init`.
//
//go:embed agents.md
var AgentsSection string
