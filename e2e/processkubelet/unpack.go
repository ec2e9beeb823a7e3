package processkubelet

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
)

// Limits of one image's unpacked root filesystem: a registry is outside input, even on loopback.
const (
	defaultMaxImageBytes = 2 << 30 // regular-file bytes, all layers together
	maxImageEntries      = 1 << 20 // tar entries, all layers together
	maxSymlinkHops       = 40      // as Linux's ELOOP limit
)

// errEscape marks an entry or path that would leave the root filesystem.
var errEscape = errors.New("escapes the root filesystem")

// unpacker applies image layers, in order, to a root filesystem directory the way a container runtime's
// snapshotter does (OCI image spec, "Applying Changesets": whiteouts, opaque directories, later layers
// replacing earlier entries), but never writes outside the directory: an entry name with a ".." component is
// refused, symbolic links met while resolving an entry's parent directory or a hard link's target are followed
// with the root filesystem as "/" (an absolute target never reaches the host's files) and refused when they
// climb above it. Ownership, devices, FIFOs and extended attributes are not reproduced: the processes run as
// the kubelet's own user.
type unpacker struct {
	root    string // absolute and clean; exists
	limit   int64  // maximum regular-file bytes
	written int64
	entries int
}

// applyLayer applies one layer's uncompressed tar stream.
func (u *unpacker) applyLayer(r io.Reader) error {
	tr := tar.NewReader(r)
	added := map[string]bool{} // host paths this layer created, kept by an opaque whiteout of their parent
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read layer: %w", err)
		}
		if u.entries++; u.entries > maxImageEntries {
			return fmt.Errorf("image has more than %d files", maxImageEntries)
		}
		if err := u.apply(hdr, tr, added); err != nil {
			return fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
}

// entryName turns a tar entry name into a clean slash path relative to the root ("" for the root itself).
func entryName(name string) (string, error) {
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", fmt.Errorf("path has a \"..\" component: %w", errEscape)
		}
	}
	clean := path.Clean("/" + name)
	return strings.TrimPrefix(clean, "/"), nil
}

func (u *unpacker) apply(hdr *tar.Header, r io.Reader, added map[string]bool) error {
	name, err := entryName(hdr.Name)
	if err != nil {
		return err
	}
	if name == "" {
		return nil // the root directory itself
	}
	dir, base := path.Split(name)
	parent, err := resolveInRoot(u.root, dir, true)
	if err != nil {
		return err
	}
	dst := filepath.Join(parent, base)

	if strings.HasPrefix(base, ".wh.") { // whiteouts only remove; a missing parent has nothing to remove
		if base == ".wh..wh..opq" {
			return removeLower(parent, added)
		}
		victim := strings.TrimPrefix(base, ".wh.")
		if victim == "" || victim == "." || victim == ".." {
			return fmt.Errorf("whiteout of %q: %w", victim, errEscape) // would remove the directory itself or its parent
		}
		if err := os.RemoveAll(filepath.Join(parent, victim)); err != nil {
			return fmt.Errorf("whiteout: %w", err)
		}
		return nil
	}

	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink, tar.TypeLink: // tar.Reader turns the legacy TypeRegA into these
	default:
		return nil // devices, FIFOs and the like need privileges and no test program uses them
	}
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return err
	}
	perm := os.FileMode(hdr.Mode).Perm()
	existing, err := os.Lstat(dst)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if hdr.Typeflag == tar.TypeDir {
		// An existing directory stays (with its lower contents); anything else in the way goes.
		if existing != nil && !existing.IsDir() {
			if err := os.Remove(dst); err != nil {
				return err
			}
			existing = nil
		}
		if existing == nil {
			if err := os.Mkdir(dst, perm|0o700); err != nil {
				return err
			}
		} else if err := os.Chmod(dst, perm|0o700); err != nil {
			return err
		}
		added[dst] = true
		return nil
	}
	// Every other type replaces what is there without following it: a symlink at dst is removed, not written
	// through.
	if existing != nil {
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
	}
	added[dst] = true
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		return os.Symlink(hdr.Linkname, dst)
	case tar.TypeLink:
		target, err := entryName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		if target == "" {
			return fmt.Errorf("hard link to the root directory")
		}
		tdir, tbase := path.Split(target)
		tparent, err := resolveInRoot(u.root, tdir, true)
		if err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		src := filepath.Join(tparent, tbase)
		fi, err := os.Lstat(src)
		if err != nil {
			return fmt.Errorf("hard link to %q: target not in an earlier entry: %w", hdr.Linkname, err)
		}
		if fi.IsDir() {
			return fmt.Errorf("hard link to %q: target is a directory", hdr.Linkname)
		}
		return os.Link(src, dst)
	}
	// A regular file.
	if hdr.Size < 0 || hdr.Size > u.limit-u.written {
		return fmt.Errorf("image unpacks to more than %d bytes (the limit of processkubelet's image store)", u.limit)
	}
	f, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, perm|0o600)
	if err != nil {
		return err
	}
	n, err := io.CopyN(f, r, hdr.Size)
	u.written += n
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// removeLower empties dir of everything the current layer did not add (an opaque whiteout). A directory the
// layer added again keeps what the layer put in it but loses what lower layers had there.
func removeLower(dir string, added map[string]bool) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("opaque whiteout: %w", err)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		switch {
		case !added[p]:
			if err := os.RemoveAll(p); err != nil {
				return fmt.Errorf("opaque whiteout: %w", err)
			}
		case e.IsDir():
			if err := removeLower(p, added); err != nil {
				return err
			}
		}
	}
	return nil
}

// resolveInRoot maps a path inside the root filesystem (slash-separated; absolute or relative, both from the
// root) to a host path under root, following symbolic links as a process chrooted to root would: an absolute
// link target starts again at root. A ".." that would climb above root is refused with errEscape. The last
// component is followed only when followLast is set. Components that do not exist are taken as they are.
func resolveInRoot(root, name string, followLast bool) (string, error) {
	rest := strings.Split(name, "/")
	var cur []string
	hops := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(cur) == 0 {
				return "", fmt.Errorf("%q: %w", name, errEscape)
			}
			cur = cur[:len(cur)-1]
			continue
		}
		p := filepath.Join(root, filepath.Join(cur...), c)
		fi, err := os.Lstat(p)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		last := len(strings.Join(rest, "")) == 0
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 || (last && !followLast) {
			cur = append(cur, c)
			continue
		}
		if hops++; hops > maxSymlinkHops {
			return "", fmt.Errorf("%q: too many levels of symbolic links", name)
		}
		target, err := os.Readlink(p)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			cur = nil
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return filepath.Join(append([]string{root}, cur...)...), nil
}
