package event

import (
	"fmt"
	"sort"
)

// Kind is the typed payload of an event. Each kind has a fixed wire tag and a
// fixed-order CBOR array payload (docs/format.md §2).
type Kind interface {
	Tag() uint64
	KindName() string
	// payload returns the CBOR payload array in wire order, with sorting applied.
	payload() []any
}

// Kind tags (docs/format.md §2).
const (
	TagIssueCreated          uint64 = 1
	TagIssueUpdated          uint64 = 2
	TagCommentAdded          uint64 = 3
	TagLabelAdded            uint64 = 4
	TagLabelRemoved          uint64 = 5
	TagStateChanged          uint64 = 6
	TagLinkAdded             uint64 = 7
	TagAssigneeAdded         uint64 = 8
	TagAssigneeRemoved       uint64 = 9
	TagAttachmentAdded       uint64 = 10
	TagDependencyAdded       uint64 = 11
	TagDependencyRemoved     uint64 = 12
	TagContextUpdated        uint64 = 13
	TagProjectContextUpdated uint64 = 14
)

// State is an issue state; only "open" and "closed" exist on the wire.
type State string

const (
	StateOpen   State = "open"
	StateClosed State = "closed"
)

// ParseState accepts exactly "open" or "closed".
func ParseState(s string) (State, error) {
	switch State(s) {
	case StateOpen, StateClosed:
		return State(s), nil
	}
	return "", fmt.Errorf("invalid state %q (want open or closed)", s)
}

// DepType is a dependency edge type.
type DepType string

const (
	DepBlocks    DepType = "blocks"
	DepDependsOn DepType = "depends_on"
	DepRelatedTo DepType = "related_to"
)

// ParseDepType accepts exactly the three snake_case names.
func ParseDepType(s string) (DepType, error) {
	switch DepType(s) {
	case DepBlocks, DepDependsOn, DepRelatedTo:
		return DepType(s), nil
	}
	return "", fmt.Errorf("invalid dependency type %q (want blocks, depends_on or related_to)", s)
}

type (
	IssueCreated struct {
		Title  string   `json:"title"`
		Body   string   `json:"body"`
		Labels []string `json:"labels"`
	}
	IssueUpdated struct {
		Title *string `json:"title"`
		Body  *string `json:"body"`
	}
	CommentAdded struct {
		Body string `json:"body"`
	}
	LabelAdded struct {
		Label string `json:"label"`
	}
	LabelRemoved struct {
		Label string `json:"label"`
	}
	StateChanged struct {
		State State `json:"state"`
	}
	LinkAdded struct {
		URL  string  `json:"url"`
		Note *string `json:"note"`
	}
	AssigneeAdded struct {
		User string `json:"user"`
	}
	AssigneeRemoved struct {
		User string `json:"user"`
	}
	AttachmentAdded struct {
		Name   string   `json:"name"`
		SHA256 [32]byte `json:"-"`
		MIME   string   `json:"mime"`
	}
	DependencyAdded struct {
		Target IssueID `json:"target"`
		Type   DepType `json:"dep_type"`
	}
	DependencyRemoved struct {
		Target IssueID `json:"target"`
		Type   DepType `json:"dep_type"`
	}
	Symbol struct {
		Name      string `json:"name"`
		Kind      string `json:"kind"`
		LineStart uint32 `json:"line_start"`
		LineEnd   uint32 `json:"line_end"`
	}
	ContextUpdated struct {
		Path        string   `json:"path"`
		Language    string   `json:"language"`
		Symbols     []Symbol `json:"symbols"`
		Summary     string   `json:"summary"`
		ContentHash [32]byte `json:"-"`
	}
	ProjectContextUpdated struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
)

