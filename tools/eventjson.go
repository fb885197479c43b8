package tools

import (
	"encoding/hex"

	"grite/event"
)

// EventJSON is an event as the CLI prints it: kind externally tagged, e.g.
// {"IssueCreated": {"title": ..., "body": ..., "labels": [...]}}.
type EventJSON struct {
	EventID string         `json:"event_id"`
	IssueID string         `json:"issue_id"`
	Actor   string         `json:"actor"`
	TS      uint64         `json:"ts_unix_ms"`
	Parent  *string        `json:"parent"`
	Kind    map[string]any `json:"kind"`
	Signed  bool           `json:"signed"`
}

// EventToJSON renders one event.
func EventToJSON(e *event.Event) EventJSON {
	j := EventJSON{
		EventID: e.ID.String(), IssueID: e.IssueID.String(), Actor: e.Actor.String(),
		TS: e.TS, Signed: len(e.Sig) > 0,
	}
	if e.Parent != nil {
		p := e.Parent.String()
		j.Parent = &p
	}
	var body any = e.Kind
	switch k := e.Kind.(type) {
	case event.IssueCreated:
		k.Labels = event.SortedLabels(k.Labels)
		body = k
	case event.AttachmentAdded:
		body = struct {
			Name   string `json:"name"`
			SHA256 string `json:"sha256"`
			MIME   string `json:"mime"`
		}{k.Name, hex.EncodeToString(k.SHA256[:]), k.MIME}
	case event.ContextUpdated:
		body = struct {
			Path        string         `json:"path"`
			Language    string         `json:"language"`
			Symbols     []event.Symbol `json:"symbols"`
			Summary     string         `json:"summary"`
			ContentHash string         `json:"content_hash"`
		}{k.Path, k.Language, event.SortedSymbols(k.Symbols), k.Summary, hex.EncodeToString(k.ContentHash[:])}
	}
	j.Kind = map[string]any{e.Kind.KindName(): body}
	return j
}
