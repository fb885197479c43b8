package board

import (
	"bytes"
	"html/template"

	"github.com/microcosm-cc/bluemonday"
	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
)

// markdown renders issue bodies and comments: goldmark with raw HTML off
// (its default: HTML in the source is dropped, and links with dangerous
// schemes are not written), then bluemonday's policy for user content as a
// second line, since the text comes from any agent with write access.
type markdown struct {
	renderer goldmark.Markdown
	policy   *bluemonday.Policy
}

func newMarkdown() *markdown {
	p := bluemonday.UGCPolicy()
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	return &markdown{
		renderer: goldmark.New(goldmark.WithExtensions(extension.GFM)),
		policy:   p,
	}
}

// render returns the sanitised HTML of src. A source goldmark cannot
// render is shown as escaped text.
func (m *markdown) render(src string) template.HTML {
	var buf bytes.Buffer
	if err := m.renderer.Convert([]byte(src), &buf); err != nil {
		return template.HTML(template.HTMLEscapeString(src))
	}
	return template.HTML(m.policy.SanitizeBytes(buf.Bytes()))
}
