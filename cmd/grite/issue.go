package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/mattn/go-runewidth"
	"github.com/spf13/cobra"

	"grite/event"
	"grite/tools"
)

func issueCmd(g *globals) *cobra.Command {
	c := &cobra.Command{Use: "issue", Short: "Create, change and read issues", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() }}
	c.AddCommand(
		issueCreateCmd(g), issueUpdateCmd(g), issueListCmd(g), issueShowCmd(g),
		issueCommentCmd(g), issueHandoffCmd(g),
		issueStateCmd(g, "close", event.StateClosed), issueStateCmd(g, "reopen", event.StateOpen),
		issueSetCmd(g, "label", "label",
			func(in *tools.IssueUpdateInput, vs []string) { in.AddLabels = vs },
			func(in *tools.IssueUpdateInput, vs []string) { in.RemoveLabels = vs }),
		issueSetCmd(g, "assignee", "user",
			func(in *tools.IssueUpdateInput, vs []string) { in.AddAssignees = vs },
			func(in *tools.IssueUpdateInput, vs []string) { in.RemoveAssignees = vs }),
		issueLinkCmd(g), issueAttachmentCmd(g),
		depCmd(g), readyCmd(g), claimCmd(g), releaseCmd(g, "release"), releaseCmd(g, "unclaim"),
	)
	return c
}

func printWrite(verb string) func(io.Writer, tools.WriteResult) {
	return func(w io.Writer, r tools.WriteResult) {
		switch {
		case !r.Changed:
			fmt.Fprintf(w, "unchanged %s: %s\n", r.IssueID, r.Message)
		case r.Message != "":
			fmt.Fprintf(w, "%s %s (%s)\n", verb, r.IssueID, r.Message)
		default:
			fmt.Fprintf(w, "%s %s\n", verb, r.IssueID)
		}
	}
}

func issueCreateCmd(g *globals) *cobra.Command {
	var in tools.IssueCreateInput
	var body *bodyFlags
	c := &cobra.Command{Use: "create --title T [--body B | --body-file F] [--label L]...", Short: "Create an issue", Args: argsAndFlag(0, "", "title", "title"),
		RunE: func(c *cobra.Command, args []string) error {
			var err error
			if in.Body, _, err = body.value(c); err != nil {
				return g.reportErr(err)
			}
			return withOp(g, tools.IssueCreate, in, quietly(g, printWrite("created"), func(w io.Writer, r tools.WriteResult) {
				fmt.Fprintln(w, r.IssueID)
			}))
		}}
	c.Flags().StringVar(&in.Title, "title", "", "title (required)")
	body = addBodyFlags(c, "body text")
	c.Flags().StringArrayVar(&in.Labels, "label", nil, "label (repeatable)")
	c.Flags().StringArrayVar(&in.Assignees, "assignee", nil, "assignee (repeatable)")
	return c
}

func issueUpdateCmd(g *globals) *cobra.Command {
	var title, state string
	var body *bodyFlags
	var addL, rmL, addA, rmA []string
	c := &cobra.Command{Use: "update ID [--title T] [--body B | --body-file F]", Short: "Change an issue", Args: exactArgs(1, "an issue ID"),
		RunE: func(c *cobra.Command, args []string) error {
			in := tools.IssueUpdateInput{ID: args[0], State: state, AddLabels: addL, RemoveLabels: rmL, AddAssignees: addA, RemoveAssignees: rmA}
			if c.Flags().Changed("title") {
				in.Title = &title
			}
			if b, given, err := body.value(c); err != nil {
				return g.reportErr(err)
			} else if given {
				in.Body = &b
			}
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.WriteResult, error) {
				useLock, _ := c.Flags().GetBool("lock")
				return lockedIf(ctx, s, useLock, in.ID, func() (tools.WriteResult, error) { return tools.IssueUpdate.Call(ctx, s, in) })
			}, printWrite("updated"))
		}}
	f := c.Flags()
	f.StringVar(&title, "title", "", "new title")
	body = addBodyFlags(c, "new body")
	f.StringVar(&state, "state", "", "open or closed")
	f.StringArrayVar(&addL, "add-label", nil, "label to add (repeatable)")
	f.StringArrayVar(&rmL, "remove-label", nil, "label to remove (repeatable)")
	f.StringArrayVar(&addA, "add-assignee", nil, "assignee to add (repeatable)")
	f.StringArrayVar(&rmA, "remove-assignee", nil, "assignee to remove (repeatable)")
	f.Bool("lock", false, "hold issue:<id> during the write")
	return c
}