func (IssueCreated) Tag() uint64          { return TagIssueCreated }
func (IssueUpdated) Tag() uint64          { return TagIssueUpdated }
func (CommentAdded) Tag() uint64          { return TagCommentAdded }
func (LabelAdded) Tag() uint64            { return TagLabelAdded }
func (LabelRemoved) Tag() uint64          { return TagLabelRemoved }
func (StateChanged) Tag() uint64          { return TagStateChanged }
func (LinkAdded) Tag() uint64             { return TagLinkAdded }
func (AssigneeAdded) Tag() uint64         { return TagAssigneeAdded }
func (AssigneeRemoved) Tag() uint64       { return TagAssigneeRemoved }
func (AttachmentAdded) Tag() uint64       { return TagAttachmentAdded }
func (DependencyAdded) Tag() uint64       { return TagDependencyAdded }
func (DependencyRemoved) Tag() uint64     { return TagDependencyRemoved }
func (ContextUpdated) Tag() uint64        { return TagContextUpdated }
func (ProjectContextUpdated) Tag() uint64 { return TagProjectContextUpdated }

func (IssueCreated) KindName() string          { return "IssueCreated" }
func (IssueUpdated) KindName() string          { return "IssueUpdated" }
func (CommentAdded) KindName() string          { return "CommentAdded" }
func (LabelAdded) KindName() string            { return "LabelAdded" }
func (LabelRemoved) KindName() string          { return "LabelRemoved" }
func (StateChanged) KindName() string          { return "StateChanged" }
func (LinkAdded) KindName() string             { return "LinkAdded" }
func (AssigneeAdded) KindName() string         { return "AssigneeAdded" }
func (AssigneeRemoved) KindName() string       { return "AssigneeRemoved" }
func (AttachmentAdded) KindName() string       { return "AttachmentAdded" }
func (DependencyAdded) KindName() string       { return "DependencyAdded" }
func (DependencyRemoved) KindName() string     { return "DependencyRemoved" }
func (ContextUpdated) KindName() string        { return "ContextUpdated" }
func (ProjectContextUpdated) KindName() string { return "ProjectContextUpdated" }

// optText maps an absent optional text field to CBOR null.
func optText(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

// SortedLabels returns labels in byte-wise order, duplicates kept (docs/format.md §3.3).
func SortedLabels(labels []string) []string {
	out := make([]string, len(labels))
	copy(out, labels)
	sort.Strings(out)
	return out
}

// SortedSymbols returns symbols stably sorted by (name, kind) only.
func SortedSymbols(symbols []Symbol) []Symbol {
	out := make([]Symbol, len(symbols))
	copy(out, symbols)
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

func (k IssueCreated) payload() []any {
	labels := SortedLabels(k.Labels)
	ls := make([]any, len(labels))
	for i, l := range labels {
		ls[i] = l
	}
	return []any{k.Title, k.Body, ls}
}
func (k IssueUpdated) payload() []any { return []any{optText(k.Title), optText(k.Body)} }
func (k CommentAdded) payload() []any { return []any{k.Body} }
func (k LabelAdded) payload() []any   { return []any{k.Label} }
func (k LabelRemoved) payload() []any { return []any{k.Label} }
func (k StateChanged) payload() []any { return []any{string(k.State)} }
func (k LinkAdded) payload() []any    { return []any{k.URL, optText(k.Note)} }
func (k AssigneeAdded) payload() []any {
	return []any{k.User}
}
func (k AssigneeRemoved) payload() []any { return []any{k.User} }
func (k AttachmentAdded) payload() []any {
	return []any{k.Name, k.SHA256[:], k.MIME}
}
func (k DependencyAdded) payload() []any   { return []any{k.Target[:], string(k.Type)} }
func (k DependencyRemoved) payload() []any { return []any{k.Target[:], string(k.Type)} }
func (k ContextUpdated) payload() []any {
	syms := SortedSymbols(k.Symbols)
	ss := make([]any, len(syms))
	for i, s := range syms {
		ss[i] = []any{s.Name, s.Kind, uint64(s.LineStart), uint64(s.LineEnd)}
	}
	return []any{k.Path, k.Language, ss, k.Summary, k.ContentHash[:]}
}
func (k ProjectContextUpdated) payload() []any { return []any{k.Key, k.Value} }
