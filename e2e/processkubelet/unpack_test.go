package processkubelet

import (
	"archive/tar"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// tarEntry is one entry of a test layer: a regular file unless typ says otherwise.
type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
}

func layerTar(t *testing.T, entries ...tarEntry) *bytes.Reader {
	t.Helper()
	b, err := buildTar(entries)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func buildTar(entries []tarEntry) ([]byte, error) {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.link, Mode: e.mode}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if h.Typeflag == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func newUnpacker(t *testing.T) *unpacker {
	root := filepath.Join(t.TempDir(), "rootfs")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	return &unpacker{root: root, limit: 1 << 20}
}

func readIn(t *testing.T, root, name string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if errors.Is(err, os.ErrNotExist) {
		return "", false
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

func TestUnpackLayersInOrderWithWhiteouts(t *testing.T) {
	u := newUnpacker(t)
	layers := [][]tarEntry{
		{
			{name: "etc/", typ: tar.TypeDir},
			{name: "etc/keep", body: "lower"},
			{name: "etc/gone", body: "lower"},
			{name: "opaque/", typ: tar.TypeDir},
			{name: "opaque/lower", body: "lower"},
			{name: "opaque/sub/lower", body: "lower"}, // parent directories implied
			{name: "bin/prog", body: "v1", mode: 0o755},
			{name: "bin/alias", typ: tar.TypeLink, link: "bin/prog"},
			{name: "lib", typ: tar.TypeSymlink, link: "usr/lib"},
			{name: "usr/lib/libx", body: "x"},
		},
		{
			{name: "etc/.wh.gone"},
			{name: "opaque/upper", body: "upper"},
			{name: "opaque/.wh..wh..opq"},
			{name: "opaque/sub/", typ: tar.TypeDir},
			{name: "opaque/sub/upper", body: "upper"},
			{name: "./bin/prog", body: "v2", mode: 0o755},
			{name: "/abs/file", body: "abs"}, // a leading slash is from the root, not from the host's
		},
	}
	for i, l := range layers {
		if err := u.applyLayer(layerTar(t, l...)); err != nil {
			t.Fatalf("layer %d: %v", i+1, err)
		}
	}
	for name, want := range map[string]string{
		"etc/keep": "lower", "opaque/upper": "upper", "opaque/sub/upper": "upper", "bin/prog": "v2",
		"bin/alias": "v1", "lib/libx": "x", "abs/file": "abs",
	} {
		if got, ok := readIn(t, u.root, name); !ok || got != want {
			t.Errorf("%s = %q (present %v), want %q", name, got, ok, want)
		}
	}
	for _, name := range []string{"etc/gone", "opaque/lower", "opaque/sub/lower"} {
		if _, ok := readIn(t, u.root, name); ok {
			t.Errorf("%s survived its whiteout", name)
		}
	}
	if fi, err := os.Stat(filepath.Join(u.root, "bin/prog")); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Errorf("bin/prog lost its mode: %v %v", fi, err)
	}
}

func TestUnpackRefusesEscapes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		layers [][]tarEntry
		want   string
	}{
		{"dot-dot entry", [][]tarEntry{{{name: "../x", body: "pwned"}}}, "escapes"},
		{"dot-dot inside entry", [][]tarEntry{{{name: "a/../../x", body: "pwned"}}}, "escapes"},
		{"relative symlink climbing out", [][]tarEntry{
			{{name: "link", typ: tar.TypeSymlink, link: "../../../../../../.."}},
			{{name: "link/x", body: "pwned"}}}, "escapes"},
		{"symlink chain climbing out", [][]tarEntry{{
			{name: "a/b", typ: tar.TypeSymlink, link: "../c"},
			{name: "c", typ: tar.TypeSymlink, link: "../out"},
			{name: "a/b/x", body: "pwned"}}}, "escapes"},
		{"hard link with dot-dot", [][]tarEntry{{{name: "x", typ: tar.TypeLink, link: "../../etc/passwd"}}}, "escapes"},
		{"hard link through an escaping symlink", [][]tarEntry{{
			{name: "up", typ: tar.TypeSymlink, link: "../.."},
			{name: "x", typ: tar.TypeLink, link: "up/etc/passwd"}}}, "escapes"},
		{"symlink loop", [][]tarEntry{{
			{name: "a", typ: tar.TypeSymlink, link: "b"},
			{name: "b", typ: tar.TypeSymlink, link: "a"},
			{name: "a/x", body: "x"}}}, "too many levels"},
		{"whiteout of the parent", [][]tarEntry{{{name: "etc/.wh..."}}}, "escapes"},
		{"whiteout of the root", [][]tarEntry{{{name: ".wh.."}}}, "escapes"},
		{"too large", [][]tarEntry{{{name: "big", body: strings.Repeat("x", 1<<20+1)}}}, "more than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUnpacker(t)
			var err error
			for _, l := range tc.layers {
				if err = u.applyLayer(layerTar(t, l...)); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			// Nothing may appear next to the root filesystem (its parent is the test's own directory).
			ents, _ := os.ReadDir(filepath.Dir(u.root))
			for _, e := range ents {
				if e.Name() != "rootfs" {
					t.Errorf("unpack wrote %s outside the root filesystem", e.Name())
				}
			}
		})
	}
}

