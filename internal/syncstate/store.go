package syncstate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mailshift/mailshift/internal/atomicfile"
)

// File keeps a state in a file (the CLI's --state DIR holds one per sync).
type File struct {
	Path string
}

// maxFile bounds what Load reads: far above the encoding of the largest state Decode accepts in practice.
const maxFile = 256 << 20

// Load returns the state in the file, or an empty state when there is no file yet.
func (d File) Load() (*State, error) {
	f, err := os.Open(d.Path)
	if errors.Is(err, fs.ErrNotExist) {
		return &State{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size() > maxFile {
		return nil, fmt.Errorf("sync state %s: %d bytes, more than a sync state can be (%d)", d.Path, st.Size(), maxFile)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil {
		return nil, fmt.Errorf("sync state %s: %w", d.Path, err)
	}
	s, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w; delete it to start over: the next cycle matches every message by identity, so nothing is copied twice", d.Path, err)
	}
	return s, nil
}

// Save replaces the file with s, atomically: a crash leaves the state before or after, never a mix.
func (d File) Save(s *State) error {
	b, err := Encode(s)
	if err != nil {
		return err
	}
	return atomicfile.Write(d.Path, b, 0o600)
}
