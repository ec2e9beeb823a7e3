package oxocal

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"time"
)

// globalObjectIDPrefix is the fixed Byte Array ID that starts every GlobalObjectId ([MS-OXOCAL]
// 2.2.1.27).
var globalObjectIDPrefix = []byte{0x04, 0x00, 0x00, 0x00, 0x82, 0x00, 0xE0, 0x00, 0x74, 0xC5, 0xB7, 0x10, 0x1A, 0x82, 0xE0, 0x08}

// vCalUIDMarker starts the Data of a GlobalObjectId made from an iCalendar UID that is not itself a
// GlobalObjectId in hex: "vCal-Uid", then the version 1 (2.2.1.27).
var vCalUIDMarker = []byte{0x76, 0x43, 0x61, 0x6C, 0x2D, 0x55, 0x69, 0x64, 0x01, 0x00, 0x00, 0x00}

// GlobalObjectID is a decoded PidLidGlobalObjectId / PidLidCleanGlobalObjectId ([MS-OXOCAL] 2.2.1.27,
// 2.2.1.28).
type GlobalObjectID struct {
	// Year, Month and Day are the original date of an exception's instance; zero in a series' or a clean
	// GlobalObjectId.
	Year         int
	Month, Day   int
	CreationTime time.Time // UTC; zero when not set
	Data         []byte
}

// ParseGlobalObjectID decodes a GlobalObjectId.
func ParseGlobalObjectID(b []byte) (*GlobalObjectID, error) {
	r := newReader(b, "GlobalObjectId")
	id := r.take("ByteArrayID", 16)
	if r.err == nil && !bytes.Equal(id, globalObjectIDPrefix) {
		r.fail("ByteArrayID", 0, "not the GlobalObjectId class identifier")
	}
	yh, yl := r.u8("YH"), r.u8("YL")
	month, day := r.u8("M"), r.u8("D")
	ft := r.take("CreationTime", 8)
	r.take("X", 8)
	data := r.take("Data", r.count32("Size", 1))
	if r.err != nil {
		return nil, r.err
	}
	g := &GlobalObjectID{Year: int(yh)<<8 | int(yl), Month: int(month), Day: int(day), Data: data}
	if v := binary.LittleEndian.Uint64(ft); v != 0 {
		// FILETIME: 100-ns intervals since 1601-01-01 UTC, 11644473600 s before the Unix epoch.
		g.CreationTime = time.Unix(int64(v/10_000_000)-11644473600, int64(v%10_000_000)*100).UTC()
	}
	return g, nil
}

// CleanGlobalObjectID returns a copy of b with the instance date (YH, YL, M, D) zeroed: the
// PidLidCleanGlobalObjectId of a series and of all its exceptions ([MS-OXOCAL] 2.2.1.28). Blobs too short
// to be a GlobalObjectId are returned copied unchanged.
func CleanGlobalObjectID(b []byte) []byte {
	out := append([]byte(nil), b...)
	if len(out) >= 20 && bytes.Equal(out[:16], globalObjectIDPrefix) {
		out[16], out[17], out[18], out[19] = 0, 0, 0, 0
	}
	return out
}

// UIDFromGlobalObjectID turns a GlobalObjectId into the iCalendar UID Exchange and Outlook use for it:
// the UID embedded after the "vCal-Uid" marker when the object came from iCalendar, else the uppercase
// hex of the clean GlobalObjectId, so that a series and its exceptions share one UID. An empty blob gives
// "".
func UIDFromGlobalObjectID(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if g, err := ParseGlobalObjectID(b); err == nil && bytes.HasPrefix(g.Data, vCalUIDMarker) {
		uid := g.Data[len(vCalUIDMarker):]
		if i := bytes.IndexByte(uid, 0); i >= 0 {
			uid = uid[:i]
		}
		if s := strings.TrimSpace(string(bytes.ToValidUTF8(uid, []byte("\uFFFD")))); s != "" {
			return s
		}
	}
	return strings.ToUpper(hex.EncodeToString(CleanGlobalObjectID(b)))
}
