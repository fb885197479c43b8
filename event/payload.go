package event

import (
	"errors"
	"fmt"
	"io"
)

func isEOF(err error) bool {
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// Wire shapes of the payload arrays; toarray rejects any other length and the
// field types reject wrong CBOR types.
type (
	wireCreated struct {
		_      struct{} `cbor:",toarray"`
		Title  string
		Body   string
		Labels []string
	}
	wireUpdated struct {
		_     struct{} `cbor:",toarray"`
		Title *string
		Body  *string
	}
	wireOneText struct {
		_    struct{} `cbor:",toarray"`
		Text string
	}
	wireTwoText struct {
		_ struct{} `cbor:",toarray"`
		A string
		B string
	}
	wireLink struct {
		_    struct{} `cbor:",toarray"`
		URL  string
		Note *string
	}
	wireAttachment struct {
		_      struct{} `cbor:",toarray"`
		Name   string
		SHA256 []byte
		MIME   string
	}
	wireDep struct {
		_      struct{} `cbor:",toarray"`
		Target []byte
		Type   string
	}
	wireSymbol struct {
		_         struct{} `cbor:",toarray"`
		Name      string
		Kind      string
		LineStart uint32
		LineEnd   uint32
	}
	wireContext struct {
		_           struct{} `cbor:",toarray"`
		Path        string
		Language    string
		Symbols     []wireSymbol
		Summary     string
		ContentHash []byte
	}
)

// DecodePayload decodes the payload array of the kind with the given tag.
func DecodePayload(tag uint64, raw []byte) (Kind, error) {
	if tag < TagIssueCreated || tag > TagProjectContextUpdated {
		return nil, &DecodeError{Reason: ErrUnknownKind, Detail: fmt.Sprintf("Unknown kind tag: %d", tag)}
	}
	bad := func(err error) error {
		return &DecodeError{Reason: ErrBadField, Detail: fmt.Sprintf("payload of kind %d: %v", tag, err)}
	}
	switch tag {
	case TagIssueCreated:
		var w wireCreated
		if err := decMode.Unmarshal(raw, &w); err != nil {
			return nil, bad(err)
		}
		if w.Labels == nil {
			w.Labels = []string{}
		}
		return IssueCreated{Title: w.Title, Body: w.Body, Labels: w.Labels}, nil
	case TagIssueUpdated:
		var w wireUpdated
		if err := decMode.Unmarshal(raw, &w); err != nil {
			return nil, bad(err)
		}
		return IssueUpdated{Title: w.Title, Body: w.Body}, nil
	case TagCommentAdded, TagLabelAdded, TagLabelRemoved, TagStateChanged, TagAssigneeAdded, TagAssigneeRemoved:
		var w wireOneText
		if err := decMode.Unmarshal(raw, &w); err != nil {
			return nil, bad(err)
		}
		switch tag {
		case TagCommentAdded:
			return CommentAdded{Body: w.Text}, nil
		case TagLabelAdded:
			return LabelAdded{Label: w.Text}, nil
		case TagLabelRemoved:
			return LabelRemoved{Label: w.Text}, nil
		case TagAssigneeAdded:
			return AssigneeAdded{User: w.Text}, nil
		case TagAssigneeRemoved:
			return AssigneeRemoved{User: w.Text}, nil
		default:
			st, err := ParseState(w.Text)
			if err != nil {
				return nil, bad(err)
			}
			return StateChanged{State: st}, nil
		}
	case TagLinkAdded:
		var w wireLink
		if err := decMode.Unmarshal(raw, &w); err != nil {
			return nil, bad(err)
		}
		return LinkAdded{URL: w.URL, Note: w.Note}, nil
	case TagAttachmentAdded:
		var w wireAttachment
		if err := decMode.Unmarshal(raw, &w); err != nil {
			return nil, bad(err)
		}
		k := AttachmentAdded{Name: w.Name, MIME: w.MIME}
		if err := copyExact(k.SHA256[:], w.SHA256, "sha256"); err != nil {
			return nil, err
		}
		return k, nil
	case TagDependencyAdded, TagDependencyRemoved:
		var w wireDep
		if err := decMode.Unmarshal(raw, &w); err != nil {
			return nil, bad(err)
		}
		var target IssueID
		if err := copyExact(target[:], w.Target, "target"); err != nil {
			return nil, err
		}
		dt, err := ParseDepType(w.Type)
		if err != nil {
			return nil, bad(err)
		}
		if tag == TagDependencyAdded {
			return DependencyAdded{Target: target, Type: dt}, nil
		}
		return DependencyRemoved{Target: target, Type: dt}, nil
	case TagContextUpdated:
		var w wireContext
		if err := decMode.Unmarshal(raw, &w); err != nil {
			return nil, bad(err)
		}
		k := ContextUpdated{Path: w.Path, Language: w.Language, Summary: w.Summary, Symbols: make([]Symbol, len(w.Symbols))}
		for i, s := range w.Symbols {
			k.Symbols[i] = Symbol{Name: s.Name, Kind: s.Kind, LineStart: s.LineStart, LineEnd: s.LineEnd}
		}
		if err := copyExact(k.ContentHash[:], w.ContentHash, "content_hash"); err != nil {
			return nil, err
		}
		return k, nil
	default: // TagProjectContextUpdated
		var w wireTwoText
		if err := decMode.Unmarshal(raw, &w); err != nil {
			return nil, bad(err)
		}
		return ProjectContextUpdated{Key: w.A, Value: w.B}, nil
	}
}
