package rtf

import (
	"errors"
	"fmt"
)

// ErrNotCompressedRTF means the data does not start with an [MS-OXRTFCP] header: it is too short for one or
// its COMPTYPE is neither "LZFu" nor "MELA".
var ErrNotCompressedRTF = errors.New("rtf: not compressed RTF")

// ErrNotRTF means the document does not start with "{\rtf".
var ErrNotRTF = errors.New("rtf: not an RTF document")

// ErrNotEncapsulated means the RTF document declares neither \fromhtml1 nor \fromtext in its header: it is
// native RTF (written by Outlook's editor, for example) and has no HTML or plain text to recover. ToText
// renders such a document.
var ErrNotEncapsulated = errors.New("rtf: document does not encapsulate HTML or text")

// ErrTooDeep means the RTF groups nest deeper than MaxDepth.
var ErrTooDeep = errors.New("rtf: groups nested too deeply")

// Problem says what is wrong with a damaged compressed RTF stream.
type Problem string

const (
	// Truncated: the data ends before the header's COMPSIZE says it does, or in the middle of a token, or
	// before the end marker.
	Truncated Problem = "truncated"
	// BadCRC: the CRC in the header does not match the compressed bytes.
	BadCRC Problem = "CRC mismatch"
	// BadSize: COMPSIZE or RAWSIZE contradict the data.
	BadSize Problem = "size mismatch"
)

// CorruptError reports a compressed RTF stream that has a valid header but cannot be decompressed
// faithfully.
type CorruptError struct {
	// Offset is the byte offset in the input where the problem was found.
	Offset int
	// Problem is the kind of damage.
	Problem Problem
	// Detail says more, with the values involved.
	Detail string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("rtf: corrupt compressed RTF at byte %d: %s: %s", e.Offset, e.Problem, e.Detail)
}

func corrupt(offset int, p Problem, format string, args ...any) error {
	return &CorruptError{Offset: offset, Problem: p, Detail: fmt.Sprintf(format, args...)}
}
