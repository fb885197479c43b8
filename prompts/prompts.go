// Package prompts embeds grite's agent-facing texts: the AGENTS.md section
// written by `grite init` and the MCP prompts. It only holds text.
package prompts

import _ "embed"

// AgentsSection is appended to AGENTS.md by `grite init`.
//
//go:embed agents.md
var AgentsSection string

// Workflow teaches an agent the find → claim → comment → close → sync loop.
//
//go:embed workflow.md
var Workflow string

// Handoff asks an agent to leave the tracker ready for the next one.
//
//go:embed handoff.md
var Handoff string

// Instructions is the MCP server's three-line orientation.
const Instructions = `grite is this repository's issue tracker, shared with other agents through git; you act as your own actor.
Loop: issue_ready → issue_claim → work → issue_comment → issue_update state=closed → issue_release → sync.
Errors carry a stable code (invalid_args, not_found, conflict, ...) and safe suggestions; a conflict means another agent holds it.`

// Skill is the agent skill `grite install-skill` writes: the CLI and MCP
// workflow, with the front matter agent harnesses read skills by.
//
//go:embed skill.md
var Skill string
