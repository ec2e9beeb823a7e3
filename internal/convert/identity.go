package convert

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"
)

// identity names one item of one store for good: the store's record key and the item's NID, and for an
// embedded message the path of attachments that leads to it. Everything the conversion invents (Message-ID,
// UIDs, MIME boundaries) is derived from it, so converting the same item twice gives the same bytes and a
// re-run migration recognises what it already copied.
type identity struct {
	store   []byte
	nid     uint32
	created int64 // PR_CREATION_TIME: a NID is only unique within one store's life
	path    []int // attachment indexes from the top-level item down to an embedded message
}

func (id identity) embedded(index int) identity {
	p := append(append([]int(nil), id.path...), index)
	return identity{store: id.store, nid: id.nid, created: id.created, path: p}
}

func (id identity) sum(purpose string) [32]byte {
	h := sha256.New()
	h.Write([]byte(purpose))
	h.Write([]byte{0})
	h.Write(id.store)
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], id.nid)
	h.Write(b[:])
	var c [8]byte
	binary.BigEndian.PutUint64(c[:], uint64(id.created))
	h.Write(c[:])
	for _, i := range id.path {
		binary.BigEndian.PutUint32(b[:], uint32(i))
		h.Write(b[:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// messageID is the Message-ID given to an item that has none of its own.
func (id identity) messageID() string {
	s := id.sum("message-id")
	return fmt.Sprintf("<%s.%x@pst.mailshift.invalid>", hex.EncodeToString(s[:12]), id.nid)
}

// uid is a UUID-shaped groupware UID for an item that has none of its own (contacts, tasks, notes, …).
func (id identity) uid() string {
	s := id.sum("uid")
	s[6] = s[6]&0x0f | 0x50 // version 5 (name-based, SHA) layout
	s[8] = s[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", s[0:4], s[4:6], s[6:8], s[8:10], s[10:16])
}

// boundary is a MIME boundary for the multipart at position part of the item. "=_" cannot occur in base64
// or quoted-printable text, and the hash makes a clash with any other content vanishingly unlikely.
func (id identity) boundary(part string) string {
	s := id.sum("boundary/" + part)
	return "=_ms_" + hex.EncodeToString(s[:12])
}

func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}
