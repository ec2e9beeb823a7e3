package foldermap

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Glob patterns select source folders by their "/"-joined path. Matching is per component, so '*' and '?'
// also match a '/' that is part of a folder's name, and it ignores case and normalisation form, as Outlook
// and Exchange do for folder names.
//
//	*      any run of characters within one component
//	?      one character
//	[abc]  one character of the class; [a-z] ranges, [!abc] or [^abc] negation
//	\x     the character x literally
//	**     as a whole component: any number of components, including none
//
// A pattern selects the folders it matches and everything below them: "Deleted Items" selects the folder
// and its subfolders, "*/Archiv*" every second-level folder whose name starts with "Archiv" and their
// subtrees.

type pattern struct {
	text     string
	segments []segment
}

// segment is one "/"-separated part of a pattern: "**", or a component pattern.
type segment struct {
	anyDepth bool
	tokens   []token
}

type tokenKind int

const (
	tokLiteral tokenKind = iota
	tokAnyChar
	tokStar
	tokClass
)

type token struct {
	kind   tokenKind
	r      rune
	ranges [][2]rune
	negate bool
}

func compilePattern(text string) (pattern, error) {
	if text == "" {
		return pattern{}, fmt.Errorf("foldermap: empty pattern")
	}
	p := pattern{text: text}
	for _, part := range splitPath(foldName(text)) {
		if part == "" {
			return pattern{}, fmt.Errorf("foldermap: pattern %q has an empty component", text)
		}
		if part == "**" {
			// Consecutive "**" mean no more than one; collapsing them keeps matching polynomial.
			if n := len(p.segments); n == 0 || !p.segments[n-1].anyDepth {
				p.segments = append(p.segments, segment{anyDepth: true})
			}
			continue
		}
		tokens, err := compileComponent(part)
		if err != nil {
			return pattern{}, fmt.Errorf("foldermap: pattern %q: %w", text, err)
		}
		p.segments = append(p.segments, segment{tokens: tokens})
	}
	// Selecting a folder selects its subtree.
	if !p.segments[len(p.segments)-1].anyDepth {
		p.segments = append(p.segments, segment{anyDepth: true})
	}
	return p, nil
}

// splitPath splits a "/"-joined path. A '/' escaped with '\' does not split, so that a pattern or rule can
// name a folder whose name contains '/'.
func splitPath(s string) []string {
	var parts []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s):
			b.WriteByte(s[i])
			b.WriteByte(s[i+1])
			i++
		case s[i] == '/':
			parts = append(parts, b.String())
			b.Reset()
		default:
			b.WriteByte(s[i])
		}
	}
	return append(parts, b.String())
}

func compileComponent(s string) ([]token, error) {
	var tokens []token
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch r {
		case '*':
			tokens = append(tokens, token{kind: tokStar})
		case '?':
			tokens = append(tokens, token{kind: tokAnyChar})
		case '\\':
			if i >= len(s) {
				return nil, fmt.Errorf("trailing backslash")
			}
			lit, size := utf8.DecodeRuneInString(s[i:])
			i += size
			tokens = append(tokens, token{kind: tokLiteral, r: lit})
		case '[':
			class, n, err := compileClass(s[i:])
			if err != nil {
				return nil, err
			}
			i += n
			tokens = append(tokens, class)
		default:
			tokens = append(tokens, token{kind: tokLiteral, r: r})
		}
	}
	return tokens, nil
}

// compileClass parses a character class after its '['; it returns the bytes consumed including ']'.
func compileClass(s string) (token, int, error) {
	t := token{kind: tokClass}
	i := 0
	if i < len(s) && (s[i] == '!' || s[i] == '^') {
		t.negate = true
		i++
	}
	classChar := func() (rune, error) {
		if i >= len(s) {
			return 0, fmt.Errorf("unterminated character class")
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		if r == '\\' {
			if i >= len(s) {
				return 0, fmt.Errorf("unterminated character class")
			}
			r, size = utf8.DecodeRuneInString(s[i:])
			i += size
		}
		return r, nil
	}
	for {
		if i >= len(s) {
			return token{}, 0, fmt.Errorf("unterminated character class")
		}
		if s[i] == ']' {
			if len(t.ranges) == 0 {
				return token{}, 0, fmt.Errorf("empty character class")
			}
			return t, i + 1, nil
		}
		lo, err := classChar()
		if err != nil {
			return token{}, 0, err
		}
		hi := lo
		if i+1 < len(s) && s[i] == '-' && s[i+1] != ']' {
			i++
			if hi, err = classChar(); err != nil {
				return token{}, 0, err
			}
			if hi < lo {
				return token{}, 0, fmt.Errorf("bad range %c-%c in character class", lo, hi)
			}
		}
		t.ranges = append(t.ranges, [2]rune{lo, hi})
	}
}

func (t token) matches(r rune) bool {
	switch t.kind {
	case tokLiteral:
		return t.r == r
	case tokAnyChar:
		return true
	case tokClass:
		in := false
		for _, rg := range t.ranges {
			if rg[0] <= r && r <= rg[1] {
				in = true
				break
			}
		}
		return in != t.negate
	}
	return false
}

// matchComponent matches one component with the classic star-backtracking algorithm: linear in practice
// and never exponential, whatever the number of stars.
func matchComponent(tokens []token, name []rune) bool {
	pi, ni := 0, 0
	starAt, starName := -1, 0
	for ni < len(name) {
		switch {
		case pi < len(tokens) && tokens[pi].kind == tokStar:
			starAt, starName = pi, ni
			pi++
		case pi < len(tokens) && tokens[pi].matches(name[ni]):
			pi++
			ni++
		case starAt >= 0:
			starName++
			pi, ni = starAt+1, starName
		default:
			return false
		}
	}
	for pi < len(tokens) && tokens[pi].kind == tokStar {
		pi++
	}
	return pi == len(tokens)
}

// match reports whether the pattern selects a folder with the given folded path components.
func (p pattern) match(path [][]rune) bool { return matchSegments(p.segments, path) }

func matchSegments(segs []segment, path [][]rune) bool {
	if len(segs) == 0 {
		return len(path) == 0
	}
	if segs[0].anyDepth {
		for skip := 0; skip <= len(path); skip++ {
			if matchSegments(segs[1:], path[skip:]) {
				return true
			}
		}
		return false
	}
	return len(path) > 0 && matchComponent(segs[0].tokens, path[0]) && matchSegments(segs[1:], path[1:])
}
