package pst

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/mailshift/mailshift/internal/codepage"
	"github.com/mailshift/mailshift/internal/pst/ndb"
)

// allMessages returns every normal item of a fixture, in walk order.
func allMessages(t testing.TB, f *File) []*Message {
	t.Helper()
	var out []*Message
	err := f.Folders(func(fo *Folder) error {
		return fo.Messages(func(m *Message) error {
			out = append(out, m)
			return nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestEmbeddedThreeDeep: a message that holds a message that holds a message.
func TestEmbeddedThreeDeep(t *testing.T) {
	dir := fixtureDir(t)
	f := openFixture(t, dir, "hiraoka-msgInMsgInMsg")
	msgs := allMessages(t, f)
	if len(msgs) != 1 {
		t.Fatalf("%d items, want 1", len(msgs))
	}
	depth := 1
	var subjects []string
	m := msgs[0]
	for {
		subjects = append(subjects, m.Subject)
		atts, err := m.Attachments()
		if err != nil {
			t.Fatal(err)
		}
		var next *Message
		for _, a := range atts {
			if a.Method == AttachEmbedded {
				if next, err = a.Embedded(); err != nil {
					t.Fatalf("depth %d: %v", depth, err)
				}
				if _, err := readAll(next, depth); err != nil {
					t.Fatalf("depth %d: %v", depth, err)
				}
				break
			}
			if _, err := a.Embedded(); !errors.Is(err, ErrNotEmbedded) {
				t.Errorf("Embedded on a method-%d attachment: %v", a.Method, err)
			}
		}
		if next == nil {
			break
		}
		m = next
		depth++
	}
	if depth < 3 {
		t.Errorf("embedded chain is %d deep (%q), want 3", depth, subjects)
	}
	for i, s := range subjects {
		if s == "" {
			t.Errorf("message at depth %d has no subject", i+1)
		}
	}
	t.Logf("chain: %q", subjects)
}

func Test200Recipients(t *testing.T) {
	dir := fixtureDir(t)
	f := openFixture(t, dir, "rubymsg-200_recipients")
	msgs := allMessages(t, f)
	if len(msgs) != 1 {
		t.Fatalf("%d items, want 1", len(msgs))
	}
	rs, err := msgs[0].Recipients()
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 200 {
		t.Fatalf("%d recipients, want 200", len(rs))
	}
	seen := map[string]bool{}
	for i, r := range rs {
		if r.DisplayName == "" || (r.Address == "" && r.SMTPAddress == "") {
			t.Errorf("recipient %d incomplete: %+v", i, r)
		}
		if r.Type < 1 || r.Type > 3 {
			t.Errorf("recipient %d: type %d", i, r.Type)
		}
		seen[r.DisplayName+"\x00"+r.Address] = true
	}
	if len(seen) < 2 {
		t.Errorf("recipients are all the same: %+v", rs[0])
	}
}

// TestCP932: an ANSI Outlook 97-2002 file whose strings are Shift-JIS. The store records no code page, so
// the folder names need File.DefaultCodePage (readpst needs -C CP932 alike; its JSON folder paths are right).
// The contact carries PR_INTERNET_CPID 50220 (ISO-2022-JP, how it travelled), but its ANSI strings are stored
// in the matching Windows code page, 932. readpst's subject in the JSON is lossy (U+FFFD), so the subject is
// compared with the text Outlook shows.
func TestCP932(t *testing.T) {
	dir := fixtureDir(t)
	tr := loadTruth(t, dir, "hiraoka-contacts97-2002")
	f := openFixture(t, dir, "hiraoka-contacts97-2002")
	var paths []string
	if err := f.Folders(func(fo *Folder) error { paths = append(paths, fo.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, fo := range tr.Folders {
		if hasJapanese(fo.Path) && !slices.Contains(paths, fo.Path) {
			t.Errorf("folder %q not found in %q", fo.Path, paths)
		}
	}
	msgs := allMessages(t, f)
	if len(msgs) != 1 {
		t.Fatalf("%d items, want 1", len(msgs))
	}
	m := msgs[0]
	if m.CodePage != 932 {
		t.Errorf("code page %d, want 932", m.CodePage)
	}
	if want := "コム ドット イグザンプル 殿"; m.Subject != want {
		t.Errorf("subject %q, want %q", m.Subject, want)
	}
	if want := "Mr. イグザンプル ドット コム 殿"; m.String(propDisplayName) != want {
		t.Errorf("display name %q, want %q", m.String(propDisplayName), want)
	}
	// An explicit code page wins over what the file says: told 1252, the names are not Japanese.
	f2, err := OpenPath(filepath.Join(dir, "hiraoka-contacts97-2002.pst"))
	if err != nil {
		t.Fatal(err)
	}
	defer f2.Close()
	f2.DefaultCodePage = 1252
	if err := f2.Folders(func(fo *Folder) error {
		if hasJapanese(fo.Path) {
			t.Errorf("folder %q decoded as Japanese with code page 1252", fo.Path)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if cp, err := f2.CodePage(); err != nil || cp.CodePage != 1252 || cp.Source != CodePageExplicit {
		t.Errorf("code page %+v, %v; want 1252, explicit", cp, err)
	}
}

// TestCodePageDetected: the same Japanese file with no code page given. Its store records none; the item's
// PR_INTERNET_CPID (ISO-2022-JP, stored as 932) and PR_MESSAGE_LOCALE_ID (Japanese) say 932, and the bytes
// of its folder names alone read as 932 too. Folder names, the store's name and the item decode as readpst
// -C CP932 shows them (its JSON ground truth).
func TestCodePageDetected(t *testing.T) {
	dir := fixtureDir(t)
	tr := loadTruth(t, dir, "hiraoka-contacts97-2002")
	f, err := OpenPath(filepath.Join(dir, "hiraoka-contacts97-2002.pst"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cp, err := f.CodePage()
	if err != nil || cp.CodePage != 932 || cp.Source != CodePageMessages {
		t.Errorf("code page %+v, %v; want 932 from the messages", cp, err)
	}
	var paths []string
	if err := f.Folders(func(fo *Folder) error { paths = append(paths, fo.Path); return nil }); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, fo := range tr.Folders {
		want = append(want, fo.Path)
	}
	slices.Sort(paths)
	slices.Sort(want)
	if !slices.Equal(paths, want) {
		t.Errorf("folders %q, want %q", paths, want)
	}
	for _, p := range []string{"連絡先 (Contact dedicated)", "削除済みアイテム"} {
		if !slices.Contains(paths, p) {
			t.Errorf("no folder %q in %q", p, paths)
		}
	}
	if s, _ := f.Store(); s.DisplayName != tr.StoreDisplayName {
		t.Errorf("store name %q", s.DisplayName)
	}
	msgs := allMessages(t, f)
	if len(msgs) != 1 || msgs[0].Subject != "コム ドット イグザンプル 殿" {
		t.Errorf("items %d, subject %q", len(msgs), msgs[0].Subject)
	}

	// Without the items' properties, the bytes of the names alone (the store's and the folders') are not
	// plausible Windows-1252 and read as 932.
	st, _ := f.Store()
	sc := &sampler{f: f, votes: map[int]int{}}
	sc.walk(st.ipmSubtree)
	var names [][]byte
	for _, b := range sc.samples {
		if !bytes.Contains(b, []byte{0x83, 0x52, 0x83, 0x80}) { // not the item's subject ("コム")
			names = append(names, b)
		}
	}
	if len(names) < 2 {
		t.Fatalf("samples %q", sc.samples)
	}
	if got, ok := codepage.Guess(names); !ok || got != 932 {
		t.Errorf("bytes of the folder names guessed as %d, %v; want 932", got, ok)
	}
}

// TestCodePageWestern: the other ANSI fixtures (English and German Outlook files) stay Windows-1252.
func TestCodePageWestern(t *testing.T) {
	dir := fixtureDir(t)
	for _, name := range []string{"gopst-32-bit", "hughbe-Outlook98Backup", "pst2john-2k_outlook_qwerty1234", "pst2john-97_outlook_qwerty12345", "pstsdk-sample2", "pstsdk-test_ansi"} {
		f := openFixture(t, dir, name)
		if cp, err := f.CodePage(); err != nil || cp.CodePage != 1252 {
			t.Errorf("%s: code page %+v, %v; want 1252", name, cp, err)
		}
	}
}

func hasJapanese(s string) bool {
	for _, r := range s {
		if r >= 0x3040 && r <= 0x9fff || r >= 0xff00 && r <= 0xffef {
			return true
		}
	}
	return false
}

// TestNamedProps resolves named properties through the NAMEID map: every property at 0x8000 and up has a
// name, and Named finds each of them again.
func TestNamedProps(t *testing.T) {
	dir := fixtureDir(t)
	f := openFixture(t, dir, "hughbe-hughbe_Outlook")
	np, err := f.NamedProps()
	if err != nil {
		t.Fatal(err)
	}
	if len(np) == 0 {
		t.Fatal("empty NAMEID map")
	}
	checked, appt := 0, false
	for _, m := range allMessages(t, f) {
		for _, p := range m.Props() {
			if p.ID() < 0x8000 {
				continue
			}
			if p.Name == nil {
				t.Errorf("%s %#x: property %#x has no name", m.Class, uint32(m.NID), p.ID())
				continue
			}
			var key any = p.Name.ID
			if p.Name.IsString {
				key = p.Name.Name
			}
			v, ok := m.Named(p.Name.GUID, key)
			if !ok || v.ID != p.ID() {
				t.Errorf("Named(%v) = %v, %v; want property %#x", p.Name, v.ID, ok, p.ID())
			}
			checked++
		}
		if strings.HasPrefix(m.Class, "IPM.Appointment") {
			// PidLidAppointmentStartWhole, PSETID_Appointment 0x820D, a time.
			v, ok := m.Named(PSETIDAppointment, 0x820D)
			if !ok {
				t.Errorf("appointment has no PidLidAppointmentStartWhole")
			} else if tm, err := v.Time(); err != nil || tm.Year() < 2000 {
				t.Errorf("PidLidAppointmentStartWhole = %v, %v", tm, err)
			}
			appt = true
		}
	}
	if checked == 0 || !appt {
		t.Errorf("checked %d named properties, appointment seen %v", checked, appt)
	}
	if g := GUIDString(PSETIDAppointment); g != "00062002-0000-0000-C000-000000000046" {
		t.Errorf("GUIDString = %s", g)
	}
}

// TestConcurrent reads all folders of a fixture from several goroutines at once (run with -race).
func TestConcurrent(t *testing.T) {
	dir := fixtureDir(t)
	f := openFixture(t, dir, "hughbe-backup_with_rules")
	var folders []*Folder
	if err := f.Folders(func(fo *Folder) error { folders = append(folders, fo); return nil }); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(folders)*4)
	for round := 0; round < 4; round++ {
		for _, fo := range folders {
			wg.Add(1)
			go func(fo *Folder) {
				defer wg.Done()
				nids, err := fo.MessageNIDs()
				if err != nil {
					errs <- err
					return
				}
				for _, nid := range nids {
					m, err := f.Message(nid)
					if err != nil {
						errs <- err
						return
					}
					m.Props()
					if _, err := readAll(m, 0); err != nil {
						errs <- err
					}
				}
			}(fo)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestOpenErrors: a missing file, a text file and a truncated PST give clear, typed errors and no panic.
func TestOpenErrors(t *testing.T) {
	dir := fixtureDir(t)
	tmp := t.TempDir()
	if _, err := OpenPath(filepath.Join(tmp, "missing.pst")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	txt := filepath.Join(tmp, "notes.txt")
	os.WriteFile(txt, []byte("this is not a PST file, just some text that is long enough to fill a header\n"), 0o644)
	if _, err := OpenPath(txt); !IsNotPST(err) {
		t.Errorf("text file: %v", err)
	}
	if _, err := OpenPath(filepath.Join(tmp, "empty.pst")); err == nil {
		t.Errorf("empty path opened")
	}
	data, err := os.ReadFile(filepath.Join(dir, "hughbe-backup.pst"))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 100, 512, 4096, len(data) / 2} {
		f, err := Open(bytes.NewReader(data[:n]), int64(n))
		if err == nil {
			_, err = f.Root()
		}
		if err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
			continue
		}
		if !IsTruncated(err) && !IsNotPST(err) && !IsCorrupt(err) {
			t.Errorf("truncated to %d bytes: untyped error %v", n, err)
		}
	}
}

// TestDamaged flips bytes all over a fixture and reads everything: errors are fine, panics are not, and
// each error names the item it is about.
func TestDamaged(t *testing.T) {
	dir := fixtureDir(t)
	data, err := os.ReadFile(filepath.Join(dir, "hughbe-DFRWS2009-Outlook-Email.pst"))
	if err != nil {
		t.Fatal(err)
	}
	for seed := 0; seed < 40; seed++ {
		d := append([]byte(nil), data...)
		for i := 0; i < 20; i++ {
			off := 1024 + (seed*7919+i*104729)%(len(d)-1024)
			d[off] ^= byte(seed*31 + i + 1)
		}
		f, err := Open(bytes.NewReader(d), int64(len(d)))
		if err != nil {
			continue
		}
		_ = f.Folders(func(fo *Folder) error {
			nids, _ := fo.MessageNIDs()
			for _, nid := range nids {
				m, err := f.Message(nid)
				if err != nil {
					if !strings.Contains(err.Error(), "message ") {
						t.Errorf("error does not name the item: %v", err)
					}
					continue
				}
				m.Props()
				m.Recipients()
				_, _ = readAll(m, 0)
			}
			return nil
		})
	}
}

// BenchmarkReadEverything reads every item (normal and FAI) of every fixture: all properties, recipients,
// and all attachment bytes, embedded messages included. hack/bench-pst.sh compares it with readpst.
func BenchmarkReadEverything(b *testing.B) {
	dir, names := fixtureNames(b)
	var items, byteCount, fileBytes int64
	for i := 0; i < b.N; i++ {
		for _, name := range names {
			f, err := OpenPath(filepath.Join(dir, name+".pst"))
			if err != nil {
				b.Fatal(err)
			}
			if st, err := os.Stat(filepath.Join(dir, name+".pst")); err == nil {
				fileBytes += st.Size()
			}
			err = f.Folders(func(fo *Folder) error {
				for _, list := range []func() ([]ndb.NID, error){fo.MessageNIDs, fo.AssociatedNIDs} {
					nids, err := list()
					if err != nil {
						return err
					}
					for _, nid := range nids {
						m, err := f.Message(nid)
						if err != nil {
							return err
						}
						n, err := readAll(m, 0)
						if err != nil {
							return err
						}
						items++
						byteCount += n
					}
				}
				return nil
			})
			f.Close()
			if err != nil {
				b.Fatalf("%s: %v", name, err)
			}
		}
	}
	sec := b.Elapsed().Seconds()
	if sec > 0 {
		b.ReportMetric(float64(items)/sec, "items/s")
		// MB/s is PST file bytes per second, comparable with other readers; payload-MB/s counts the property
		// and attachment bytes actually delivered.
		b.ReportMetric(float64(fileBytes)/1e6/sec, "MB/s")
		b.ReportMetric(float64(byteCount)/1e6/sec, "payload-MB/s")
	}
	b.ReportMetric(float64(items)/float64(b.N), "items/op")
}

// readAll reads every property value, recipient and attachment of m, and returns the bytes seen.
func readAll(m *Message, depth int) (int64, error) {
	var n int64
	for _, p := range m.Props() {
		b, err := p.Value.Bytes()
		if err != nil {
			return n, err
		}
		n += int64(len(b))
	}
	if _, err := m.Recipients(); err != nil {
		return n, err
	}
	atts, err := m.Attachments()
	if err != nil {
		return n, err
	}
	for _, a := range atts {
		switch a.Method {
		case AttachEmbedded:
			em, err := a.Embedded()
			if err != nil {
				return n, err
			}
			k, err := readAll(em, depth+1)
			n += k
			if err != nil {
				return n, err
			}
		default:
			if v, ok := a.Get(propAttachDataBin); !ok || v.Type != 0x102 {
				continue
			}
			rc, err := a.Open()
			if err != nil {
				return n, err
			}
			k, err := io.Copy(io.Discard, rc)
			rc.Close()
			n += k
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func TestPathEscaping(t *testing.T) {
	root := &Folder{Kind: KindRoot}
	a := &Folder{Path: root.childPath("Mail/Archive 2024")}
	if a.Path != "Mail%2FArchive 2024" {
		t.Errorf("got %q", a.Path)
	}
	if p := a.childPath("x/y"); p != "Mail%2FArchive 2024/x%2Fy" {
		t.Errorf("got %q", p)
	}
}

func TestStripSubjectPrefix(t *testing.T) {
	for in, want := range map[string]string{
		"":               "",
		"hello":          "hello",
		"\x01\x04RE: hi": "RE: hi",
		"\x01\x01コム ドット": "コム ドット",
		"\x01":           "",
	} {
		if got := stripSubjectPrefix(in); got != want {
			t.Errorf("%q: got %q, want %q", in, got, want)
		}
	}
}

func TestGUID(t *testing.T) {
	g := MustParseGUID("{00062002-0000-0000-C000-000000000046}")
	if g[0] != 0x02 || g[1] != 0x20 || g[2] != 0x06 || g[8] != 0xC0 || g[15] != 0x46 {
		t.Errorf("byte order: %x", g)
	}
	if _, err := ParseGUID("nope"); err == nil {
		t.Error("bad GUID accepted")
	}
}

// TestReadpstMisreadsMessagesAsFolders: tghanem-user1_test.lab.pst holds two messages (NIDs 0x2000e4 and
// 0x200104, NID type 0x04) that readpst lists as subfolders "user1@test.lab". This reader follows the
// hierarchy and contents tables, as libpff does: they are IPM.Note items of FolderWithSingleMessage and
// FolderWithSingleUnreadMessage, and those folders have no subfolders.
func TestReadpstMisreadsMessagesAsFolders(t *testing.T) {
	dir := fixtureDir(t)
	f := openFixture(t, dir, "tghanem-user1_test.lab")
	want := map[string]ndb.NID{"FolderWithSingleMessage": 0x2000e4, "FolderWithSingleUnreadMessage": 0x200104}
	found := 0
	err := f.Folders(func(fo *Folder) error {
		nid, ok := want[fo.Path]
		if strings.HasSuffix(fo.Path, "user1@test.lab") {
			t.Errorf("message listed as folder %q", fo.Path)
		}
		if !ok {
			return nil
		}
		found++
		subs, err := fo.Subfolders()
		if err != nil || len(subs) != 0 {
			t.Errorf("%s: subfolders %v, %v", fo.Path, subs, err)
		}
		nids, err := fo.MessageNIDs()
		if err != nil || len(nids) != 1 || nids[0] != nid {
			t.Fatalf("%s: items %v, %v; want [%#x]", fo.Path, nids, err, uint32(nid))
		}
		m, err := f.Message(nid)
		if err != nil || m.Class != "IPM.Note" || m.Subject == "" {
			t.Errorf("%s: %v %+v", fo.Path, err, m)
		}
		return nil
	})
	if err != nil || found != 2 {
		t.Errorf("found %d folders, err %v", found, err)
	}
	if _, err := f.Folder(0x2000e4); err == nil {
		t.Errorf("message NID opened as a folder")
	}
}
