package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"testing"

	"grite/tools"
)

// referenceJSON is what writePrettyJSON must match byte for byte.
func referenceJSON(t *testing.T, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

type textID [2]byte

func (i textID) MarshalText() ([]byte, error) { return []byte(fmt.Sprintf("id-%x", i[:])), nil }

type ptrMarshaler struct{ N int }

func (p *ptrMarshaler) MarshalJSON() ([]byte, error) { return []byte(fmt.Sprintf(`"p%d"`, p.N)), nil }

type oddTags struct {
	A int    `json:"a,string"`
	B string `json:"-"`
	C string `json:"c-d"`
	//lint:ignore U1000 an unexported field, which the encoder must skip
	inner int
}

type nested struct {
	Name   string          `json:"name"`
	IDs    []textID        `json:"ids"`
	Ptrs   []ptrMarshaler  `json:"ptrs"`
	Empty  []string        `json:"empty"`
	Nil    []string        `json:"nil"`
	Omit   []string        `json:"omit,omitempty"`
	Bytes  []byte          `json:"bytes"`
	Map    map[string]any  `json:"map"`
	Odd    oddTags         `json:"odd"`
	Any    any             `json:"any"`
	Deep   [][]int         `json:"deep"`
	Ptr    *nested         `json:"ptr,omitempty"`
	Raw    json.RawMessage `json:"raw,omitempty"`
	Untag  int
	Detail tools.IssueDetail `json:"detail"`
}

// writePrettyJSON writes what encoding/json's indenting Encoder writes,
// for the envelopes grite prints and for values that exercise every case
// it streams or hands back to encoding/json.
func TestWritePrettyJSONMatchesEncodingJSON(t *testing.T) {
	issue := tools.IssueSummary{IssueID: "0123abcd", Title: `a <b> & "c" é`, State: "open", Labels: []string{"x", "y"}, Assignees: []string{}, CreatedTS: 1, UpdatedTS: 2, CommentCount: 3}
	many := make([]tools.IssueSummary, 100)
	for i := range many {
		many[i] = issue
		many[i].Title = fmt.Sprintf("issue %d\t\u2028", i)
		if i%3 == 0 {
			many[i].Labels = nil
		}
	}
	full := nested{
		Name: "n", IDs: []textID{{1, 2}, {3, 4}}, Ptrs: []ptrMarshaler{{1}, {2}}, Empty: []string{},
		Bytes: []byte("hi"), Map: map[string]any{"b": 1, "a": []int{}}, Odd: oddTags{A: 5, B: "x", C: "y"},
		Any: []any{1, "two", nil, map[string]int{}}, Deep: [][]int{{1, 2}, {}, nil},
		Ptr: &nested{Name: "inner"}, Raw: json.RawMessage(`{"k": [1, 2]}`), Untag: 7,
		Detail: tools.IssueDetail{IssueSummary: issue, Body: "body"},
	}
	cases := []struct {
		name string
		v    any
	}{
		{"list, many", envelope{SchemaVersion: 1, OK: true, Data: tools.IssueListOutput{Issues: many, Total: 100}}},
		{"list, empty", envelope{SchemaVersion: 1, OK: true, Data: tools.IssueListOutput{Issues: []tools.IssueSummary{}}}},
		{"list, pointer", envelope{SchemaVersion: 1, OK: true, Data: &tools.IssueListOutput{Issues: many[:2], Total: 2}}},
		{"show", envelope{SchemaVersion: 1, OK: true, Data: tools.IssueShowOutput{Issue: tools.IssueDetail{IssueSummary: issue}, Events: []tools.EventJSON{{EventID: "e", Kind: map[string]any{"x": 1}}}}}},
		{"error", envelope{SchemaVersion: 1, Error: &tools.Error{Code: tools.CodeNotFound, Message: "m", Details: map[string]any{"suggestions": []string{"s"}}}}},
		{"map data", envelope{SchemaVersion: 1, OK: true, Data: map[string]string{"version": "1"}}},
		{"nil data", envelope{SchemaVersion: 1, OK: true}},
		{"nested", envelope{SchemaVersion: 1, OK: true, Data: full}},
		{"slice of nested", envelope{SchemaVersion: 1, OK: true, Data: []nested{full, {}}}},
		{"bare values", []any{nil, 1.5, "s", true, []int{}, struct{}{}}},
		{"nil", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got bytes.Buffer
			if err := writePrettyJSON(&got, tc.v); err != nil {
				t.Fatal(err)
			}
			if want := referenceJSON(t, tc.v); !bytes.Equal(got.Bytes(), want) {
				t.Fatalf("got:\n%s\nwant:\n%s", got.Bytes(), want)
			}
		})
	}
}

// Random listings (titles with any runes, labels present or not) match too.
func TestWritePrettyJSONMatchesOnRandomListings(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	word := func() string {
		b := make([]rune, r.IntN(8))
		for i := range b {
			b[i] = rune(r.IntN(0x3000))
		}
		return string(b)
	}
	for round := range 50 {
		issues := make([]tools.IssueSummary, r.IntN(5))
		for i := range issues {
			issues[i] = tools.IssueSummary{IssueID: word(), Title: word(), State: word(), CreatedTS: r.Uint64(), CommentCount: r.IntN(3)}
			for range r.IntN(3) {
				issues[i].Labels = append(issues[i].Labels, word())
			}
		}
		v := envelope{SchemaVersion: 1, OK: true, Data: tools.IssueReadyOutput{Issues: issues}}
		var got bytes.Buffer
		if err := writePrettyJSON(&got, v); err != nil {
			t.Fatal(err)
		}
		if want := referenceJSON(t, v); !bytes.Equal(got.Bytes(), want) {
			t.Fatalf("round %d: got:\n%s\nwant:\n%s", round, got.Bytes(), want)
		}
	}
}
