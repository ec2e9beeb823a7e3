package clicommon

import (
	"fmt"
	"strconv"
	"unicode"
)

// TerminalSafe returns s as it is when every character is printable, and Go-quoted otherwise, so that a
// name read from a file or a cluster (a folder name, an object's message) cannot send escape sequences to
// the terminal: retitle it, clear it, or hide text with a bidirectional override.
func TerminalSafe(s string) string {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

// HumanBytes writes a byte count as B, KiB, MiB or GiB.
func HumanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
