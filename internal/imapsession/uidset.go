package imapsession

import "github.com/mailshift/mailshift/internal/imapconn"

// UIDRange and UIDSet are the connection layer's (imapconn), where imapbulk reads them too.
type (
	UIDRange = imapconn.UIDRange
	UIDSet   = imapconn.UIDSet
)

// ParseUIDSet reads "1,3:5,9" (imapconn.ParseUIDSet).
func ParseUIDSet(s string) (UIDSet, error) { return imapconn.ParseUIDSet(s) }

// validSetArg checks a UID set argument the caller gives (here "*" is allowed).
func validSetArg(s string) bool {
	if s == "" || len(s) > 1<<16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c == ':' || c == ',' || c == '*') {
			return false
		}
	}
	return true
}

func truncateText(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
