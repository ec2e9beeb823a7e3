package main

import (
	"io"
	"os"
)

// spillBuffer holds one mbox item while it is converted: in memory up to limit bytes, and in a scratch file
// in dir (made at the first item that needs it, reused after) beyond that, so that memory stays bounded
// whatever the size of an item. Most items fit in memory: a scratch file written, read back and truncated
// for every item cost more kernel time than the conversion of a small item.
type spillBuffer struct {
	dir    string
	limit  int
	mem    []byte
	file   *os.File
	inFile bool // the current item is in file (mem was moved there)
}

// reset empties the buffer for the next item.
func (s *spillBuffer) reset() error {
	s.mem = s.mem[:0]
	if !s.inFile {
		return nil
	}
	s.inFile = false
	if err := s.file.Truncate(0); err != nil {
		return err
	}
	_, err := s.file.Seek(0, io.SeekStart)
	return err
}

func (s *spillBuffer) Write(p []byte) (int, error) {
	if !s.inFile && len(s.mem)+len(p) <= s.limit {
		s.mem = append(s.mem, p...)
		return len(p), nil
	}
	if !s.inFile {
		if s.file == nil {
			f, err := os.CreateTemp(s.dir, ".mbox-item-*")
			if err != nil {
				return 0, err
			}
			s.file = f
		}
		if _, err := s.file.Write(s.mem); err != nil {
			return 0, err
		}
		s.mem = s.mem[:0]
		s.inFile = true
	}
	return s.file.Write(p)
}

// WriteTo writes the item held to w.
func (s *spillBuffer) WriteTo(w io.Writer) (int64, error) {
	if !s.inFile {
		n, err := w.Write(s.mem)
		return int64(n), err
	}
	if _, err := s.file.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return io.Copy(w, struct{ io.Reader }{s.file}) // not os.File's WriteTo, which would call this one back
}

// close removes the scratch file, if one was made.
func (s *spillBuffer) close() {
	if s.file != nil {
		s.file.Close()
		os.Remove(s.file.Name())
	}
}
