package pst

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode/utf16"

	"github.com/mailshift/mailshift/internal/pst/ltp"
	"github.com/mailshift/mailshift/internal/pst/ndb"
)

// NamedProp is a named property's identity from the NAMEID map ([MS-PST] 2.4.7): a property set GUID and
// either a numeric LID (ID) or a string Name.
type NamedProp struct {
	GUID     [16]byte // in the byte order of a Windows GUID, as stored
	ID       uint32   // the LID, when !IsString
	Name     string   // the name, when IsString
	IsString bool
}

func (np NamedProp) String() string {
	if np.IsString {
		return fmt.Sprintf("{%s}/%q", GUIDString(np.GUID), np.Name)
	}
	return fmt.Sprintf("{%s}/%#x", GUIDString(np.GUID), np.ID)
}

// Well-known property sets ([MS-OXPROPS] 1.3.2).
var (
	PSMAPI             = MustParseGUID("00020328-0000-0000-C000-000000000046")
	PSPublicStrings    = MustParseGUID("00020329-0000-0000-C000-000000000046")
	PSInternetHeaders  = MustParseGUID("00020386-0000-0000-C000-000000000046")
	PSETIDCommon       = MustParseGUID("00062008-0000-0000-C000-000000000046")
	PSETIDAddress      = MustParseGUID("00062004-0000-0000-C000-000000000046")
	PSETIDAppointment  = MustParseGUID("00062002-0000-0000-C000-000000000046")
	PSETIDMeeting      = MustParseGUID("6ED8DA90-450B-101B-98DA-00AA003F1305")
	PSETIDTask         = MustParseGUID("00062003-0000-0000-C000-000000000046")
	PSETIDLog          = MustParseGUID("0006200A-0000-0000-C000-000000000046")
	PSETIDNote         = MustParseGUID("0006200E-0000-0000-C000-000000000046")
	PSETIDPostRSS      = MustParseGUID("00062041-0000-0000-C000-000000000046")
	PSETIDSharing      = MustParseGUID("00062040-0000-0000-C000-000000000046")
	PSETIDUnifiedMsg   = MustParseGUID("4442858E-A9E3-4E80-B900-317A210CC15B")
	PSETIDCalendarAsst = MustParseGUID("11000E07-B51B-40D6-AF21-CAA85EDAB1D0")
)

// ParseGUID reads "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (braces optional) into the byte order a PST stores:
// the first three groups little-endian.
func ParseGUID(s string) ([16]byte, error) {
	var g [16]byte
	s = strings.Trim(s, "{}")
	h, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(h) != 16 || len(s) != 36 {
		return g, fmt.Errorf("bad GUID %q", s)
	}
	g[0], g[1], g[2], g[3] = h[3], h[2], h[1], h[0]
	g[4], g[5] = h[5], h[4]
	g[6], g[7] = h[7], h[6]
	copy(g[8:], h[8:])
	return g, nil
}

// MustParseGUID is ParseGUID for constants; it panics on a malformed GUID.
func MustParseGUID(s string) [16]byte {
	g, err := ParseGUID(s)
	if err != nil {
		panic(err)
	}
	return g
}

// GUIDString formats a stored GUID the usual way.
func GUIDString(g [16]byte) string {
	return fmt.Sprintf("%08X-%04X-%04X-%X-%X", binary.LittleEndian.Uint32(g[0:]), binary.LittleEndian.Uint16(g[4:]),
		binary.LittleEndian.Uint16(g[6:]), g[8:10], g[10:])
}

type nameKey struct {
	guid [16]byte
	id   uint32
	name string
	str  bool
}

type nameMap struct {
	byID  map[uint16]NamedProp
	byKey map[nameKey]uint16
}

// NamedProps returns the whole NAMEID map: property ID (0x8000 and up) to name.
func (f *File) NamedProps() (map[uint16]NamedProp, error) {
	nm, err := f.nameMap()
	if err != nil {
		return nil, err
	}
	out := make(map[uint16]NamedProp, len(nm.byID))
	for k, v := range nm.byID {
		out[k] = v
	}
	return out, nil
}

func (f *File) nameMap() (*nameMap, error) {
	f.namesOnce.Do(func() { f.names, f.namesErr = f.readNameMap() })
	return f.names, f.namesErr
}

func (nm *nameMap) lookup(guid [16]byte, nameOrID any) (uint16, bool) {
	k := nameKey{guid: guid}
	switch v := nameOrID.(type) {
	case string:
		k.name, k.str = v, true
	case int:
		k.id = uint32(v)
	case int32:
		k.id = uint32(v)
	case int64:
		k.id = uint32(v)
	case uint:
		k.id = uint32(v)
	case uint16:
		k.id = uint32(v)
	case uint32:
		k.id = v
	case uint64:
		k.id = uint32(v)
	default:
		return 0, false
	}
	id, ok := nm.byKey[k]
	return id, ok
}

// readNameMap decodes the NAMEID map at NID 0x61 ([MS-PST] 2.4.7): the GUID stream (0x0002), the entry
// stream (0x0003, 8-byte NAMEID records) and the string stream (0x0004, length-prefixed UTF-16LE).
func (f *File) readNameMap() (_ *nameMap, err error) {
	defer recoverPanic("named property map", ndb.NIDNameToIDMap, &err)
	nm := &nameMap{byID: map[uint16]NamedProp{}, byKey: map[nameKey]uint16{}}
	n, err := f.db.Node(ndb.NIDNameToIDMap)
	if err != nil {
		return nm, fmt.Errorf("named property map: %w", err)
	}
	pc, err := ltp.OpenPC(n)
	if err != nil {
		return nm, fmt.Errorf("named property map: %w", err)
	}
	stream := func(id uint16) []byte {
		if v, ok := pc.Get(id); ok {
			return bytesValue(v)
		}
		return nil
	}
	guids, entries, strs := stream(0x0002), stream(0x0003), stream(0x0004)
	for off := 0; off+8 <= len(entries); off += 8 {
		dw := binary.LittleEndian.Uint32(entries[off:])
		gw := binary.LittleEndian.Uint16(entries[off+4:])
		idx := binary.LittleEndian.Uint16(entries[off+6:])
		isString := gw&1 != 0
		wGuid := int(gw >> 1)
		var np NamedProp
		switch wGuid {
		case 0:
			// No GUID: not used by Outlook; leave it zero.
		case 1:
			np.GUID = PSMAPI
		case 2:
			np.GUID = PSPublicStrings
		default:
			g := (wGuid - 3) * 16
			if g+16 > len(guids) {
				continue // damaged entry: skip it, keep the others
			}
			copy(np.GUID[:], guids[g:g+16])
		}
		if isString {
			so := int(dw)
			if so < 0 || so+4 > len(strs) {
				continue
			}
			sl := int(binary.LittleEndian.Uint32(strs[so:]))
			if sl < 0 || so+4+sl > len(strs) {
				continue
			}
			np.Name, np.IsString = decodeUTF16(strs[so+4:so+4+sl]), true
		} else {
			np.ID = dw
		}
		pid := uint16(0x8000 + uint32(idx))
		if uint32(idx) >= 0x8000 {
			continue
		}
		nm.byID[pid] = np
		nm.byKey[nameKey{guid: np.GUID, id: np.ID, name: np.Name, str: np.IsString}] = pid
	}
	return nm, nil
}

func decodeUTF16(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}
