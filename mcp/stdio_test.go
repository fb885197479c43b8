package mcp

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"grite/internal/testrepo"
)

// TestServeAnswersEveryCallSentBeforeStdinCloses feeds a whole session at
// once, as `grite-mcp < calls.jsonl` does: stdin is at EOF before the first
// call runs, yet every call is answered, none with a canceled context, and
// Serve returns cleanly.
func TestServeAnswersEveryCallSentBeforeStdinCloses(t *testing.T) {
	s, err := New(Options{Repo: testrepo.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	const calls = 12
	var in strings.Builder
	in.WriteString(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"batch","version":"1"}}}` + "\n")
	in.WriteString(`{"jsonrpc":"2.0","method":"notifications/initialized"}` + "\n")
	for i := 1; i <= calls; i++ {
		fmt.Fprintf(&in, `{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"issue_create","arguments":{"title":"batch %d"}}}`+"\n", i, i)
	}
	fmt.Fprintf(&in, `{"jsonrpc":"2.0","id":"last","method":"tools/call","params":{"name":"issue_list","arguments":{}}}`+"\n")
	var out bytes.Buffer
	if err := s.Serve(context.Background(), strings.NewReader(in.String()), &out); err != nil {
		t.Fatalf("Serve: %v", err)
	}
	answered := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Result struct {
				IsError           bool `json:"isError"`
				StructuredContent struct {
					Total int `json:"total"`
				} `json:"structuredContent"`
			} `json:"result"`
		}
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("stdout line %q: %v", line, err)
		}
		if m.Result.IsError {
			t.Fatalf("call failed: %s", line)
		}
		answered[string(m.ID)] = true
	}
	for i := 0; i <= calls; i++ {
		if !answered[fmt.Sprint(i)] {
			t.Errorf("request %d not answered\n%s", i, out.String())
		}
	}
	if !answered[`"last"`] {
		t.Errorf("last request not answered\n%s", out.String())
	}
}

func TestRequestKeyMatchesIDSpellings(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		same bool
	}{
		{`1`, `1`, true},
		{`1`, `1.0`, true},
		{`"1"`, `1`, false},
		{`"x"`, `"x"`, true},
	} {
		ka, oka := requestKey(json.RawMessage(tc.a))
		kb, okb := requestKey(json.RawMessage(tc.b))
		if !oka || !okb || (ka == kb) != tc.same {
			t.Errorf("requestKey(%s)=%q, requestKey(%s)=%q, same=%v", tc.a, ka, tc.b, kb, tc.same)
		}
	}
	for _, bad := range []string{``, `null`, `{}`, `[1]`} {
		if _, ok := requestKey(json.RawMessage(bad)); ok {
			t.Errorf("requestKey(%s) accepted", bad)
		}
	}
}
