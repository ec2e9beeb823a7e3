package pst

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailshift/mailshift/internal/testfixtures"

	"github.com/mailshift/mailshift/internal/pst/ndb"
)

// FuzzReadEverything opens arbitrary bytes as a PST and reads everything it can: the folder tree, every
// item with its properties, recipients, attachments and embedded messages, and the RFC 5322 conversion.
// Errors are expected; panics and hangs are bugs. Seeds are the two smallest fixtures.
func FuzzReadEverything(f *testing.F) {
	dir := testfixtures.PSTDir()
	for _, name := range []string{"hughbe-Outlook98Backup.pst", "gopst-32-bit.pst"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("!BDN"))
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		pf.Store()
		pf.NamedProps()
		items := 0
		_ = pf.Folders(func(fo *Folder) error {
			for _, list := range []func() ([]ndb.NID, error){fo.MessageNIDs, fo.AssociatedNIDs} {
				nids, _ := list()
				for _, nid := range nids {
					if items++; items > 2000 {
						return io.EOF
					}
					m, err := pf.Message(nid)
					if err != nil {
						continue
					}
					_, _ = readAll(m, 0)
				}
			}
			return nil
		})
	})
}
