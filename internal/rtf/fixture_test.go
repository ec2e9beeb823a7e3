package rtf

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func isMELA(compressed []byte) bool {
	return len(compressed) >= 12 && binary.LittleEndian.Uint32(compressed[8:]) == compTypeUncompressed
}

// TestFixturesDecompress decompresses every PR_RTF_COMPRESSED of every PST fixture. Each must succeed, fill
// exactly RAWSIZE bytes (Outlook and the other writers in the fixtures state it correctly for compressed
// streams) and hold one RTF document.
func TestFixturesDecompress(t *testing.T) {
	items := fixtureCorpus(t)
	if len(items) == 0 {
		t.Fatal("no PR_RTF_COMPRESSED in any fixture")
	}
	files := map[string]bool{}
	mela := 0
	for _, it := range items {
		out, err := Decompress(it.Compressed)
		if err != nil {
			t.Errorf("%s %s: %v", it.File, it.Where, err)
			continue
		}
		files[it.File] = true
		raw := binary.LittleEndian.Uint32(it.Compressed[4:])
		if isMELA(it.Compressed) {
			mela++
		} else if uint32(len(out)) != raw {
			t.Errorf("%s %s: %d bytes, RAWSIZE %d", it.File, it.Where, len(out), raw)
		}
		if _, err := checkRTF(out); err != nil {
			t.Errorf("%s %s: %v", it.File, it.Where, err)
		}
	}
	t.Logf("decompressed %d PR_RTF_COMPRESSED blobs (%d uncompressed MELA) from %d of %d fixtures", len(items), mela, len(files), len(fixtureFiles))
}

// storedBodyExceptions are items whose PR_BODY holds text their RTF does not: Aspose.Email's evaluation
// edition adds a banner to the plain text body only. For them only the other direction is checked (every
// word of the RTF's body is in PR_BODY), and the banner must still be there, so the exception cannot hide
// another difference.
var storedBodyExceptions = map[string]string{
	"aspose-sample.pst 0x200024": "This is an evaluation copy of Aspose.Email",
}

// TestFixturesBodies checks what Deencapsulate and ToText make of the fixtures' RTF bodies against the
// bodies Outlook stored beside them, which it derived from the same content:
//   - native RTF rendered by ToText and text de-encapsulated from \fromtext equal PR_BODY once whitespace
//     is normalised;
//   - the text of de-encapsulated HTML (tags stripped by the oracle's own regular expressions) has the
//     words of PR_BODY, which Outlook writes with each link's URL added, so a few may be missing;
//   - the kind agrees with PR_NATIVE_BODY_INFO and PR_HTML where the item has them.
func TestFixturesBodies(t *testing.T) {
	counts := map[string]int{}
	for _, it := range fixtureCorpus(t) {
		name := it.File + " " + it.Where
		doc, err := Decompress(it.Compressed)
		if err != nil {
			continue // TestFixturesDecompress reports it
		}
		body, err := Deencapsulate(doc)
		var kind Kind
		var text string
		switch {
		case errors.Is(err, ErrNotEncapsulated):
			counts["native"]++
			if text, err = ToText(doc); err != nil {
				t.Errorf("%s: ToText: %v", name, err)
				continue
			}
		case err != nil:
			t.Errorf("%s: Deencapsulate: %v", name, err)
			continue
		default:
			kind, text = body.Kind, body.Text
			counts[kind.String()]++
		}

		switch {
		case it.NativeBody == nativeBodyHTML && kind != HTML,
			it.NativeBody == nativeBodyText && kind != Text,
			it.NativeBody == nativeBodyRTF && kind != 0:
			t.Errorf("%s: PR_NATIVE_BODY_INFO %d, but the RTF is %v", name, it.NativeBody, kind)
		case it.HasHTML && kind == Text:
			t.Errorf("%s: item has PR_HTML, but its RTF encapsulates plain text", name)
		}
		// Outlook's encapsulated HTML always has HTMLTAG groups (at least the {\*\htmltag64} of
		// [MS-OXRTFEX] 2.1.3.2), even when the HTML has no tag; text never has them (2.1.3.3).
		if hasTags := bytes.Contains(doc, []byte(`{\*\htmltag`)); hasTags != (kind == HTML) {
			t.Errorf("%s: de-encapsulated as %v, but the RTF has HTMLTAG groups: %v", name, kind, hasTags)
		}
		if !it.HasBody {
			continue
		}
		counts["compared with PR_BODY"]++
		if kind != HTML {
			if got, want := normaliseSpace(text), normaliseSpace(it.Body); got != want {
				i := commonPrefix(got, want)
				t.Errorf("%s: %v text differs from PR_BODY at byte %d:\n got %.120q\nwant %.120q", name, kind, i, got[i:], want[i:])
			}
			continue
		}
		got, stored := words(htmlText(text)), words(it.Body)
		if c := containment(got, stored); c < 0.98 {
			t.Errorf("%s: only %.0f%% of the %d words of the HTML's text are in PR_BODY", name, 100*c, len(got))
		}
		if banner, ok := storedBodyExceptions[name]; ok {
			if !strings.Contains(it.Body, banner) {
				t.Errorf("%s: PR_BODY no longer has %q: remove the exception", name, banner)
			}
			continue
		}
		if c := containment(stored, got); c < 0.85 {
			t.Errorf("%s: only %.0f%% of the %d words of PR_BODY are in the HTML's text", name, 100*c, len(stored))
		}
	}
	if counts["compared with PR_BODY"] == 0 {
		t.Fatal("no item to compare with PR_BODY")
	}
	t.Logf("bodies: %v", counts)
}

