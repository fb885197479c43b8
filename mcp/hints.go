package mcp

import "strings"

// forMCP rewrites the few next steps tools/ words for the command line
// ("Pass --remote NAME", "run 'grite sync --pull'") into the tool and
// argument an MCP client has ("Pass remote: NAME", "call sync with mode:
// \"pull\""). tools/ stays one wording for both edges; this table is the
// small price of that, and a hint it does not know stays as it was,
// which still names the right operation.
var forMCP = strings.NewReplacer(cliToMCP...)

// cliToMCP pairs a phrase of tools/ with its MCP wording.
var cliToMCP = []string{
	"Pass --remote NAME", "Pass remote: NAME",
	"run 'grite sync --pull' to fetch them", `call sync with mode: "pull" to fetch them`,
	"run 'grite sync' again", "call sync again",
	"--retry-budget 2m, or retry_budget_seconds in the [sync] table", "retry_budget_seconds: 120, or retry_budget_seconds in the [sync] table",
	"Give a slow remote longer with --timeout 5m", "Give a slow remote longer with timeout_seconds: 300",
	"Run 'grite issue list --claimed-by me' to see your own claims", "Call whoami to see your own claims",
	"Run 'grite issue list --state open' to see", `Call issue_list with state: "open" to see`,
	"run 'grite issue list --state open' to see", `call issue_list with state: "open" to see`,
	"Reopen it first with 'grite issue reopen ", `Reopen it first with issue_update (state: "open") on '`,
	"with 'grite issue dep remove'", `with issue_dep, action: "remove"`,
	"Run 'grite issue ready' to find", "Call issue_ready to find",
	"claim it again to hold it ('grite issue claim ", "claim it again to hold it (issue_claim on '",
	"Run 'grite lock status' to see", "Call lock_status to see",
	"Run 'grite issue list' to see", "Call issue_list to see",
	"Use 'grite issue list' to see", "Call issue_list to see",
}

// mcpDetails is details with its suggestions worded for MCP; the error's
// own map is left alone.
func mcpDetails(details map[string]any) map[string]any {
	s, ok := details["suggestions"].([]string)
	if !ok {
		return details
	}
	out := make(map[string]any, len(details))
	for k, v := range details {
		out[k] = v
	}
	worded := make([]string, len(s))
	for i, h := range s {
		worded[i] = forMCP.Replace(h)
	}
	out["suggestions"] = worded
	return out
}