// An absolute symlink is followed inside the root filesystem, and an entry replaces a symlink at its path
// instead of writing through it: the host's files stay untouched either way.
func TestUnpackAbsoluteSymlinksStayInside(t *testing.T) {
	host := t.TempDir()
	victim := filepath.Join(host, "victim")
	if err := os.WriteFile(victim, []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	u := newUnpacker(t)
	layers := [][]tarEntry{
		{
			{name: "hostdir", typ: tar.TypeSymlink, link: host},
			{name: "victim", typ: tar.TypeSymlink, link: victim},
		},
		{
			{name: "hostdir/planted", body: "pwned"},
			{name: "victim", body: "replaced"},
		},
	}
	for i, l := range layers {
		if err := u.applyLayer(layerTar(t, l...)); err != nil {
			t.Fatalf("layer %d: %v", i+1, err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "host" {
		t.Errorf("host file written through a symlink: %q", b)
	}
	if _, err := os.Stat(filepath.Join(host, "planted")); err == nil {
		t.Error("file planted in the host directory through an absolute symlink")
	}
	if got, ok := readIn(t, u.root, strings.TrimPrefix(host, "/")+"/planted"); !ok || got != "pwned" {
		t.Errorf("the absolute symlink was not followed inside the root filesystem: %q %v", got, ok)
	}
	if got, _ := readIn(t, u.root, "victim"); got != "replaced" {
		t.Errorf("victim = %q, want the regular file that replaced the symlink", got)
	}
}

func TestResolveInRoot(t *testing.T) {
	root := t.TempDir()
	for _, l := range [][2]string{{"bin", "usr/bin"}, {"usr/bin/sh", "/usr/bin/busybox"}, {"usr/abs", "/etc"}} {
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(l[0])), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(l[1], filepath.Join(root, l[0])); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		in         string
		followLast bool
		want       string
	}{
		{"/bin/sh", true, "usr/bin/busybox"},
		{"/bin/sh", false, "usr/bin/sh"},
		{"usr/abs/passwd", true, "etc/passwd"},
		{"/", true, ""},
		{"/missing/x", true, "missing/x"},
	} {
		got, err := resolveInRoot(root, tc.in, tc.followLast)
		if err != nil || got != filepath.Join(root, tc.want) {
			t.Errorf("resolveInRoot(%q, %v) = %q, %v; want %q", tc.in, tc.followLast, got, err, filepath.Join(root, tc.want))
		}
	}
	if _, err := resolveInRoot(root, "/../etc", true); !errors.Is(err, errEscape) {
		t.Errorf("/../etc: err = %v, want errEscape", err)
	}
}

// FuzzUnpack applies layers described line by line ("<type> <name> [<link target>]", type f, d, l (symlink),
// h (hard link) or w (whiteout of name); "-" starts the next layer) and checks that, whatever is refused,
// nothing appears outside the root filesystem. Absolute link targets are placed in the directory around the
// root filesystem, so that following one on the host instead of inside the root would be seen there.
func FuzzUnpack(f *testing.F) {
	for _, seed := range []string{
		"d etc\nf etc/passwd\nl lib usr/lib\nf lib/x\n-\nw etc/passwd\nh bin/sh lib/x",
		"l link ../..\n-\nf link/x",
		"l abs /\nf abs/x\nl a b\nl b a\nf a/y",
		"d opaque\nf opaque/lower\n-\nw opaque/.wh..opq\nf opaque/upper\nf ./././../x",
		"h x ../../etc/passwd\nl up ..\nh y up/z",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		outer := t.TempDir()
		root := filepath.Join(outer, "rootfs")
		if err := os.Mkdir(root, 0o755); err != nil {
			t.Fatal(err)
		}
		u := &unpacker{root: root, limit: 1 << 16}
		var layer []tarEntry
		apply := func() {
			if b, err := buildTar(layer); err == nil && len(layer) > 0 {
				_ = u.applyLayer(bytes.NewReader(b))
			}
			layer = nil
		}
		for _, line := range strings.Split(spec, "\n") {
			if line == "-" {
				apply()
				continue
			}
			fields := strings.Fields(line)
			if len(fields) < 2 || len(fields[1]) > 200 {
				continue
			}
			e := tarEntry{name: fields[1]}
			if len(fields) > 2 {
				e.link = fields[2]
				if strings.HasPrefix(e.link, "/") {
					e.link = filepath.Join(outer, e.link)
				}
			}
			switch fields[0] {
			case "f":
				e.body = "x"
			case "d":
				e.typ = tar.TypeDir
			case "l":
				e.typ = tar.TypeSymlink
			case "h":
				e.typ = tar.TypeLink
				e.link = strings.TrimPrefix(e.link, outer) // hard links name archive paths
			case "w":
				e.name = filepath.Join(filepath.Dir(e.name), ".wh."+filepath.Base(e.name))
			default:
				continue
			}
			layer = append(layer, e)
		}
		apply()
		ents, err := os.ReadDir(outer)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			if e.Name() != "rootfs" {
				t.Fatalf("unpacking wrote %s outside the root filesystem", e.Name())
			}
		}
	})
}