func issueListCmd(g *globals) *cobra.Command {
	var in tools.IssueListInput
	c := &cobra.Command{Use: "list", Short: "List issues (oldest first)", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.IssueListOutput, error) {
				return tools.IssueList.Call(ctx, s, in)
			}, quietly(g, func(w io.Writer, o tools.IssueListOutput) { printList(w, o, g.colour) }, printIDs))
		}}
	f := c.Flags()
	f.StringVar(&in.State, "state", "", "open, closed or all (default: all)")
	f.StringArrayVar(&in.Labels, "label", nil, "only issues with this label (repeatable: with every one)")
	f.StringVar(&in.Assignee, "assignee", "", "only issues assigned to this name")
	f.StringVar(&in.Query, "search", "", "only issues whose title or body contains this text")
	f.StringVar(&in.ClaimedBy, "claimed-by", "", "only issues with a live claim of this actor: me, a label, an actor ID or prefix")
	f.IntVar(&in.Limit, "limit", 0, "at most this many (default: no limit)")
	return c
}

// printList prints a header and one aligned line per issue: short ID,
// state, title, labels, assignees and when it last changed. Columns are
// padded by display width (a CJK character or an emoji takes two), so
// such titles do not shift the columns after them. It pads by hand rather
// than through text/tabwriter, which holds every cell of a 10k-issue
// listing in memory before writing a byte. With colour, the state alone is
// marked (open green, closed dim), outside the padding so columns stay put.
func printList(w io.Writer, out tools.IssueListOutput, colour bool) {
	if len(out.Issues) > 0 {
		now := time.Now()
		titles := make([]string, len(out.Issues))
		labels := make([]string, len(out.Issues))
		assignees := make([]string, len(out.Issues))
		stateW, titleW, labelW, assigneeW := len("STATE"), len("TITLE"), len("LABELS"), len("ASSIGNEES")
		for i, is := range out.Issues {
			if titles[i] = oneLine(is.Title, 200); displayWidth(titles[i]) > 60 {
				titles[i] = runewidth.Truncate(titles[i], 60, "…")
			}
			labels[i] = strings.Join(is.Labels, ",")
			assignees[i] = strings.Join(is.Assignees, ",")
			stateW = max(stateW, displayWidth(is.State))
			titleW = max(titleW, displayWidth(titles[i]))
			labelW = max(labelW, displayWidth(labels[i]))
			assigneeW = max(assigneeW, displayWidth(assignees[i]))
		}
		var line []byte
		row := func(id, state, title, label, assignee, updated string) {
			line = appendPadded(line[:0], id, 10)
			if sgr := stateColour(state); colour && sgr != "" {
				line = append(append(append(line, sgr...), state...), "\x1b[0m"...)
				line = appendPadded(line, "", stateW+2-displayWidth(state))
			} else {
				line = appendPadded(line, state, stateW+2)
			}
			line = appendPadded(line, title, titleW+2)
			line = appendPadded(line, label, labelW+2)
			line = appendPadded(line, assignee, assigneeW+2)
			line = append(line, updated...)
			line = append(bytes.TrimRight(line, " "), '\n')
			_, _ = w.Write(line)
		}
		row("ID", "STATE", "TITLE", "LABELS", "ASSIGNEES", "UPDATED")
		for i, is := range out.Issues {
			row(is.IssueID[:min(8, len(is.IssueID))], is.State, titles[i], labels[i], assignees[i], ago(now, is.UpdatedTS))
		}
	}
	if len(out.Issues) < out.Total {
		fmt.Fprintf(w, "(%d of %d shown)\n", len(out.Issues), out.Total)
	} else if out.Total == 0 {
		fmt.Fprintln(w, "no issues")
	}
	if out.Hint != "" {
		fmt.Fprintln(w, "hint: "+out.Hint)
	}
}

// stateColour is the SGR sequence that marks a state in a listing.
func stateColour(state string) string {
	switch state {
	case "open":
		return "\x1b[32m"
	case "closed":
		return "\x1b[2m"
	}
	return ""
}

// displayWidth is how many terminal columns s takes; printable ASCII, most
// of any listing, is one a byte without a lookup.
func displayWidth(s string) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			return runewidth.StringWidth(s)
		}
	}
	return len(s)
}

