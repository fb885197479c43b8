package tools

import "testing"

func TestPluralAndArticle(t *testing.T) {
	for _, tc := range []struct {
		n          int
		noun, want string
	}{
		{1, "event", "1 event"},
		{0, "event", "0 events"},
		{2, "live claim", "2 live claims"},
		{1, "retry", "1 retry"},
		{3, "retry", "3 retries"},
		{2, "dependency cycle", "2 dependency cycles"},
	} {
		if got := Plural(tc.n, tc.noun); got != tc.want {
			t.Errorf("Plural(%d, %q) = %q, want %q", tc.n, tc.noun, got, tc.want)
		}
	}
	for noun, want := range map[string]string{"assignee": "an assignee", "label": "a label", "array": "an array", "number": "a number"} {
		if got := Article(noun); got != want {
			t.Errorf("Article(%q) = %q, want %q", noun, got, want)
		}
	}
}