// TestFixturesHTMLProperty compares, for items that store PR_HTML beside their RTF, the HTML's text with
// the RTF's.
func TestFixturesHTMLProperty(t *testing.T) {
	n := 0
	for _, it := range fixtureCorpus(t) {
		if !it.HasHTML {
			continue
		}
		doc, err := Decompress(it.Compressed)
		if err != nil {
			continue
		}
		var text string
		if body, err := Deencapsulate(doc); err == nil {
			text = body.Text
			if body.Kind == HTML {
				text = htmlText(text)
			}
		} else if text, err = ToText(doc); err != nil {
			t.Errorf("%s %s: %v", it.File, it.Where, err)
			continue
		}
		n++
		got, stored := words(text), words(htmlText(it.HTML))
		if c := containment(stored, got); c < 0.9 {
			t.Errorf("%s %s: only %.0f%% of the words of PR_HTML are in the RTF body", it.File, it.Where, 100*c)
		}
		if c := containment(got, stored); c < 0.9 {
			t.Errorf("%s %s: only %.0f%% of the words of the RTF body are in PR_HTML", it.File, it.Where, 100*c)
		}
	}
	t.Logf("%d items with PR_HTML compared", n)
}

func normaliseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

func commonPrefix(a, b string) int {
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return i
}

// TestFixturesAgainstReadpst compares Decompress with libpst's decompressor, an independent
// implementation: readpst -S writes each item's decompressed RTF body as "N-rtf-body.rtf", and every such
// file must be the output of Decompress for one of the fixture's items.
//
// libpst never looks at COMPTYPE and decodes uncompressed ("MELA") bodies as if they were compressed,
// which gives RAWSIZE bytes of noise. A file that matches nothing is accepted only as the noise of one of
// the fixture's MELA bodies: of its RAWSIZE, and not itself starting like RTF.
func TestFixturesAgainstReadpst(t *testing.T) {
	readpst, err := exec.LookPath("readpst")
	if err != nil {
		t.Skip("readpst (pst-utils) not installed")
	}
	byFile := map[string][]fixtureItem{}
	for _, it := range fixtureCorpus(t) {
		byFile[it.File] = append(byFile[it.File], it)
	}
	compared, melaNoise := 0, 0
	for _, path := range fixtureFiles {
		name := filepath.Base(path)
		ours := map[[32]byte]bool{}
		var melaSizes []int
		for _, it := range byFile[name] {
			if out, err := Decompress(it.Compressed); err == nil {
				ours[sha256.Sum256(out)] = true
			}
			if isMELA(it.Compressed) {
				melaSizes = append(melaSizes, int(binary.LittleEndian.Uint32(it.Compressed[4:])))
			}
		}
		dir := t.TempDir()
		cmd := exec.Command(readpst, "-S", "-D", "-q", "-j", "0", "-o", dir, path)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Logf("%s: readpst: %v: %s", name, err, out) // a fixture readpst cannot read has nothing to compare
			continue
		}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, "-rtf-body.rtf") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(dir, p)
			if ours[sha256.Sum256(b)] {
				compared++
				return nil
			}
			for i, n := range melaSizes {
				if n == len(b) && !bytes.HasPrefix(b, []byte(`{\rtf`)) {
					melaSizes = append(melaSizes[:i], melaSizes[i+1:]...)
					melaNoise++
					return nil
				}
			}
			t.Errorf("%s: readpst's %s (%d bytes, %.60q) is not what Decompress gives for any item", name, rel, len(b), b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if compared == 0 {
		t.Fatal("readpst wrote no RTF body to compare")
	}
	t.Logf("%d RTF bodies identical to readpst's; %d readpst outputs of MELA bodies set aside", compared, melaNoise)
}

// BenchmarkDecompress decompresses the largest PR_RTF_COMPRESSED of the fixtures.
func BenchmarkDecompress(b *testing.B) {
	var largest []byte
	for _, it := range fixtureCorpus(b) {
		if len(it.Compressed) > len(largest) && !isMELA(it.Compressed) {
			largest = it.Compressed
		}
	}
	out, err := Decompress(largest)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(out)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decompress(largest); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeencapsulate de-encapsulates the largest HTML body of the fixtures.
func BenchmarkDeencapsulate(b *testing.B) {
	var largest []byte
	for _, it := range fixtureCorpus(b) {
		doc, err := Decompress(it.Compressed)
		if err != nil || len(doc) <= len(largest) {
			continue
		}
		if body, err := Deencapsulate(doc); err == nil && body.Kind == HTML {
			largest = doc
		}
	}
	if largest == nil {
		b.Fatal("no encapsulated HTML in the fixtures")
	}
	b.SetBytes(int64(len(largest)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Deencapsulate(largest); err != nil {
			b.Fatal(err)
		}
	}
}
