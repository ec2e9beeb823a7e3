package worker

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
)

// spoolBuffers recycles the in-memory part of spools: a migration spools every message, and allocating
// (and zeroing) a fresh buffer for each costs more CPU than the rest of the copy.
var spoolBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// spool holds one converted message until it is appended: in memory up to memLimit bytes, in a temporary
// file beyond, so that a 2 GB message never needs 2 GB of memory. The APPEND literal needs the size before
// the first byte, which is why the message is spooled at all.
type spool struct {
	memLimit int
	dir      string
	buf      *[]byte // from spoolBuffers, nil until the first write and after Close
	file     *os.File
	size     int64
}

func (s *spool) mem() []byte {
	if s.buf == nil {
		return nil
	}
	return *s.buf
}

func (s *spool) Write(p []byte) (int, error) {
	if s.buf == nil && s.file == nil {
		s.buf = spoolBuffers.Get().(*[]byte)
	}
	if s.file == nil && len(s.mem())+len(p) > s.memLimit {
		f, err := os.CreateTemp(s.dir, "mailshift-spool-*")
		if err != nil {
			return 0, fmt.Errorf("spool: %w", err)
		}
		// Unlinked at once: the data vanishes with the process, whatever happens.
		os.Remove(f.Name())
		if _, err := f.Write(s.mem()); err != nil {
			f.Close()
			return 0, fmt.Errorf("spool: %w", err)
		}
		s.release()
		s.file = f
	}
	var n int
	var err error
	if s.file != nil {
		n, err = s.file.Write(p)
		if err != nil {
			err = fmt.Errorf("spool: %w", err)
		}
	} else {
		*s.buf = append(*s.buf, p...)
		n = len(p)
	}
	s.size += int64(n)
	return n, err
}

// Reader reads the spooled message from its start.
func (s *spool) Reader() (io.Reader, error) {
	if s.file == nil {
		return bytes.NewReader(s.mem()), nil
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return io.LimitReader(s.file, s.size), nil
}

// Head is the message's header block (up to the first empty line, at most 64 KiB).
func (s *spool) Head() []byte {
	var b []byte
	if s.file == nil {
		b = s.mem()
	} else {
		b = make([]byte, min(s.size, 64<<10))
		n, _ := s.file.ReadAt(b, 0)
		b = b[:n]
	}
	if i := bytes.Index(b, []byte("\r\n\r\n")); i >= 0 {
		return b[:i]
	}
	return b[:min(len(b), 64<<10)]
}

// release gives the memory buffer back for the next spool.
func (s *spool) release() {
	if s.buf != nil {
		*s.buf = (*s.buf)[:0]
		spoolBuffers.Put(s.buf)
		s.buf = nil
	}
}

// Close frees the spool; its Reader must not be used afterwards.
func (s *spool) Close() error {
	s.release()
	if s.file != nil {
		err := s.file.Close()
		s.file = nil
		return err
	}
	return nil
}
