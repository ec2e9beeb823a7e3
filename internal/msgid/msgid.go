// Package msgid is what recognises one message on two servers, or twice on one: its normalised
// Message-ID (seen through the one Exchange rewrites), a content key for messages without one, and a key of
// what it says it is (Date, From, Subject as values). The migration engine and mail sync both match by it.
package msgid

import (
	"crypto/sha256"
	"encoding/hex"
	"mime"
	"net/mail"
	"strings"
	"time"
)

// Identity is what recognises a message on the target: its normalised Message-ID, and a content key derived
// from the header fields every copy keeps (Date, From, Subject) and its size, for messages without a
// Message-ID.
type Identity struct {
	MessageID string
	// ParentMessageID is X-MS-Exchange-Parent-Message-Id: the original Message-ID of a message Exchange
	// served with a Message-ID of its own. Either one matching is a match.
	ParentMessageID string
	Content         string
	// Headers is a key of what the message says it is (its Date as an instant, its From addresses, its
	// decoded Subject), not its size: two messages with one Message-ID and different Headers are different
	// messages (the migration reports such a collision).
	Headers string
}

// Keys are the keys under which a message is looked up, best first.
func (id Identity) Keys() []string {
	var k []string
	if id.MessageID != "" {
		k = append(k, "id:"+id.MessageID)
	}
	if id.ParentMessageID != "" && id.ParentMessageID != id.MessageID {
		k = append(k, "id:"+id.ParentMessageID)
	}
	if id.Content != "" {
		k = append(k, "content:"+id.Content)
	}
	return k
}

// DecidingKeys are the keys that decide whether a set holds the message (the migration's target set): its
// Message-IDs when it has one, else its content key.
func (id Identity) DecidingKeys() []string {
	var k []string
	if id.MessageID != "" {
		k = append(k, "id:"+id.MessageID)
	}
	if id.ParentMessageID != "" && id.ParentMessageID != id.MessageID {
		k = append(k, "id:"+id.ParentMessageID)
	}
	if len(k) == 0 && id.Content != "" {
		k = append(k, "content:"+id.Content)
	}
	return k
}

func (id Identity) String() string {
	if id.MessageID != "" {
		return id.MessageID
	}
	return "content:" + id.Content
}

// Normalize makes Message-IDs comparable: angle brackets, surrounding white space and folding
// removed, the domain part lower-cased (local parts are case-sensitive, RFC 5322 3.6.4).
func Normalize(s string) string {
	s = strings.Join(strings.Fields(s), "")
	s = strings.TrimPrefix(strings.TrimSuffix(s, ">"), "<")
	if s == "" {
		return ""
	}
	if at := strings.LastIndexByte(s, '@'); at >= 0 {
		s = s[:at] + "@" + strings.ToLower(s[at+1:])
	}
	return s
}

// contentKey is the fallback identity: a hash of the Date, From and Subject header values as sent, and the
// size. Two different messages with all four equal are, for a migration, the same message.
func contentKey(date, from, subject string, size int64) string {
	if date == "" && from == "" && subject == "" {
		return ""
	}
	h := sha256.New()
	for _, v := range []string{date, from, subject} {
		h.Write([]byte(strings.Join(strings.Fields(v), " ")))
		h.Write([]byte{0})
	}
	var b [8]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(size >> (8 * i))
	}
	h.Write(b[:])
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// FromHeader reads the identity of a message from its header block (the fields FETCHed from the target,
// or the head of a converted message). The Message-ID Exchange rewrote is seen through: Exchange keeps the
// original in X-MS-Exchange-Parent-Message-Id.
func FromHeader(header []byte, size int64) Identity {
	msg, err := mail.ReadMessage(strings.NewReader(string(header) + "\r\n\r\n"))
	if err != nil {
		return Identity{}
	}
	h := msg.Header
	id := Identity{MessageID: Normalize(h.Get("Message-Id")), ParentMessageID: Normalize(h.Get("X-Ms-Exchange-Parent-Message-Id"))}
	id.Content = contentKey(h.Get("Date"), h.Get("From"), h.Get("Subject"), size)
	id.Headers = headersKey(h)
	return id
}

// headersKey hashes a message's Date, From and Subject as values rather than as written, so that the same
// message served by two servers, or converted twice, gets the same key.
func headersKey(h mail.Header) string {
	date := strings.Join(strings.Fields(h.Get("Date")), " ")
	if t, err := mail.ParseDate(date); err == nil {
		date = t.UTC().Format(time.RFC3339)
	}
	from := strings.ToLower(strings.Join(strings.Fields(h.Get("From")), " "))
	if l, err := mail.ParseAddressList(h.Get("From")); err == nil {
		var addrs []string
		for _, a := range l {
			addrs = append(addrs, strings.ToLower(a.Address))
		}
		from = strings.Join(addrs, ",")
	}
	subject := h.Get("Subject")
	if d, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = d
	}
	subject = strings.Join(strings.Fields(subject), " ")
	if date == "" && from == "" && subject == "" {
		return ""
	}
	sum := sha256.Sum256([]byte(date + "\x00" + from + "\x00" + subject))
	return hex.EncodeToString(sum[:12])
}
