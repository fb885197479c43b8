package mcp

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

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

// A tools/call the client cancels gets no response (the MCP rule for
// notifications/cancelled), other calls go on being answered, and closing
// stdin afterwards ends the session at once: the cancelled call does not
// hold EOF back.
func TestCancelledCallGetsNoResponse(t *testing.T) {
	s, err := New(Options{Repo: testrepo.New(t)})
	if err != nil {
		t.Fatal(err)
	}
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	served := make(chan error, 1)
	go func() {
		served <- s.Serve(context.Background(), inR, outW)
		outW.Close()
	}()
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(outR)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	send := func(msg string) {
		t.Helper()
		if _, err := io.WriteString(inW, msg+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	// answer waits for the response to id, failing on any response to
	// the cancelled call "wait" on the way.
	answer := func(id string) {
		t.Helper()
		timeout := time.After(30 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("stdout closed before the answer to %s", id)
				}
				if strings.Contains(l, `"id":"wait"`) {
					t.Fatalf("the cancelled call was answered: %s", l)
				}
				if strings.Contains(l, `"id":`+id) {
					return
				}
			case <-timeout:
				t.Fatalf("no answer to %s", id)
			}
		}
	}
	send(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"cancel","version":"1"}}}`)
	answer("0")
	send(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)
	// Nothing is ready: this claim waits for work until cancelled.
	send(`{"jsonrpc":"2.0","id":"wait","method":"tools/call","params":{"name":"issue_claim","arguments":{"next":true,"wait_seconds":300}}}`)
	send(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`)
	answer("1")
	send(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"wait","reason":"the user stopped"}}`)
	send(`{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"issue_list","arguments":{}}}`)
	answer("2")
	inW.Close()
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not end after stdin closed: the cancelled call held EOF back")
	}
	for l := range lines {
		if strings.Contains(l, `"id":"wait"`) {
			t.Fatalf("the cancelled call was answered: %s", l)
		}
	}
}
