package convert

import (
	"time"

	"github.com/mailshift/mailshift/internal/pst"
)

// PR_MESSAGE_FLAGS bits ([MS-OXCMSG] 2.2.1.6).
const (
	msgflagRead   = 0x0001
	msgflagUnsent = 0x0008
)

// PR_LAST_VERB_EXECUTED values ([MS-OXOMSG] 2.2.1.34).
const (
	verbReplyToSender = 102
	verbReplyToAll    = 103
	verbForward       = 104
)

// PR_FLAG_STATUS value for a follow-up flag that is set ([MS-OXOFLAG] 2.2.1.1).
const flagStatusFlagged = 2

// flags maps Outlook's read, replied, forwarded, follow-up and unsent states to IMAP flags.
func flags(m *pst.Message, res *Result) []string {
	p := props{m}
	var out []string
	mf, _ := p.int(tagMessageFlags)
	if mf&msgflagRead != 0 {
		out = append(out, `\Seen`)
	}
	switch verb, _ := p.int(tagLastVerbExecuted); verb {
	case verbReplyToSender, verbReplyToAll:
		out = append(out, `\Answered`)
	case verbForward:
		out = append(out, "$Forwarded")
	}
	if fs, _ := p.int(tagFlagStatus); fs == flagStatusFlagged {
		out = append(out, `\Flagged`)
	}
	if mf&msgflagUnsent != 0 {
		out = append(out, `\Draft`)
	}
	return out
}

// internalDate is when the item arrived: the delivery time, else when it was sent, created or last changed.
func internalDate(m *pst.Message) time.Time {
	p := props{m}
	for _, id := range []uint16{tagDeliveryTime, tagClientSubmitTime, tagCreationTime, tagLastModificationTime} {
		if t := p.time(id); !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// categories are the item's Outlook categories (PS_PUBLIC_STRINGS "Keywords", [MS-OXCMSG] 2.2.1.17).
func categories(m *pst.Message) []string {
	return props{m}.namedStrings(pst.PSPublicStrings, "Keywords")
}
