// Package checksums writes and reads SHA256SUMS in the format of GNU coreutils' sha256sum, so that
// `sha256sum -c SHA256SUMS` checks a downloaded release: one line per file, the hex digest, two spaces
// (text mode, which is byte-for-byte on every system that matters) and the path relative to the file.
package checksums

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// FileName is the name of the checksum file inside a release directory.
const FileName = "SHA256SUMS"

// Entry is one line: a file's path relative to the release directory, with forward slashes, and its digest.
type Entry struct {
	Path   string
	SHA256 string
}

// File returns the hex SHA-256 of the file at path.
func File(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Write computes the digest of every regular file under dir, except FileName itself, and writes them to
// dir/FileName sorted by path. Anything that is neither a regular file nor a directory is refused: a release
// has no links.
func Write(dir string) ([]Entry, error) {
	var entries []Entry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		switch {
		case d.IsDir():
			return nil
		case !d.Type().IsRegular():
			return fmt.Errorf("%s: not a regular file", path)
		case rel == FileName:
			return nil
		}
		sum, err := File(path)
		if err != nil {
			return err
		}
		entries = append(entries, Entry{Path: rel, SHA256: sum})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checksums of %s: %w", dir, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Path < entries[j].Path })
	var b strings.Builder
	for _, e := range entries {
		if strings.ContainsAny(e.Path, "\\\n\r") {
			// sha256sum would escape such a name; a release never has one.
			return nil, fmt.Errorf("checksums of %s: file name %q needs escaping", dir, e.Path)
		}
		fmt.Fprintf(&b, "%s  %s\n", e.SHA256, e.Path)
	}
	return entries, os.WriteFile(filepath.Join(dir, FileName), []byte(b.String()), 0o644)
}

// maxLines bounds what Parse reads: a release has a few dozen files.
const maxLines = 10000

// Parse reads a checksum file, refusing lines that are not "<64 hex digits>  <relative path>" (or with
// " *" for binary mode).
func Parse(r io.Reader) ([]Entry, error) {
	var entries []Entry
	sc := bufio.NewScanner(io.LimitReader(r, 4<<20))
	for n := 1; sc.Scan(); n++ {
		if n > maxLines {
			return nil, fmt.Errorf("more than %d lines", maxLines)
		}
		line := sc.Text()
		if len(line) < 67 || (line[64:66] != "  " && line[64:66] != " *") {
			return nil, fmt.Errorf("line %d: %q is not \"<sha256>  <file>\"", n, line)
		}
		sum, path := line[:64], line[66:]
		if _, err := hex.DecodeString(sum); err != nil || strings.ToLower(sum) != sum {
			return nil, fmt.Errorf("line %d: %q is not a lower-case hex SHA-256", n, sum)
		}
		if !fs.ValidPath(path) {
			return nil, fmt.Errorf("line %d: %q is not a relative path inside the release", n, path)
		}
		entries = append(entries, Entry{Path: path, SHA256: sum})
	}
	return entries, sc.Err()
}