// ago says when, relative to now, as people read a listing: "just now",
// "5m ago", "3h ago", "2d ago", then the date.
func ago(now time.Time, ms uint64) string {
	at := time.UnixMilli(int64(ms))
	d := now.Sub(at)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%dh ago", int(d/time.Hour))
	case d < 30*24*time.Hour:
		return fmt.Sprintf("%dd ago", int(d/(24*time.Hour)))
	}
	return at.Local().Format("2006-01-02")
}

// printIDs prints the full ID of each issue, one a line.
func printIDs(w io.Writer, out tools.IssueListOutput) {
	var b []byte
	for _, is := range out.Issues {
		b = append(append(b[:0], is.IssueID...), '\n')
		_, _ = w.Write(b)
	}
}

// appendPadded appends s and spaces up to width display columns.
func appendPadded(b []byte, s string, width int) []byte {
	b = append(b, s...)
	for n := displayWidth(s); n < width; n++ {
		b = append(b, ' ')
	}
	return b
}

// oneLine collapses whitespace runs to one space and cuts s to max runes.
func oneLine(s string, max int) string {
	if len(s) <= max && isOneLine(s) {
		return s // the common case, without allocating
	}
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > max {
		return string([]rune(s)[:max-1]) + "…"
	}
	return s
}

// isOneLine: printable ASCII with single inner spaces, which strings.Fields
// and Join would return unchanged.
func isOneLine(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c > ' ' && c < 0x7f:
		case c == ' ' && i > 0 && i < len(s)-1 && s[i+1] != ' ':
		default:
			return false
		}
	}
	return true
}

func issueShowCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "show ID", Short: "Show an issue with comments and events", Args: exactArgs(1, "an issue ID"),
		RunE: func(c *cobra.Command, args []string) error {
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.IssueShowOutput, error) {
				return tools.IssueShow.Call(ctx, s, tools.IssueShowInput{ID: args[0]})
			}, printShow)
		}}
}

func fmtTS(ms uint64) string {
	return time.UnixMilli(int64(ms)).UTC().Format("2006-01-02 15:04 UTC")
}

func printShow(w io.Writer, out tools.IssueShowOutput) {
	i := out.Issue
	fmt.Fprintf(w, "%s  %s\n%s\n", i.IssueID, i.State, i.Title)
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
	fmt.Fprintf(tw, "created:\t%s by %s\n", fmtTS(i.CreatedTS), i.CreatedBy[:8])
	fmt.Fprintf(tw, "updated:\t%s\n", fmtTS(i.UpdatedTS))
	if len(i.Labels) > 0 {
		fmt.Fprintf(tw, "labels:\t%s\n", strings.Join(i.Labels, ", "))
	}
	if len(i.Assignees) > 0 {
		fmt.Fprintf(tw, "assignees:\t%s\n", strings.Join(i.Assignees, ", "))
	}
	for _, r := range i.Relations {
		fmt.Fprintf(tw, "%s:\t%s %s\n", r.Phrase(), r.IssueID[:8], oneLine(r.Title, 60))
	}
	for _, l := range i.Links {
		note := ""
		if l.Note != nil {
			note = " (" + *l.Note + ")"
		}
		fmt.Fprintf(tw, "link:\t%s%s\n", l.URL, note)
	}
	for _, a := range i.Attachments {
		fmt.Fprintf(tw, "attachment:\t%s %s sha256:%s\n", a.Name, a.MIME, a.SHA256[:12])
	}
	tw.Flush()
	if i.Body != "" {
		fmt.Fprintf(w, "\n%s\n", i.Body)
	}
	if h := i.Handoff; h != nil {
		fmt.Fprintf(w, "\n=== latest handoff, %s, %s\n", h.Actor[:8], fmtTS(h.TS))
		tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', 0)
		for _, f := range [][2]string{{"done", h.Done}, {"next", h.Next}, {"blocker", h.Blocker}, {"evidence", h.Evidence}} {
			if f[1] != "" {
				fmt.Fprintf(tw, "%s:\t%s\n", f[0], strings.ReplaceAll(strings.TrimSpace(f[1]), "\n", "\n\t"))
			}
		}
		if h.Head != "" {
			state := "clean"
			if h.Dirty {
				state = "uncommitted changes"
			}
			fmt.Fprintf(tw, "at:\t%s %s (%s)\n", h.Branch, h.Head[:min(12, len(h.Head))], state)
		}
		tw.Flush()
	}
	for _, c := range i.Comments {
		body := c.Body
		if i.Handoff != nil && c.EventID == i.Handoff.EventID {
			body = "(the latest handoff, above)"
		}
		fmt.Fprintf(w, "\n--- %s, %s\n%s\n", c.Actor[:8], fmtTS(c.TS), body)
	}
	fmt.Fprintf(w, "\n%s\n", tools.Plural(len(out.Events), "event"))
}

