package tools

import (
	"context"
	"sort"
	"strings"

	"grite/crdt"
	"grite/event"
	"grite/foreign"
)

// FormatBeadsJSONL is the export format `bd import` reads.
const FormatBeadsJSONL = "beads-jsonl"

// defaultBeadsPrefix names issues that never came from beads, when no
// issue did.
const defaultBeadsPrefix = "grite"

// exportBeads writes every issue updated at or after sinceTS as beads
// JSONL. An issue imported from beads keeps its beads ID; any other gets
// <prefix>-<first 8 hex of its grite ID>, the prefix being the one most
// of the imported issues have (beads refuses IDs of another prefix), or
// "grite". Dependencies and comments go back to beads' form: the edge
// types and comment authors the import recorded are restored (docs/cli.md,
// Import and export).
func (s *Session) exportBeads(ctx context.Context, sinceTS uint64) (string, error) {
	all, err := s.Store().AllEvents(ctx)
	if err != nil {
		return "", err
	}
	closedAt := map[event.IssueID]uint64{}
	SortByVersion(all)
	for i := range all {
		if sc, ok := all[i].Kind.(event.StateChanged); ok && sc.State == event.StateClosed {
			closedAt[all[i].IssueID] = all[i].TS
		}
	}
	issues := crdt.Fold(all).Issues()
	sort.Slice(issues, func(i, j int) bool {
		if issues[i].CreatedTS != issues[j].CreatedTS {
			return issues[i].CreatedTS < issues[j].CreatedTS
		}
		return issues[i].ID.Compare(issues[j].ID) < 0
	})
	// Beads IDs: the imported ones first, then the rest under the prefix.
	beadsID := map[event.IssueID]string{}
	author := map[event.IssueID]string{}
	prefixes := map[string]int{}
	for _, iss := range issues {
		for _, l := range iss.Links {
			src, id, depType, ok := foreign.ParseProvenanceURL(l.URL)
			if ok && depType == "" && src == foreign.SourceBeads {
				if _, dup := beadsID[iss.ID]; !dup {
					beadsID[iss.ID] = id
					if i := strings.LastIndex(id, "-"); i > 0 {
						prefixes[id[:i]]++
					}
				}
			}
			if ok && depType == "" && l.Note != nil {
				if _, who, found := strings.Cut(*l.Note, "; opened by "); found {
					who, _, _ = strings.Cut(who, "; ")
					author[iss.ID] = who
				}
			}
		}
	}
	prefix, most := defaultBeadsPrefix, 0
	for p, n := range prefixes {
		if n > most || (n == most && p < prefix) {
			prefix, most = p, n
		}
	}
	used := map[string]bool{}
	for _, id := range beadsID {
		used[id] = true
	}
	for _, iss := range issues {
		if _, ok := beadsID[iss.ID]; ok {
			continue
		}
		hex := iss.ID.String()
		for n := 8; n <= len(hex); n++ {
			if id := prefix + "-" + hex[:n]; !used[id] {
				beadsID[iss.ID], used[id] = id, true
				break
			}
		}
	}
	labels := actorLabels(s.Grite)
	who := func(a event.ActorID) string {
		if l := labels[a.String()]; l != "" {
			return l
		}
		return a.String()[:8]
	}
	var out []foreign.Issue
	index := map[event.IssueID]int{}
	for _, iss := range issues {
		if iss.UpdatedTS < sinceTS {
			continue
		}
		fi := foreign.Issue{
			Source: foreign.SourceBeads, ID: beadsID[iss.ID], Title: iss.Title, Body: iss.Body,
			Closed: iss.State == event.StateClosed, Labels: iss.Labels, Assignees: iss.Assignees,
			Author: author[iss.ID], CreatedMS: int64(iss.CreatedTS), UpdatedMS: int64(iss.UpdatedTS),
		}
		if fi.Author == "" {
			fi.Author = who(iss.CreatedBy)
		}
		if fi.Closed {
			fi.ClosedMS = int64(closedAt[iss.ID])
		}
		comments := iss.Comments
		if fi.Closed {
			for i := len(comments) - 1; i >= 0; i-- {
				if r, ok := strings.CutPrefix(comments[i].Body, foreign.CloseReasonPrefix); ok {
					fi.CloseReason = r
					comments = append(comments[:i:i], comments[i+1:]...)
					break
				}
			}
		}
		for _, c := range comments {
			name, text := foreign.SplitComment(c.Body)
			if name == "" {
				name = who(c.Actor)
			}
			fi.Comments = append(fi.Comments, foreign.Comment{Author: name, Body: text, CreatedMS: int64(c.TS)})
		}
		index[iss.ID] = len(out)
		out = append(out, fi)
	}
	// Edges: beads keeps each on the issue that waits (or the child).
	for _, iss := range issues {
		kept := map[string]string{} // beads target ID -> recorded type
		for _, l := range iss.Links {
			if src, id, depType, ok := foreign.ParseProvenanceURL(l.URL); ok && src == foreign.SourceBeads && depType != "" {
				kept[id] = depType
			}
		}
		for _, d := range iss.Deps {
			from, to, typ := iss.ID, d.Target, foreign.BeadsBlocks
			switch d.Type {
			case event.DepBlocks: // iss blocks target: the target waits
				from, to = d.Target, iss.ID
			case event.DepRelatedTo:
				typ = foreign.BeadsRelated
				if t, ok := kept[beadsID[d.Target]]; ok {
					typ = t
				}
			}
			i, ok := index[from]
			if _, exists := beadsID[to]; !ok || !exists {
				continue // an edge to an issue never created, or not exported
			}
			out[i].Deps = append(out[i].Deps, foreign.Dep{Target: beadsID[to], Type: typ})
		}
	}
	b, err := foreign.BeadsJSONL(out)
	return string(b), err
}
