package main

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// utf16le encodes s as the PST's Unicode strings are stored.
func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

// replaceInUnicodePST replaces every occurrence of old by new (the same length) in the data blocks of an
// unencrypted Unicode PST and fixes the CRC of each block it touched, so the reader accepts the result: a
// crafted file as an attacker would write it.
func replaceInUnicodePST(t *testing.T, data []byte, old, new string) []byte {
	t.Helper()
	from, to := utf16le(old), utf16le(new)
	if len(from) != len(to) {
		t.Fatalf("%q and %q differ in length", old, new)
	}
	out := bytes.Clone(data)
	crc := func(p []byte) uint32 { return ^crc32.Update(0xFFFFFFFF, crc32.IEEETable, p) }
	n := 0
	for off := 0; ; {
		i := bytes.Index(data[off:], from)
		if i < 0 {
			break
		}
		pos := off + i
		off = pos + len(from)
		copy(out[pos:], to)
		// Find the block holding pos: its trailer (cb, wSig, dwCRC, bid) is the first one after pos whose
		// size covers pos and whose CRC matches the original bytes.
		fixed := false
		for tr := (pos/64)*64 + 48; tr < len(data)-16 && tr < pos+8192; tr += 64 {
			cb := int(binary.LittleEndian.Uint16(data[tr:]))
			start := tr + 16 - (cb+16+63)/64*64
			if cb == 0 || start < 0 || pos < start || pos+len(from) > start+cb {
				continue
			}
			if binary.LittleEndian.Uint32(data[tr+4:]) != crc(data[start:start+cb]) {
				continue
			}
			binary.LittleEndian.PutUint32(out[tr+4:], crc(out[start:start+cb]))
			fixed = true
			break
		}
		if !fixed {
			t.Fatalf("no data block found around offset %#x", pos)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("%q not found", old)
	}
	return out
}

// TestPSTInspectQuotesControlCharacters: a crafted PST whose folder name holds escape sequences (set the
// terminal's title, clear the screen) is listed with the name quoted; nothing raw reaches the terminal.
func TestPSTInspectQuotesControlCharacters(t *testing.T) {
	dir := pstFixtureDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "pst2john-2003_no-encryption_quickquick.pst"))
	if err != nil {
		t.Fatal(err)
	}
	hostile := "\x1b]0;pwnd\a\x1b[2J"
	path := filepath.Join(t.TempDir(), "crafted.pst")
	if err := os.WriteFile(path, replaceInUnicodePST(t, data, "Deleted Items", hostile), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := run([]string{"pst", "inspect", path}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.ContainsAny(out.String()+errb.String(), "\x1b\a") {
		t.Errorf("control characters printed raw:\n%q", out.String())
	}
	if want := `"\x1b]0;pwnd\a\x1b[2J"  [IPM.Note 20]`; !strings.Contains(out.String(), want) {
		t.Errorf("output does not show the quoted name %s:\n%s", want, out.String())
	}
	// Names without control characters stay as they are.
	if !strings.Contains(out.String(), "/ (Top of Personal Folders)") {
		t.Errorf("plain names changed:\n%s", out.String())
	}
}

// TestOpenErrorNamesPathOnce: a missing or unreadable PST is named once in the message, by `pst inspect`
// and by `migrate --from pst:`.
func TestOpenErrorNamesPathOnce(t *testing.T) {
	tmp := t.TempDir()
	missing := filepath.Join(tmp, "nonexistent.pst")
	txt := filepath.Join(tmp, "notes.pst")
	os.WriteFile(txt, []byte("Dear diary, this is not an Outlook file.\n"), 0o644)
	t.Setenv("MAILSHIFT_TO_PASSWORD", "unused")
	for _, c := range []struct {
		args []string
		path string
		msg  string
	}{
		{[]string{"pst", "inspect", missing}, missing, "no such file"},
		{[]string{"pst", "inspect", txt}, txt, "not a PST file"},
		{[]string{"migrate", "--from", "pst:" + missing, "--to", "imap://alice@127.0.0.1:1", "--tls", "none", "--allow-plaintext"}, missing, "no such file"},
		{[]string{"migrate", "--from", "pst:" + txt, "--to", "imap://alice@127.0.0.1:1", "--tls", "none", "--allow-plaintext"}, txt, "not a PST file"},
	} {
		var out, errb bytes.Buffer
		if code := run(c.args, &out, &errb); code == 0 {
			t.Errorf("%q: exit 0", c.args)
		}
		msg := errb.String()
		if n := strings.Count(msg, c.path); n != 1 || !strings.Contains(msg, c.msg) {
			t.Errorf("%q: stderr %q names the path %d times; want once, with %q", c.args, msg, n, c.msg)
		}
	}
}
