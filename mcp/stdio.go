package mcp

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"sync"
)

// answerBeforeEOF sits between stdin/stdout and mcp-go's stdio server. When
// mcp-go reads EOF it cancels every request still queued or running, so a
// client that writes its tool calls and then closes stdin (a script, or
// `grite-mcp < calls.jsonl`) would get "context canceled" failures, or no
// answer at all, for calls it had sent. This holds EOF back from mcp-go
// until every tools/call read has been answered on stdout (or ctx ends, or
// stdout fails). Only tools/call is tracked: it always gets a response,
// whereas other requests may legitimately stay open.
//
// It also keeps the MCP rule for cancelled requests: a tools/call the
// client cancelled (notifications/cancelled) gets no response, so the
// answer mcp-go produces for it (the handler's "context canceled") is
// dropped here, and the call counts as answered.
type answerBeforeEOF struct {
	out io.Writer

	mu      sync.Mutex
	pending map[string]int // request id → calls read and not yet answered
	// cancelled: pending calls the client cancelled, whose answer is dropped
	cancelled map[string]bool
	broken    bool          // stdout failed: nothing more will be answered
	changed   chan struct{} // closed and replaced whenever pending shrinks
}

func newAnswerBeforeEOF(out io.Writer) *answerBeforeEOF {
	return &answerBeforeEOF{out: out, pending: map[string]int{}, cancelled: map[string]bool{}, changed: make(chan struct{})}
}

// forward copies in to w line by line, noting each tools/call, and closes w
// with in's error once nothing is pending.
func (a *answerBeforeEOF) forward(ctx context.Context, in io.Reader, w *io.PipeWriter) {
	r := bufio.NewReader(in)
	for {
		line, err := r.ReadBytes('\n')
		if err == nil {
			a.noteRequest(line)
		}
		if len(line) > 0 {
			if _, werr := w.Write(line); werr != nil {
				return // the server stopped reading
			}
		}
		if err != nil {
			a.waitAnswered(ctx)
			w.CloseWithError(err)
			return
		}
	}
}

// Write passes one JSON-RPC message to stdout (mcp-go writes each message
// with a single Write) and notes the answer to a tracked call. Writes are
// serialised, so messages never interleave on stdout.
func (a *answerBeforeEOF) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
	}
	key, tracked := "", false
	if json.Unmarshal(p, &m) == nil && m.Method == "" {
		if k, ok := requestKey(m.ID); ok && a.pending[k] > 0 {
			key, tracked = k, true
		}
	}
	if tracked && a.cancelled[key] {
		delete(a.cancelled, key)
		a.answered(key)
		return len(p), nil // the client cancelled it: no response
	}
	n, err := a.out.Write(p)
	if err != nil {
		a.broken = true
		a.signal()
		return n, err
	}
	if tracked {
		a.answered(key)
	}
	return n, nil
}

// answered counts one answer to the call key; the caller holds a.mu.
func (a *answerBeforeEOF) answered(key string) {
	if a.pending[key]--; a.pending[key] == 0 {
		delete(a.pending, key)
	}
	a.signal()
}

func (a *answerBeforeEOF) noteRequest(line []byte) {
	var m struct {
		ID     json.RawMessage `json:"id"`
		Method string          `json:"method"`
		Params struct {
			RequestID json.RawMessage `json:"requestId"`
		} `json:"params"`
	}
	if json.Unmarshal(line, &m) != nil {
		return
	}
	switch m.Method {
	case "tools/call":
		if key, ok := requestKey(m.ID); ok {
			a.mu.Lock()
			a.pending[key]++
			a.mu.Unlock()
		}
	case "notifications/cancelled":
		// Only a call still unanswered: one answered already was sent.
		if key, ok := requestKey(m.Params.RequestID); ok {
			a.mu.Lock()
			if a.pending[key] > 0 {
				a.cancelled[key] = true
			}
			a.mu.Unlock()
		}
	}
}

func (a *answerBeforeEOF) waitAnswered(ctx context.Context) {
	for {
		a.mu.Lock()
		done, changed := len(a.pending) == 0 || a.broken, a.changed
		a.mu.Unlock()
		if done {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// signal wakes waitAnswered; the caller holds a.mu.
func (a *answerBeforeEOF) signal() {
	close(a.changed)
	a.changed = make(chan struct{})
}

// requestKey normalises a JSON-RPC id (a string or a number) so that a
// request and its response match whatever spelling each uses.
func requestKey(raw json.RawMessage) (string, bool) {
	var v any
	if len(raw) == 0 || json.Unmarshal(raw, &v) != nil {
		return "", false
	}
	switch id := v.(type) {
	case string:
		return "s" + id, true
	case float64:
		b, _ := json.Marshal(id)
		return "n" + string(b), true
	}
	return "", false
}
