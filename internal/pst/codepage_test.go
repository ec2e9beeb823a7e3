package pst

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/text/encoding"

	"github.com/mailshift/mailshift/internal/codepage"
	"github.com/mailshift/mailshift/internal/pst/ndb"
)

// renameInANSIPST rewrites, in an ANSI file with permute encryption, every stored occurrence of each old
// name to the bytes of the new one (the same length), and fixes the CRC of each block it touched: the file
// an Outlook of another locale would have written with those folder names.
func renameInANSIPST(t *testing.T, data []byte, names map[string][]byte) []byte {
	t.Helper()
	crc := func(p []byte) uint32 { return ^crc32.Update(0xFFFFFFFF, crc32.IEEETable, p) }
	out := bytes.Clone(data)
	for old, repl := range names {
		if len(old) != len(repl) {
			t.Fatalf("%q and %q differ in length", old, repl)
		}
		from, to := []byte(old), bytes.Clone(repl)
		ndb.Encrypt(ndb.CryptPermute, 0, from)
		ndb.Encrypt(ndb.CryptPermute, 0, to)
		n := 0
		for off := 0; ; {
			i := bytes.Index(data[off:], from)
			if i < 0 {
				break
			}
			pos := off + i
			off = pos + len(from)
			// The block holding pos: its 12-byte trailer (cb, wSig, bid, dwCRC) ends a 64-byte unit; it is the
			// first one after pos whose size covers pos and whose CRC matches the stored bytes.
			fixed := false
			for tr := (pos/64)*64 + 52; tr+12 <= len(data) && tr < pos+8192; tr += 64 {
				cb := int(binary.LittleEndian.Uint16(data[tr:]))
				start := tr + 12 - (cb+12+63)/64*64
				if cb == 0 || start < 0 || pos < start || pos+len(from) > start+cb {
					continue
				}
				if binary.LittleEndian.Uint32(data[tr+8:]) != crc(data[start:start+cb]) {
					continue
				}
				copy(out[pos:], to)
				binary.LittleEndian.PutUint32(out[tr+8:], crc(out[start:start+cb]))
				fixed = true
				break
			}
			if fixed {
				n++
			}
		}
		if n == 0 {
			t.Fatalf("%q not found in a data block", old)
		}
	}
	return out
}

func encodeIn(t *testing.T, cp int, s string) []byte {
	t.Helper()
	b, err := encoding.ReplaceUnsupported(codepage.Encoding(cp).NewEncoder()).Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCodePageFromBytes: ANSI files whose folder names were written in another code page, with no code page
// recorded anywhere (or only items' properties saying 1252), are read in the code page their names' bytes
// fit: Cyrillic (1251), Chinese (936), Korean (949).
func TestCodePageFromBytes(t *testing.T) {
	dir := fixtureDir(t)
	for _, c := range []struct {
		fixture string
		cp      int
		names   map[string]string // English name → the same name in the locale, same length in bytes
		source  string
	}{
		// No code page property anywhere in this file.
		{"pst2john-97_outlook_qwerty12345", 1251, map[string]string{"Deleted Items": "Удаленные тут", "Sent Items": "Отправлено", "Inbox": "Входы"}, CodePageBytes},
		{"pst2john-97_outlook_qwerty12345", 936, map[string]string{"Deleted Items": "已删除的邮件 ", "Sent Items": "已发送邮件"}, CodePageBytes},
		{"pst2john-97_outlook_qwerty12345", 949, map[string]string{"Deleted Items": "지운 편지함  ", "Sent Items": "보낸편지함"}, CodePageBytes},
		// Its 73 items say 1252 (PR_MESSAGE_CODEPAGE); the name the user gave the folder says otherwise.
		{"pst2john-2k_outlook_qwerty1234", 1251, map[string]string{"Deleted Items": "Удаленные тут"}, CodePageBytes},
	} {
		data, err := os.ReadFile(filepath.Join(dir, c.fixture+".pst"))
		if err != nil {
			t.Fatal(err)
		}
		names := map[string][]byte{}
		for en, local := range c.names {
			names[en] = encodeIn(t, c.cp, local)
		}
		d := renameInANSIPST(t, data, names)
		f, err := Open(bytes.NewReader(d), int64(len(d)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.CodePage()
		if err != nil || got.CodePage != c.cp || got.Source != c.source {
			t.Errorf("%s in %d: code page %+v, %v; want %d from %s", c.fixture, c.cp, got, err, c.cp, c.source)
			continue
		}
		var paths []string
		if err := f.Folders(func(fo *Folder) error { paths = append(paths, fo.Path); return nil }); err != nil {
			t.Fatal(err)
		}
		for _, local := range c.names {
			if !slices.Contains(paths, local) {
				t.Errorf("%s in %d: no folder %q in %q", c.fixture, c.cp, local, paths)
			}
		}
	}
}
