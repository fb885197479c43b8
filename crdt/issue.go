package crdt

import "grite/event"

// Issue is the projected state of one issue.
type Issue struct {
	ID          event.IssueID
	Title       string
	Body        string
	State       event.State
	Labels      []string     // sorted byte-wise, never nil
	Assignees   []string     // sorted byte-wise, never nil
	Comments    []Comment    // in version order, never nil
	Links       []Link       // in version order, never nil
	Attachments []Attachment // in version order, never nil
	Deps        []Dep        // sorted by (target bytes, type), never nil
	CreatedBy   event.ActorID
	CreatedTS   uint64
	UpdatedTS   uint64 // max ts of every event applied to the issue
	EventCount  int    // distinct events of the issue (context events excluded)
}

// Comment is one CommentAdded, in version order.
type Comment struct {
	EventID event.EventID
	Actor   event.ActorID
	TS      uint64
	Body    string
}

// Link is one LinkAdded, in version order.
type Link struct {
	EventID event.EventID
	URL     string
	Note    *string
}

// Attachment is one AttachmentAdded, in version order.
type Attachment struct {
	EventID event.EventID
	Name    string
	SHA256  [32]byte
	MIME    string
}

// Dep is one live dependency edge from the issue to Target.
type Dep struct {
	Target event.IssueID
	Type   event.DepType
}
