package worker

import (
	"strings"

	"github.com/mailshift/mailshift/internal/msgid"
)

// Identity is what recognises a message on the target (msgid).
type Identity = msgid.Identity

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
