package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"grite/tools"
)

// Arguments are checked before a tool touches the repository: a wrong
// type is named by argument and JSON kind (never a Go type), and a page
// limit outside the schema's 1..500 is refused, 0 included.
func TestArgumentErrorsSpeakJSON(t *testing.T) {
	defs := map[string]Definition{}
	for _, d := range Definitions() {
		defs[d.Tool.Name] = d
	}
	for _, tc := range []struct {
		tool, args string
		want       []string // in the message
		notWant    string
	}{
		{"issue_create", `{"title": 5}`, []string{"argument title must be a string, got a number"}, "Go struct"},
		{"issue_create", `{"title": ["x"]}`, []string{"argument title must be a string, got an array"}, "Go struct"},
		{"issue_claim", `{"next": "yes"}`, []string{"argument next must be true or false"}, "Go struct"},
		{"issue_list", `{"limit": 0}`, []string{"limit must be between 1 and 500, got 0"}, ""},
		{"issue_ready", `{"limit": 501}`, []string{"limit must be between 1 and 500"}, ""},
		{"issue_show", `{"id": "abcd", "comments_limit": -1}`, []string{"between 1 and 500"}, ""},
		{"issue_list", `{"limit": "ten"}`, []string{"argument limit must be an integer, got a string"}, "Go struct"},
	} {
		t.Run(tc.tool+" "+tc.args, func(t *testing.T) {
			_, _, err := defs[tc.tool].Call(context.Background(), nil, json.RawMessage(tc.args))
			var te *tools.Error
			if !errors.As(err, &te) || te.Code != tools.CodeInvalidArgs {
				t.Fatalf("error %v, want invalid_args", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(te.Message, w) {
					t.Errorf("message %q does not say %q", te.Message, w)
				}
			}
			if tc.notWant != "" && strings.Contains(te.Message, tc.notWant) {
				t.Errorf("message %q mentions %q", te.Message, tc.notWant)
			}
		})
	}
}

func TestRoughlyReadsLikeAPerson(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{45 * time.Second, "45s"},
		{40 * time.Second, "40s"},
		{29*time.Minute + 10*time.Second, "29m"},
		{90 * time.Minute, "1h30m"},
		{2 * time.Hour, "2h"},
		{76 * time.Hour, "3d4h"},
	} {
		if got := roughly(tc.d); got != tc.want {
			t.Errorf("roughly(%s) = %q, want %q", tc.d, got, tc.want)
		}
	}
}