func issueHandoffCmd(g *globals) *cobra.Command {
	var in tools.IssueCommentInput
	c := &cobra.Command{Use: "handoff ID --done TEXT --next TEXT [--blocker TEXT] [--evidence TEXT]",
		Short: "Leave a handoff on an issue: what is done, what comes next",
		Long: `Leave a handoff for whoever continues the issue (another agent, or you after a
restart or a compaction): what is done, what comes next, what blocks, and the
evidence. It records your actor, the repository's HEAD commit and branch and
whether the working tree has uncommitted changes. It is stored as an ordinary
comment, readable anywhere; 'grite issue show' shows the latest one apart, and a
claim of the issue by someone else carries it in 'previous'.`,
		Args: exactArgs(1, "an issue ID"),
		RunE: func(c *cobra.Command, args []string) error {
			in.ID, in.Kind = args[0], "handoff"
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.WriteResult, error) {
				return tools.IssueComment.Call(ctx, s, in)
			}, printWrite("left a handoff on"))
		}}
	c.Flags().StringVar(&in.Done, "done", "", "what is done (required)")
	c.Flags().StringVar(&in.Next, "next", "", "what comes next (required)")
	c.Flags().StringVar(&in.Blocker, "blocker", "", "what blocks the work, if anything")
	c.Flags().StringVar(&in.Evidence, "evidence", "", "evidence: tests run, commits, links")
	return c
}

func issueCommentCmd(g *globals) *cobra.Command {
	var body *bodyFlags
	c := &cobra.Command{Use: "comment ID --body B | --body-file F", Short: "Comment on an issue", Args: argsAndFlag(1, "an issue ID", "comment", "body"),
		RunE: func(c *cobra.Command, args []string) error {
			text, _, err := body.value(c)
			if err != nil {
				return g.reportErr(err)
			}
			useLock, _ := c.Flags().GetBool("lock")
			return withSession(g, func(ctx context.Context, s *tools.Session) (tools.WriteResult, error) {
				return lockedIf(ctx, s, useLock, args[0], func() (tools.WriteResult, error) {
					return tools.IssueComment.Call(ctx, s, tools.IssueCommentInput{ID: args[0], Body: text})
				})
			}, printWrite("commented on"))
		}}
	body = addBodyFlags(c, "comment text (required)")
	c.Flags().Bool("lock", false, "hold issue:<id> during the write")
	return c
}

// writeCmd runs one write on the issue id (holding issue:<id> with --lock).
func writeCmd[I any](g *globals, c *cobra.Command, op tools.Op[I, tools.WriteResult], id string, in I, verb string) error {
	useLock, _ := c.Flags().GetBool("lock")
	return withSession(g, func(ctx context.Context, s *tools.Session) (tools.WriteResult, error) {
		return lockedIf(ctx, s, useLock, id, func() (tools.WriteResult, error) { return op.Call(ctx, s, in) })
	}, printWrite(verb))
}

func issueStateCmd(g *globals, name string, st event.State) *cobra.Command {
	c := &cobra.Command{Use: name + " ID", Short: strings.ToUpper(name[:1]) + name[1:] + " an issue", Args: exactArgs(1, "an issue ID"),
		RunE: func(c *cobra.Command, args []string) error {
			in := tools.IssueUpdateInput{ID: args[0], State: string(st)}
			return writeCmd(g, c, tools.IssueUpdate, in.ID, in, map[string]string{"close": "closed", "reopen": "reopened"}[name])
		}}
	c.Flags().Bool("lock", false, "hold issue:<id> during the write")
	return c
}

