package foreign

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// githubIssue is one issue as `gh issue list --json number,title,body,
// state,labels,assignees,comments,createdAt,closedAt` prints it (and `gh
// issue view --json` with the same fields). url, author and updatedAt
// are read when present.
type githubIssue struct {
	Number    *int64          `json:"number"`
	Title     string          `json:"title"`
	Body      string          `json:"body"`
	State     string          `json:"state"`
	URL       string          `json:"url"`
	Author    *githubUser     `json:"author"`
	Labels    []githubLabel   `json:"labels"`
	Assignees []githubUser    `json:"assignees"`
	Comments  []githubComment `json:"comments"`
	CreatedAt string          `json:"createdAt"`
	UpdatedAt string          `json:"updatedAt"`
	ClosedAt  *string         `json:"closedAt"`
}

type githubUser struct {
	Login string `json:"login"`
	Name  string `json:"name"`
}

type githubLabel struct {
	Name string `json:"name"`
}

type githubComment struct {
	Author    *githubUser `json:"author"`
	Body      string      `json:"body"`
	CreatedAt string      `json:"createdAt"`
}

// ParseGitHub reads the JSON array `gh issue list --json ...` prints, or
// the one object of `gh issue view --json ...`. A record that is not an
// issue is reported with the line it starts on; JSON that is not well
// formed stops the reading there (nothing after it can be trusted to be
// cut into records correctly), keeping the records before it.
func ParseGitHub(data []byte) Parsed {
	var p Parsed
	dec := json.NewDecoder(bytes.NewReader(data))
	start := firstNonSpace(data, 0)
	if start < len(data) && data[start] == '{' {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			p.Errors = append(p.Errors, RecordError{Line: lineAt(data, start), Message: "not valid JSON: " + jsonErr(err)})
			return p
		}
		p.add(raw, lineAt(data, start))
		return p
	}
	tok, err := dec.Token()
	if d, ok := tok.(json.Delim); err != nil || !ok || d != '[' {
		p.Errors = append(p.Errors, RecordError{Line: lineAt(data, start), Message: "want the JSON array of 'gh issue list --json ...' or the object of 'gh issue view --json ...'"})
		return p
	}
	seen := map[string]int{}
	lines := lineCounter{data: data, line: 1}
	for dec.More() {
		at := firstNonSpace(data, int(dec.InputOffset()))
		if at < len(data) && data[at] == ',' {
			at = firstNonSpace(data, at+1)
		}
		line := lines.at(at)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			p.Errors = append(p.Errors, RecordError{Line: line, Message: "not valid JSON, the rest of the file is not read: " + jsonErr(err)})
			return p
		}
		n := len(p.Issues)
		p.add(raw, line)
		if len(p.Issues) > n {
			id := p.Issues[n].ID
			if first, dup := seen[id]; dup {
				p.Issues = p.Issues[:n]
				p.Errors = append(p.Errors, RecordError{Line: line, ID: id, Message: fmt.Sprintf("the same issue as line %d", first)})
			} else {
				seen[id] = line
			}
		}
	}
	return p
}

func (p *Parsed) add(raw json.RawMessage, line int) {
	var rec githubIssue
	if err := json.Unmarshal(raw, &rec); err != nil {
		p.Errors = append(p.Errors, RecordError{Line: line, Message: "not an issue: " + jsonErr(err)})
		return
	}
	iss, err := rec.issue()
	if err != nil {
		id := ""
		if rec.Number != nil {
			id = "#" + strconv.FormatInt(*rec.Number, 10)
		}
		p.Errors = append(p.Errors, RecordError{Line: line, ID: id, Message: err.Error()})
		return
	}
	iss.Line = line
	p.Issues = append(p.Issues, iss)
}

func (r githubIssue) issue() (Issue, error) {
	if r.Number == nil || *r.Number <= 0 {
		return Issue{}, fmt.Errorf("no issue number")
	}
	if strings.TrimSpace(r.Title) == "" {
		return Issue{}, fmt.Errorf("no title")
	}
	iss := Issue{Source: SourceGitHub, ID: GitHubID(*r.Number, r.URL), Title: r.Title, Body: r.Body, URL: r.URL}
	switch strings.ToUpper(r.State) {
	case "OPEN":
	case "CLOSED":
		iss.Closed = true
	default:
		return Issue{}, fmt.Errorf("state %q is neither OPEN nor CLOSED", r.State)
	}
	if r.Author != nil {
		iss.Author = r.Author.text()
	}
	var labels []string
	for _, l := range r.Labels {
		labels = append(labels, l.Name)
	}
	iss.Labels = sortedUnique(labels)
	var users []string
	for _, a := range r.Assignees {
		users = append(users, a.Login)
	}
	iss.Assignees = sortedUnique(users)
	var err error
	if iss.CreatedMS, err = parseTime("createdAt", r.CreatedAt); err != nil {
		return Issue{}, err
	}
	if iss.UpdatedMS, err = parseTime("updatedAt", r.UpdatedAt); err != nil {
		return Issue{}, err
	}
	if r.ClosedAt != nil {
		if iss.ClosedMS, err = parseTime("closedAt", *r.ClosedAt); err != nil {
			return Issue{}, err
		}
	}
	for i, c := range r.Comments {
		at, err := parseTime(fmt.Sprintf("comments[%d].createdAt", i), c.CreatedAt)
		if err != nil {
			return Issue{}, err
		}
		if strings.TrimSpace(c.Body) == "" {
			continue
		}
		cm := Comment{Body: c.Body, CreatedMS: at}
		if c.Author != nil {
			cm.Author = c.Author.text()
		}
		iss.Comments = append(iss.Comments, cm)
	}
	// gh's list has no update time unless asked: the latest thing it shows.
	if iss.UpdatedMS == 0 {
		iss.UpdatedMS = max(iss.CreatedMS, iss.ClosedMS)
		for _, c := range iss.Comments {
			iss.UpdatedMS = max(iss.UpdatedMS, c.CreatedMS)
		}
	}
	return iss, nil
}

func (u githubUser) text() string {
	if u.Name != "" && u.Login != "" {
		return u.Name + " (@" + u.Login + ")"
	}
	if u.Login != "" {
		return "@" + u.Login
	}
	return u.Name
}

// GitHubID is the ID grite records for a GitHub issue: owner/repo/number
// when its URL is known, so that issues of several repositories stay
// apart, and the bare number otherwise.
func GitHubID(number int64, url string) string {
	n := strconv.FormatInt(number, 10)
	if rest, ok := strings.CutPrefix(url, "https://github.com/"); ok {
		parts := strings.Split(rest, "/")
		if len(parts) == 4 && parts[2] == "issues" && parts[3] == n && parts[0] != "" && parts[1] != "" {
			return parts[0] + "/" + parts[1] + "/" + n
		}
	}
	return n
}

func firstNonSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// lineAt is the 1-based line of byte offset i.
func lineAt(b []byte, i int) int {
	return bytes.Count(b[:min(i, len(b))], []byte{'\n'}) + 1
}

// lineCounter finds the lines of increasing offsets, counting each byte
// once.
type lineCounter struct {
	data []byte
	off  int
	line int
}

func (c *lineCounter) at(i int) int {
	i = min(i, len(c.data))
	if i > c.off {
		c.line += bytes.Count(c.data[c.off:i], []byte{'\n'})
		c.off = i
	}
	return c.line
}
