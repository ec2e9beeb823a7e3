package worker

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
	// messages (see destination.collision).
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

// decidingKeys are the keys that decide whether a set holds the message (see identitySet.has): its
// Message-IDs when it has one, else its content key.
func (id Identity) decidingKeys() []string {
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

// normalizeMessageID makes Message-IDs comparable: angle brackets, surrounding white space and folding
// removed, the domain part lower-cased (local parts are case-sensitive, RFC 5322 3.6.4).
func normalizeMessageID(s string) string {
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

// headerIdentity reads the identity of a message from its header block (the fields FETCHed from the target,
// or the head of a converted message). The Message-ID Exchange rewrote is seen through: Exchange keeps the
// original in X-MS-Exchange-Parent-Message-Id.
func headerIdentity(header []byte, size int64) Identity {
	msg, err := mail.ReadMessage(strings.NewReader(string(header) + "\r\n\r\n"))
	if err != nil {
		return Identity{}
	}
	h := msg.Header
	id := Identity{MessageID: normalizeMessageID(h.Get("Message-Id")), ParentMessageID: normalizeMessageID(h.Get("X-Ms-Exchange-Parent-Message-Id"))}
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

// identitySet is the set of messages a target folder holds: by each identity key, the message's UID on the
// target and its flags (zero for messages this run appended and has not read back).
type identitySet map[string]targetMsg

type targetMsg struct {
	uid   uint32
	flags []string
	// headers is the message's Identity.Headers, when known.
	headers string
}

// has reports whether the set holds the message. A Message-ID decides when the message has one: the
// content key is only for messages without, so that two different messages that happen to share Date, From,
// Subject and size but carry different Message-IDs are both kept.
func (s identitySet) has(id Identity) bool {
	keys := id.Keys()
	hasID := false
	for _, k := range keys {
		if strings.HasPrefix(k, "id:") {
			hasID = true
			if _, ok := s[k]; ok {
				return true
			}
		}
	}
	if hasID || id.Content == "" {
		return false
	}
	_, ok := s["content:"+id.Content]
	return ok
}

func (s identitySet) add(id Identity, m targetMsg) {
	if m.headers == "" {
		m.headers = id.Headers
	}
	for _, k := range id.Keys() {
		s[k] = m
	}
}

// lookup returns the target message with this identity.
func (s identitySet) lookup(id Identity) (targetMsg, bool) {
	for _, k := range id.Keys() {
		if m, ok := s[k]; ok {
			return m, true
		}
	}
	return targetMsg{}, false
}

// collision returns the message of the set that holds id's Message-ID while saying it is another message
// (other Date, From or Subject): the set holds a message with that Message-ID, but not this one.
func (s identitySet) collision(id Identity) (targetMsg, bool) {
	if id.Headers == "" {
		return targetMsg{}, false
	}
	for _, k := range id.Keys() {
		if !strings.HasPrefix(k, "id:") {
			continue
		}
		if m, ok := s[k]; ok {
			return m, m.headers != "" && m.headers != id.Headers
		}
	}
	return targetMsg{}, false
}
