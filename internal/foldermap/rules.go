package foldermap

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Rules are the user's choices for one migration. The zero value migrates everything to its natural place
// and skips the outbox.
type Rules struct {
	// Include and Exclude are glob patterns over the "/"-joined source path (see the syntax in glob.go:
	// "Inbox/**", "Deleted Items", "*/Archiv*"). A pattern selects a folder and its subtree. Exclude wins;
	// an empty Include selects everything. They decide what is copied, not where it goes.
	Include, Exclude []string
	// Renames maps a source path, or the path of an ancestor ("Old/Sub"), to a target path, both in "/"
	// form; a '/' inside a name is written "\/". The longest matching source path wins. Target paths are
	// absolute in the personal namespace (Root does not apply) and a first component INBOX means the inbox.
	// A rename places a folder wherever it is told, including a groupware folder (whose type the caller
	// still takes from Source.Kind), and wins over special-folder and groupware routing.
	Renames map[string]string
	// Root is a target path ("Imported/2024") below which all ordinary folders go. Special folders keep
	// mapping onto the target's special folders unless RootSpecial is set; then they are copied below Root
	// as ordinary folders under their source names. Groupware folders always go to the mailbox's groupware
	// folders: events under Root would be invisible to calendar clients.
	Root        string
	RootSpecial bool
	// SkipGroupware skips groupware folders (and their subtrees) instead of routing them.
	SkipGroupware bool
	// MigrateOutbox copies the outbox (and its subfolders) into the target's Drafts folder: its messages
	// were written but never sent, and a draft is what a client shows and never sends by itself (the
	// caller stores each with \Draft; see Mapping.Outbox). Off (the zero value), the outbox is skipped and
	// its Mapping says so. mailshift's migrations turn it on unless told to skip the outbox.
	MigrateOutbox bool
}

// compiledRules are Rules checked and prepared for matching.
type compiledRules struct {
	include, exclude []pattern
	renames          []renameRule // longest source path first
	root             []string     // raw components of Root
	Rules
}

type renameRule struct {
	keyText, valueText string
	key                []string // folded components of the source path
	value              []string // raw components of the target path
}

func compileRules(r Rules) (compiledRules, error) {
	c := compiledRules{Rules: r}
	for _, text := range r.Include {
		p, err := compilePattern(text)
		if err != nil {
			return compiledRules{}, err
		}
		c.include = append(c.include, p)
	}
	for _, text := range r.Exclude {
		p, err := compilePattern(text)
		if err != nil {
			return compiledRules{}, err
		}
		c.exclude = append(c.exclude, p)
	}
	seen := make(map[string]string)
	for keyText, valueText := range r.Renames {
		key, err := literalPath(keyText)
		if err != nil {
			return compiledRules{}, fmt.Errorf("foldermap: rename source %q: %w", keyText, err)
		}
		value, err := literalPath(valueText)
		if err != nil {
			return compiledRules{}, fmt.Errorf("foldermap: rename target %q (for %q): %w", valueText, keyText, err)
		}
		for i := range key {
			key[i] = foldName(key[i])
		}
		folded := strings.Join(key, "\x00")
		if other, dup := seen[folded]; dup {
			a, b := sortedPair(other, keyText)
			return compiledRules{}, fmt.Errorf("foldermap: rename sources %q and %q name the same folder", a, b)
		}
		seen[folded] = keyText
		c.renames = append(c.renames, renameRule{keyText: keyText, valueText: valueText, key: key, value: value})
	}
	// Map iteration order is random: sort for the longest match and for deterministic error messages.
	sort.Slice(c.renames, func(i, j int) bool {
		a, b := c.renames[i], c.renames[j]
		if len(a.key) != len(b.key) {
			return len(a.key) > len(b.key)
		}
		return a.keyText < b.keyText
	})
	if r.Root != "" {
		root, err := literalPath(r.Root)
		if err != nil {
			return compiledRules{}, fmt.Errorf("foldermap: root %q: %w", r.Root, err)
		}
		c.root = root
	}
	return c, nil
}

func sortedPair(a, b string) (string, string) {
	if b < a {
		return b, a
	}
	return a, b
}

// literalPath splits a "/"-form path whose '\' escapes the next character ("A\/B" is one component).
func literalPath(s string) ([]string, error) {
	if s == "" {
		return nil, fmt.Errorf("empty path")
	}
	parts := splitPath(s)
	for i, part := range parts {
		var b strings.Builder
		for j := 0; j < len(part); j++ {
			if part[j] == '\\' && j+1 < len(part) {
				j++
			}
			b.WriteByte(part[j])
		}
		parts[i] = b.String()
		if parts[i] == "" {
			return nil, fmt.Errorf("empty component")
		}
	}
	return parts, nil
}

// foldName is the form in which rules compare folder names: case-folded and NFC-normalised.
func foldName(s string) string {
	return norm.NFC.String(cases.Fold().String(norm.NFC.String(s)))
}

// foldPath folds a source path for pattern matching.
func foldPath(path []string) [][]rune {
	out := make([][]rune, len(path))
	for i, c := range path {
		out[i] = []rune(foldName(c))
	}
	return out
}

// selection decides whether a folder is copied; reason explains a skip.
func (c compiledRules) selection(folded [][]rune) (selected bool, reason string) {
	for _, p := range c.exclude {
		if p.match(folded) {
			return false, fmt.Sprintf("excluded by pattern %q", p.text)
		}
	}
	if len(c.include) == 0 {
		return true, ""
	}
	for _, p := range c.include {
		if p.match(folded) {
			return true, ""
		}
	}
	return false, "not selected by any include pattern"
}

// rename returns the rename rule covering a source path, if any.
func (c compiledRules) rename(path []string) (renameRule, bool) {
	for _, r := range c.renames {
		if len(r.key) > len(path) {
			continue
		}
		match := true
		for i, k := range r.key {
			if foldName(path[i]) != k {
				match = false
				break
			}
		}
		if match {
			return r, true
		}
	}
	return renameRule{}, false
}
