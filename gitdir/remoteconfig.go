package gitdir

import (
	"os"
	"path/filepath"
	"strings"
)

// PlainRemoteURLs returns the URLs that git's config gives the remote
// called name (a remote given as a path or URL has none), for deciding
// whether a fetch from it may be done by reading the remote's files
// instead of running git. It is a cautious reader, not git's: ok is false
// whenever git might fetch otherwise than from those URLs (or that path)
// as written, or the configuration holds anything it does not follow.
// That is a url.*.insteadOf rule matching the URL, an upload-pack program
// of the remote's, an include, a continued or malformed line, in the
// system's, the user's or the repository's config; or configuration
// passed through the environment. The caller then runs git, which is
// always right; this only saves starting it (and linking a full config
// parser, whose initialisation every command would pay).
func PlainRemoteURLs(commonDir, name string) (urls []string, ok bool) {
	if os.Getenv("GIT_CONFIG_PARAMETERS") != "" || (os.Getenv("GIT_CONFIG_COUNT") != "" && os.Getenv("GIT_CONFIG_COUNT") != "0") {
		return nil, false
	}
	var c remoteConfig
	for _, path := range append(outerConfigs(), filepath.Join(commonDir, "config")) {
		b, err := os.ReadFile(path)
		if err != nil {
			if os.IsNotExist(err) && path != filepath.Join(commonDir, "config") {
				continue
			}
			return nil, false
		}
		if !c.scan(b, name) {
			return nil, false
		}
	}
	if c.uploadPack {
		return nil, false
	}
	targets := c.urls
	if strings.ContainsAny(name, "/\\:") {
		targets = []string{name}
	}
	for _, t := range targets {
		for _, prefix := range c.insteadOf {
			if strings.HasPrefix(t, prefix) {
				return nil, false
			}
		}
	}
	return c.urls, true
}

// remoteConfig is what PlainRemoteURLs gathers from the config files.
type remoteConfig struct {
	urls       []string // remote.<name>.url
	insteadOf  []string // every url.<base>.insteadOf value
	uploadPack bool     // remote.<name>.uploadpack is set
}

// scan adds what one config file says; false when it holds anything the
// reader does not follow (includes among them).
func (c *remoteConfig) scan(b []byte, name string) bool {
	entries, ok := scanConfig(b)
	if !ok {
		return false
	}
	for _, e := range entries {
		// section.[sub.]key: the subsection is what lies between the
		// first dot and the last (a remote's name may hold dots).
		section, rest, _ := strings.Cut(e[0], ".")
		sub, key := "", rest
		if i := strings.LastIndexByte(rest, '.'); i >= 0 {
			sub, key = rest[:i], rest[i+1:]
		}
		switch {
		case section == "include" || section == "includeif":
			return false
		case section == "url" && key == "insteadof":
			c.insteadOf = append(c.insteadOf, e[1])
		case section == "remote" && sub == name && key == "uploadpack":
			c.uploadPack = true
		case section == "remote" && sub == name && key == "url":
			c.urls = append(c.urls, e[1])
		}
	}
	return true
}

// outerConfigs are the config files git reads besides the repository's,
// as the environment selects them.
func outerConfigs() []string {
	var paths []string
	if os.Getenv("GIT_CONFIG_NOSYSTEM") == "" {
		if p := os.Getenv("GIT_CONFIG_SYSTEM"); p != "" {
			paths = append(paths, p)
		} else {
			paths = append(paths, "/etc/gitconfig")
		}
	}
	if p, set := os.LookupEnv("GIT_CONFIG_GLOBAL"); set {
		return append(paths, p)
	}
	home := os.Getenv("HOME")
	xdg := os.Getenv("XDG_CONFIG_HOME")
	if xdg == "" && home != "" {
		xdg = filepath.Join(home, ".config")
	}
	if xdg != "" {
		paths = append(paths, filepath.Join(xdg, "git", "config"))
	}
	if home != "" {
		paths = append(paths, filepath.Join(home, ".gitconfig"))
	}
	return paths
}

// parseSectionHeader reads `[section]`, `[section "sub"]` or the old
// `[section.sub]`; section names are case-insensitive, subsections not
// (except in the old form, which git lowercases).
func parseSectionHeader(line string) (section, sub string, ok bool) {
	end := strings.LastIndexByte(line, ']')
	if end < 0 || strings.TrimSpace(line[end+1:]) != "" && !isComment(line[end+1:]) {
		return "", "", false
	}
	inner := line[1:end]
	name, rest, quoted := strings.Cut(inner, " ")
	if !quoted {
		name, rest, _ = strings.Cut(inner, ".")
		return strings.ToLower(name), strings.ToLower(rest), name != ""
	}
	rest = strings.TrimSpace(rest)
	if len(rest) < 2 || rest[0] != '"' || rest[len(rest)-1] != '"' {
		return "", "", false
	}
	var b strings.Builder
	for i := 1; i < len(rest)-1; i++ {
		c := rest[i]
		if c == '\\' && i+1 < len(rest)-1 {
			i++
			c = rest[i]
		} else if c == '"' {
			return "", "", false
		}
		b.WriteByte(c)
	}
	return strings.ToLower(name), b.String(), name != ""
}

func isComment(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && (s[0] == '#' || s[0] == ';')
}

// parseConfigLine reads `key = value` (or a bare `key`, true): the key
// lowercased, the value with quotes removed, escapes resolved and a
// trailing comment dropped. A line continued with a backslash is not
// followed (ok false).
func parseConfigLine(line string) (key, value string, ok bool) {
	k, v, hasValue := strings.Cut(line, "=")
	key = strings.ToLower(strings.TrimSpace(k))
	if key == "" || strings.ContainsAny(key, " \t\"") {
		return "", "", false
	}
	if !hasValue {
		return key, "true", true
	}
	v = strings.TrimSpace(v)
	var b strings.Builder
	inQuote := false
	pending := 0 // spaces seen outside quotes, kept only if more follows
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			inQuote = !inQuote
			continue
		case c == '\\':
			if i+1 == len(v) {
				return "", "", false
			}
			i++
			switch v[i] {
			case 'n':
				c = '\n'
			case 't':
				c = '\t'
			case 'b':
				c = '\b'
			case '"', '\\':
				c = v[i]
			default:
				return "", "", false
			}
		case !inQuote && (c == '#' || c == ';'):
			i = len(v)
			continue
		case !inQuote && (c == ' ' || c == '\t'):
			pending++
			continue
		}
		for ; pending > 0; pending-- {
			b.WriteByte(' ')
		}
		b.WriteByte(c)
	}
	if inQuote {
		return "", "", false
	}
	return key, b.String(), true
}
