package main

// Glob rules for assetPaths/archivePaths, as documented by @pulumi/command:
//   - only files are returned, never directories; paths use `/` and are relative to the command's dir;
//   - `*` matches anything except `/`, `**` matches anything including `/`, `?` one character but `/`;
//   - a rule starting with `!` excludes; rules apply in order, so the last matching rule decides.
// Other glob syntax (character classes, {a,b}) is matched literally; see engine/README.md.

import (
	"fmt"
	"io/fs"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

type globRule struct {
	exclude bool
	re      *regexp.Regexp
}

func compileGlob(pattern string) (globRule, error) {
	rule := globRule{}
	if strings.HasPrefix(pattern, "!") {
		rule.exclude = true
		pattern = pattern[1:]
	}
	pattern = strings.TrimPrefix(pattern, "./")
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '*' && i+1 < len(pattern) && pattern[i+1] == '*':
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	re, err := regexp.Compile(b.String())
	if err != nil {
		return rule, fmt.Errorf("bad pattern %q: %w", pattern, err)
	}
	rule.re = re
	return rule, nil
}

// matchFiles returns the files under base (relative, `/`-separated, sorted) selected by the rules.
func matchFiles(base string, patterns []string) ([]string, error) {
	rules := make([]globRule, 0, len(patterns))
	for _, p := range patterns {
		r, err := compileGlob(p)
		if err != nil {
			return nil, err
		}
		rules = append(rules, r)
	}
	var files []string
	err := filepath.WalkDir(base, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(base, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		selected := false
		for _, r := range rules {
			if r.re.MatchString(rel) {
				selected = !r.exclude
			}
		}
		if selected {
			files = append(files, rel)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}
