package rtf

import (
	"fmt"
	"path/filepath"
	"sort"
	"sync"
	"testing"

	"github.com/mailshift/mailshift/internal/pst"
	"github.com/mailshift/mailshift/internal/pst/ltp"
	"github.com/mailshift/mailshift/internal/testfixtures"
)

// MAPI properties the fixture tests read.
const (
	propBody          = 0x1000 // PR_BODY
	propRTFCompressed = 0x1009 // PR_RTF_COMPRESSED
	propHTML          = 0x1013 // PR_HTML
	propNativeBody    = 0x1016 // PR_NATIVE_BODY_INFO: 1 plain text, 2 RTF, 3 HTML
)

// PR_NATIVE_BODY_INFO values ([MS-OXCMSG] 2.2.1.58.7).
const (
	nativeBodyText = 1
	nativeBodyRTF  = 2
	nativeBodyHTML = 3
)

// maxEmbedDepth bounds the walk into embedded messages.
const maxEmbedDepth = 8

// fixtureItem is one item of a PST fixture that has a PR_RTF_COMPRESSED body.
type fixtureItem struct {
	File       string // fixture file name
	Where      string // "NID" or "NID/attachment NID" for embedded messages
	Compressed []byte
	HTML       string // PR_HTML: as stored when binary, decoded when a string
	HasHTML    bool
	Body       string // PR_BODY decoded
	HasBody    bool
	NativeBody int64 // PR_NATIVE_BODY_INFO, 0 when absent
}

var (
	fixtureOnce  sync.Once
	fixtureItems []fixtureItem
	fixtureFiles []string
	fixtureErr   error
)

// fixtureCorpus reads every PR_RTF_COMPRESSED in every PST fixture (embedded messages included), once per
// test binary.
func fixtureCorpus(t testing.TB) []fixtureItem {
	t.Helper()
	dir := testfixtures.MustPSTDir(t)
	fixtureOnce.Do(func() {
		fixtureFiles, fixtureErr = filepath.Glob(filepath.Join(dir, "*.pst"))
		sort.Strings(fixtureFiles)
		for _, path := range fixtureFiles {
			items, err := readFixture(path)
			if err != nil {
				fixtureErr = err
				return
			}
			fixtureItems = append(fixtureItems, items...)
		}
	})
	if fixtureErr != nil {
		t.Fatal(fixtureErr)
	}
	if len(fixtureFiles) == 0 {
		t.Fatalf("no *.pst fixtures in %s", dir)
	}
	return fixtureItems
}

func readFixture(path string) ([]fixtureItem, error) {
	f, err := pst.OpenPath(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	name := filepath.Base(path)
	var items []fixtureItem
	var visit func(m *pst.Message, where string, depth int)
	visit = func(m *pst.Message, where string, depth int) {
		if v, ok := m.Get(propRTFCompressed); ok {
			if b, err := v.Bytes(); err == nil {
				items = append(items, itemOf(m, name, where, b))
			}
		}
		if depth >= maxEmbedDepth {
			return
		}
		atts, _ := m.Attachments()
		for _, a := range atts {
			if a.Method != pst.AttachEmbedded {
				continue
			}
			if em, err := a.Embedded(); err == nil {
				visit(em, fmt.Sprintf("%s/%#x", where, uint32(a.NID)), depth+1)
			}
		}
	}
	// Items the reader cannot open are the pst package's business (and reported by its tests); the walk
	// goes on past them.
	_ = f.Folders(func(fo *pst.Folder) error {
		return fo.Messages(func(m *pst.Message) error {
			visit(m, fmt.Sprintf("%#x", uint32(m.NID)), 0)
			return nil
		})
	})
	return items, nil
}

func itemOf(m *pst.Message, file, where string, compressed []byte) fixtureItem {
	it := fixtureItem{File: file, Where: where, Compressed: compressed}
	if v, ok := m.Get(propHTML); ok {
		if v.Type == ltp.PtypBinary {
			b, _ := v.Bytes()
			it.HTML = string(b)
		} else {
			it.HTML = m.String(propHTML)
		}
		it.HasHTML = true
	}
	if _, ok := m.Get(propBody); ok {
		it.Body, it.HasBody = m.String(propBody), true
	}
	if _, ok := m.Get(propNativeBody); ok {
		it.NativeBody = m.Int(propNativeBody)
	}
	return it
}
