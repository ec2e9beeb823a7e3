package oxocal

import (
	"errors"
	"fmt"
)

// CorruptError reports a blob that is truncated or inconsistent: which structure, which field, and the
// byte offset of that field within the blob.
type CorruptError struct {
	Structure string // "RecurrencePattern", "ExceptionInfo", "TZDEFINITION", ...
	Field     string // the field that could not be read or holds an impossible value
	Offset    int    // byte offset of Field in the blob
	Reason    string // what is wrong with it
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("oxocal: corrupt %s: %s at offset %d: %s", e.Structure, e.Field, e.Offset, e.Reason)
}

// ErrUnsupportedPattern is matched (errors.Is) by every error for a recurrence that has no faithful
// RFC 5545 rule. The caller is expected to preserve the raw blob and warn.
var ErrUnsupportedPattern = errors.New("oxocal: unsupported recurrence pattern")

// UnsupportedPatternError says exactly what could not be mapped: the field and its value.
type UnsupportedPatternError struct {
	Field  string // "CalendarType", "PatternType", "Period", ...
	Value  uint32
	Reason string
}

func (e *UnsupportedPatternError) Error() string {
	return fmt.Sprintf("oxocal: unsupported recurrence pattern: %s %#x: %s", e.Field, e.Value, e.Reason)
}

// Is makes errors.Is(err, ErrUnsupportedPattern) hold.
func (e *UnsupportedPatternError) Is(target error) bool { return target == ErrUnsupportedPattern }

func unsupported(field string, value uint32, reason string) error {
	return &UnsupportedPatternError{Field: field, Value: value, Reason: reason}
}