// issueSetCmd builds "<noun> add|remove ID --<flag> V...". Every value of a
// repeated flag counts, written as one WAL commit.
func issueSetCmd(g *globals, noun, flag string, add, remove func(*tools.IssueUpdateInput, []string)) *cobra.Command {
	parent := &cobra.Command{Use: noun, Short: "Add or remove " + tools.Article(noun), Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() }}
	for _, v := range []struct {
		name string
		set  func(*tools.IssueUpdateInput, []string)
		verb string
	}{{"add", add, "added to"}, {"remove", remove, "removed from"}} {
		var vals []string
		c := &cobra.Command{Use: v.name + " ID --" + flag + " V [--" + flag + " V]...", Short: v.name + " " + noun + "s", Args: argsAndFlag(1, "an issue ID", noun, flag),
			RunE: func(c *cobra.Command, args []string) error {
				if len(vals) == 0 {
					return g.reportErr(tools.InvalidArgs("--%s is required", flag))
				}
				in := tools.IssueUpdateInput{ID: args[0]}
				v.set(&in, vals)
				what := noun
				if len(vals) > 1 {
					what += "s"
				}
				useLock, _ := c.Flags().GetBool("lock")
				return withSession(g, func(ctx context.Context, s *tools.Session) (tools.WriteResult, error) {
					return lockedIf(ctx, s, useLock, in.ID, func() (tools.WriteResult, error) { return tools.IssueUpdate.Call(ctx, s, in) })
				}, printWrite(what+" "+v.verb))
			}}
		c.Flags().StringArrayVar(&vals, flag, nil, noun+" (repeatable)")
		c.Flags().Bool("lock", false, "hold issue:<id> during the write")
		parent.AddCommand(c)
	}
	return parent
}

func issueLinkCmd(g *globals) *cobra.Command {
	parent := &cobra.Command{Use: "link", Short: "Add a link", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() }}
	var url, note string
	c := &cobra.Command{Use: "add ID --url U [--note N]", Short: "Add a link to an issue", Args: argsAndFlag(1, "an issue ID", "URL", "url"),
		RunE: func(c *cobra.Command, args []string) error {
			in := tools.IssueLinkInput{ID: args[0], URL: url}
			if c.Flags().Changed("note") {
				in.Note = &note
			}
			return writeCmd(g, c, tools.IssueLinkAdd, in.ID, in, "link added to")
		}}
	c.Flags().StringVar(&url, "url", "", "URL (required)")
	c.Flags().StringVar(&note, "note", "", "note")
	c.Flags().Bool("lock", false, "hold issue:<id> during the write")
	parent.AddCommand(c)
	return parent
}

func issueAttachmentCmd(g *globals) *cobra.Command {
	parent := &cobra.Command{Use: "attachment", Short: "Add an attachment reference", Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() }}
	var name, sum, mime string
	c := &cobra.Command{Use: "add ID --name N --sha256 HEX --mime M", Short: "Record an attachment", Args: exactArgs(1, "an issue ID"),
		RunE: func(c *cobra.Command, args []string) error {
			in := tools.IssueAttachInput{ID: args[0], Name: name, SHA256: sum, MIME: mime}
			return writeCmd(g, c, tools.IssueAttachmentAdd, in.ID, in, "attachment added to")
		}}
	c.Flags().StringVar(&name, "name", "", "file name (required)")
	c.Flags().StringVar(&sum, "sha256", "", "SHA-256 of the content, 64 hex (required)")
	c.Flags().StringVar(&mime, "mime", "", "MIME type (required)")
	c.Flags().Bool("lock", false, "hold issue:<id> during the write")
	parent.AddCommand(c)
	return parent
}

// bodyFlags are --body and --body-file. A body may be up to 1 MiB, but one
// command-line argument is limited to 128 KiB on Linux, so a large body can
// only be given as a file (or "-" for stdin).
type bodyFlags struct{ text, file string }

func addBodyFlags(c *cobra.Command, usage string) *bodyFlags {
	b := &bodyFlags{}
	c.Flags().StringVar(&b.text, "body", "", usage)
	c.Flags().StringVar(&b.file, "body-file", "", "read the body from this file (- for stdin)")
	return b
}

// value returns the body and whether one was given. It reads at most one
// byte more than the limit, so an oversize file is refused without loading it.
func (b *bodyFlags) value(c *cobra.Command) (string, bool, error) {
	text, file := c.Flags().Changed("body"), c.Flags().Changed("body-file")
	switch {
	case text && file:
		return "", false, tools.InvalidArgs("give --body or --body-file, not both")
	case !file:
		return b.text, text, nil
	}
	var r io.Reader = os.Stdin
	if b.file != "-" {
		f, err := os.Open(b.file)
		if err != nil {
			return "", false, tools.InvalidArgs("--body-file: %v", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, tools.MaxBodyBytes+1))
	if err != nil {
		return "", false, tools.InvalidArgs("--body-file: %v", err)
	}
	if len(data) > tools.MaxBodyBytes {
		return "", false, tools.InvalidArgs("body in %s is larger than the limit of %d bytes", b.file, tools.MaxBodyBytes)
	}
	return string(data), true, nil
}
