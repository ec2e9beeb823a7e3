package convert

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mailshift/mailshift/internal/pst"
	"github.com/mailshift/mailshift/internal/testfixtures"
)

// FuzzConvert converts every item of a damaged PST in every format: each item gives output or an error,
// never a panic or a hang.
func FuzzConvert(f *testing.F) {
	dir := testfixtures.PSTDir()
	for _, name := range []string{"gopst-32-bit.pst", "hughbe-Outlook98Backup.pst"} {
		if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := pst.Open(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		conv, err := New(pf, Options{Addresses: ScanAddresses(pf)})
		if err != nil {
			return
		}
		items := 0
		_ = pf.Folders(func(fo *pst.Folder) error {
			return fo.Messages(func(m *pst.Message) error {
				if items++; items > 500 {
					return io.EOF
				}
				_, _ = conv.Convert(io.Discard, m)
				return nil
			})
		})
	})
}
