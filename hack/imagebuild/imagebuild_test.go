package imagebuild_test

import (
	"archive/tar"
	"bytes"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/mailshift/mailshift/hack/imagebuild"
)

// testOptions are the build every test shares; the version and commit are unlike anything a plain
// `go build` stamps, so finding them proves the linker flags reached both binaries.
func testOptions() imagebuild.Options {
	return imagebuild.Options{
		RepoRoot: "../..",
		Version:  "v9.8.7-imagetest.1",
		Commit:   "0123456789abcdef0123456789abcdef01234567",
		Created:  time.Date(2026, 11, 30, 12, 34, 56, 0, time.UTC),
	}
}

// The two-platform build takes minutes when the build cache is cold, so the tests share one.
var shared struct {
	once   sync.Once
	dir    string // holds the layout
	idx    v1.ImageIndex
	digest v1.Hash
	took   time.Duration
	err    error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	os.Exit(code)
}

// sharedBuild builds the image once and writes it as a layout; it returns the layout directory.
func sharedBuild(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the image for two platforms; skipped with -short")
	}
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "imagebuild-test-")
		if shared.err != nil {
			return
		}
		start := time.Now()
		shared.idx, shared.err = imagebuild.Build(context.Background(), testOptions())
		shared.took = time.Since(start)
		if shared.err != nil {
			return
		}
		if shared.digest, shared.err = shared.idx.Digest(); shared.err != nil {
			return
		}
		shared.err = imagebuild.WriteLayout(filepath.Join(shared.dir, "image"), shared.idx)
	})
	if shared.err != nil {
		t.Fatalf("build: %v", shared.err)
	}
	return filepath.Join(shared.dir, "image")
}

// platformImages reads the layout back with go-containerregistry's layout package, independently of
// imagebuild.ReadLayout, and returns the images by platform.
func platformImages(t *testing.T, dir string) (v1.ImageIndex, map[string]v1.Image) {
	t.Helper()
	outer, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	om, err := outer.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(om.Manifests) != 1 || om.Manifests[0].MediaType != types.OCIImageIndex {
		t.Fatalf("index.json: want one OCI image index entry, got %+v", om.Manifests)
	}
	if got := om.Manifests[0].Annotations["org.opencontainers.image.ref.name"]; got != testOptions().Version {
		t.Errorf("index.json ref.name = %q, want %q", got, testOptions().Version)
	}
	idx, err := outer.ImageIndex(om.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	images := map[string]v1.Image{}
	for _, d := range m.Manifests {
		if d.Platform == nil {
			t.Fatalf("index entry %s has no platform", d.Digest)
		}
		img, err := idx.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		images[d.Platform.String()] = img
	}
	return idx, images
}

func TestIndexHasBothPlatforms(t *testing.T) {
	dir := sharedBuild(t)
	idx, images := platformImages(t, dir)
	digest, err := idx.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if digest != shared.digest {
		t.Errorf("layout index digest %s, built %s", digest, shared.digest)
	}
	mt, err := idx.MediaType()
	if err != nil || mt != types.OCIImageIndex {
		t.Errorf("index media type %q (%v), want %q", mt, err, types.OCIImageIndex)
	}
	var platforms []string
	for p := range images {
		platforms = append(platforms, p)
	}
	slices.Sort(platforms)
	if want := []string{"linux/amd64", "linux/arm64"}; !slices.Equal(platforms, want) {
		t.Fatalf("platforms %v, want %v", platforms, want)
	}
	m, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range m.Manifests {
		if d.MediaType != types.OCIManifestSchema1 {
			t.Errorf("%s: manifest media type %q", d.Platform, d.MediaType)
		}
		if got := d.Annotations["org.opencontainers.image.version"]; got != testOptions().Version {
			t.Errorf("%s: version annotation %q", d.Platform, got)
		}
	}
	if got := m.Annotations["org.opencontainers.image.revision"]; got != testOptions().Commit {
		t.Errorf("index revision annotation %q, want %q", got, testOptions().Commit)
	}
	t.Logf("index digest %s; two-platform build took %s (the first build of the run)", digest, shared.took.Round(time.Millisecond))
}

func TestImageConfig(t *testing.T) {
	_, images := platformImages(t, sharedBuild(t))
	o := testOptions()
	wantLabels := map[string]string{
		"org.opencontainers.image.version":  o.Version,
		"org.opencontainers.image.revision": o.Commit,
		"org.opencontainers.image.source":   "https://github.com/mailshift/mailshift",
		"org.opencontainers.image.licenses": "Apache-2.0",
		"org.opencontainers.image.created":  "2026-11-30T12:34:56Z",
		"org.opencontainers.image.title":    "mailshift",
	}
	for p, img := range images {
		cf, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if cf.OS+"/"+cf.Architecture != p {
			t.Errorf("%s: config says %s/%s", p, cf.OS, cf.Architecture)
		}
		if cf.Config.User != "65532:65532" {
			t.Errorf("%s: user %q", p, cf.Config.User)
		}
		if !slices.Equal(cf.Config.Entrypoint, []string{"/manager"}) {
			t.Errorf("%s: entrypoint %q", p, cf.Config.Entrypoint)
		}
		if cf.Config.WorkingDir != "/" {
			t.Errorf("%s: working dir %q", p, cf.Config.WorkingDir)
		}
		if !slices.Contains(cf.Config.Env, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt") {
			t.Errorf("%s: env %q lacks SSL_CERT_FILE", p, cf.Config.Env)
		}
		for k, v := range wantLabels {
			if cf.Config.Labels[k] != v {
				t.Errorf("%s: label %s = %q, want %q", p, k, cf.Config.Labels[k], v)
			}
		}
		if !cf.Created.Time.Equal(o.Created) {
			t.Errorf("%s: created %s, want %s", p, cf.Created.Time, o.Created)
		}
		if len(cf.History) != 2 {
			t.Errorf("%s: %d history entries, want 2", p, len(cf.History))
		}
		for _, h := range cf.History {
			if !h.Created.Time.Equal(o.Created) {
				t.Errorf("%s: history %q created %s", p, h.CreatedBy, h.Created.Time)
			}
		}
		mt, err := img.MediaType()
		if err != nil || mt != types.OCIManifestSchema1 {
			t.Errorf("%s: manifest media type %q (%v)", p, mt, err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if m.Config.MediaType != types.OCIConfigJSON {
			t.Errorf("%s: config media type %q", p, m.Config.MediaType)
		}
		for _, l := range m.Layers {
			if l.MediaType != types.OCILayer {
				t.Errorf("%s: layer media type %q", p, l.MediaType)
			}
		}
	}
}

// layerFile is one tar entry of a layer, with the content of regular files.
type layerFile struct {
	hdr  *tar.Header
	data []byte
}

// readLayers returns the entries of each layer of img, in order.
func readLayers(t *testing.T, img v1.Image) [][]layerFile {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	var out [][]layerFile
	for _, l := range layers {
		rc, err := l.Uncompressed()
		if err != nil {
			t.Fatal(err)
		}
		var files []layerFile
		tr := tar.NewReader(rc)
		for {
			hdr, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(io.LimitReader(tr, 512<<20))
			if err != nil {
				t.Fatal(err)
			}
			files = append(files, layerFile{hdr: hdr, data: data})
		}
		rc.Close()
		out = append(out, files)
	}
	return out
}

func find(layer []layerFile, name string) *layerFile {
	for i := range layer {
		if layer[i].hdr.Name == name {
			return &layer[i]
		}
	}
	return nil
}

func TestImageFiles(t *testing.T) {
	_, images := platformImages(t, sharedBuild(t))
	created := testOptions().Created
	hostCA, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatal(err)
	}
	wantMachine := map[string]elf.Machine{"linux/amd64": elf.EM_X86_64, "linux/arm64": elf.EM_AARCH64}
	for p, img := range images {
		layers := readLayers(t, img)
		if len(layers) != 2 {
			t.Fatalf("%s: %d layers, want 2 (base files, binaries)", p, len(layers))
		}
		for i, layer := range layers {
			var names []string
			for _, f := range layer {
				names = append(names, f.hdr.Name)
				h := f.hdr
				if !h.ModTime.Equal(created) || !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() || len(h.PAXRecords) > 0 {
					t.Errorf("%s layer %d %s: mtime %s atime %s ctime %s pax %v; want only mtime %s",
						p, i, h.Name, h.ModTime, h.AccessTime, h.ChangeTime, h.PAXRecords, created)
				}
			}
			if !slices.IsSorted(names) {
				t.Errorf("%s layer %d: entries not sorted: %q", p, i, names)
			}
		}
		base, bins := layers[0], layers[1]

		passwd := find(base, "etc/passwd")
		if passwd == nil || !strings.Contains(string(passwd.data), "nonroot:x:65532:65532:") {
			t.Errorf("%s: /etc/passwd has no nonroot 65532 entry", p)
		}
		group := find(base, "etc/group")
		if group == nil || !strings.Contains(string(group.data), "nonroot:x:65532:") {
			t.Errorf("%s: /etc/group has no nonroot 65532 entry", p)
		}
		ca := find(base, "etc/ssl/certs/ca-certificates.crt")
		if ca == nil || !bytes.Equal(ca.data, hostCA) {
			t.Errorf("%s: /etc/ssl/certs/ca-certificates.crt missing or not the build machine's bundle", p)
		}
		if tmp := find(base, "tmp/"); tmp == nil || tmp.hdr.Mode != 0o1777 {
			t.Errorf("%s: /tmp missing or not mode 1777: %+v", p, tmp)
		}
		if home := find(base, "home/nonroot/"); home == nil || home.hdr.Uid != 65532 || home.hdr.Gid != 65532 {
			t.Errorf("%s: /home/nonroot missing or not owned by 65532", p)
		}

		for _, name := range []string{"manager", "mailshift"} {
			f := find(bins, name)
			if f == nil {
				t.Errorf("%s: no /%s", p, name)
				continue
			}
			if f.hdr.Mode != 0o755 || f.hdr.Uid != 0 || f.hdr.Gid != 0 {
				t.Errorf("%s /%s: mode %o owner %d:%d, want 0755 root", p, name, f.hdr.Mode, f.hdr.Uid, f.hdr.Gid)
			}
			checkBinary(t, p+" /"+name, f.data, wantMachine[p])
		}
	}
}

// checkBinary asserts a static, stripped ELF executable for machine with the time zone database inside.
func checkBinary(t *testing.T, what string, data []byte, machine elf.Machine) {
	t.Helper()
	ef, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Errorf("%s: not ELF: %v", what, err)
		return
	}
	if ef.Machine != machine {
		t.Errorf("%s: machine %s, want %s", what, ef.Machine, machine)
	}
	for _, prog := range ef.Progs {
		if prog.Type == elf.PT_INTERP {
			t.Errorf("%s: dynamically linked (has an interpreter); want static", what)
		}
	}
	if ef.Section(".symtab") != nil {
		t.Errorf("%s: has a symbol table; want stripped (-s)", what)
	}
	// time/tzdata embeds the zoneinfo files, each starting with the TZif magic; without it there are none.
	if n := bytes.Count(data, []byte("TZif")); n < 100 {
		t.Errorf("%s: %d TZif zone files inside; want the embedded IANA database (time/tzdata)", what, n)
	}
}

func TestBinariesRun(t *testing.T) {
	_, images := platformImages(t, sharedBuild(t))
	img := images["linux/amd64"]
	if img == nil {
		t.Fatal("no linux/amd64 image")
	}
	dir := t.TempDir()
	for _, layer := range readLayers(t, img) {
		for _, name := range []string{"manager", "mailshift"} {
			if f := find(layer, name); f != nil {
				if err := os.WriteFile(filepath.Join(dir, name), f.data, 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(filepath.Join(dir, name), 0o755); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	o := testOptions()
	run := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	out := run(filepath.Join(dir, "manager"), "--version")
	if !strings.Contains(out, o.Version) || !strings.Contains(out, o.Commit[:12]) || !strings.Contains(out, "2026-11-30T12:34:56Z") {
		t.Errorf("manager --version printed %q; want version %s, commit %s and the build date", out, o.Version, o.Commit[:12])
	}
	out = run(filepath.Join(dir, "mailshift"), "version")
	if !strings.Contains(out, o.Version) {
		t.Errorf("mailshift version printed %q; want %s", out, o.Version)
	}
}

func TestSameCommitSameDigest(t *testing.T) {
	dir := sharedBuild(t)
	start := time.Now()
	again, err := imagebuild.Build(context.Background(), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	warm := time.Since(start)
	digest, err := again.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if digest != shared.digest {
		t.Errorf("two builds of one commit: index digests %s and %s", shared.digest, digest)
	}
	t.Logf("index digest of both builds: %s and %s; first build %s, second (warm cache) %s",
		shared.digest, digest, shared.took.Round(time.Millisecond), warm.Round(time.Millisecond))

	// The layout tarball is as reproducible as the index: the shared layout and a second one written over a
	// first (replacing it) give the same bytes.
	tmp := t.TempDir()
	second := filepath.Join(tmp, "image")
	if err := imagebuild.WriteLayout(second, shared.idx); err != nil {
		t.Fatal(err)
	}
	if err := imagebuild.WriteLayout(second, again); err != nil {
		t.Fatalf("replacing a layout: %v", err)
	}
	a, b := filepath.Join(tmp, "a.oci.tar"), filepath.Join(tmp, "b.oci.tar")
	if err := imagebuild.WriteTarball(a, dir); err != nil {
		t.Fatal(err)
	}
	if err := imagebuild.WriteTarball(b, second); err != nil {
		t.Fatal(err)
	}
	ta, _ := os.ReadFile(a)
	tb, _ := os.ReadFile(b)
	if len(ta) == 0 || !bytes.Equal(ta, tb) {
		t.Errorf("layout tarballs differ (%d and %d bytes)", len(ta), len(tb))
	}
	back, err := imagebuild.ReadLayout(second)
	if err != nil {
		t.Fatal(err)
	}
	if d, _ := back.Digest(); d != shared.digest {
		t.Errorf("ReadLayout of the replaced layout: digest %s, want %s", d, shared.digest)
	}
}

func TestPushToLocalRegistry(t *testing.T) {
	dir := sharedBuild(t)
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	idx, err := imagebuild.ReadLayout(dir)
	if err != nil {
		t.Fatal(err)
	}
	ref := host + "/mailshift/mailshift:" + testOptions().Version
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := imagebuild.Push(ctx, idx, ref); err != nil {
		t.Fatal(err)
	}
	r, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	pulled, err := remote.Index(r, remote.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	digest, err := pulled.Digest()
	if err != nil {
		t.Fatal(err)
	}
	if digest != shared.digest {
		t.Errorf("registry serves %s as %s, built %s", ref, digest, shared.digest)
	}
	// A node pulls its platform's image by the index; its config must arrive intact.
	amd64, err := remote.Image(r, remote.WithContext(ctx), remote.WithPlatform(v1.Platform{OS: "linux", Architecture: "amd64"}))
	if err != nil {
		t.Fatal(err)
	}
	cf, err := amd64.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Architecture != "amd64" || cf.Config.User != "65532:65532" {
		t.Errorf("pulled linux/amd64 config: arch %s user %s", cf.Architecture, cf.Config.User)
	}
}

func TestPushRejectsBadReference(t *testing.T) {
	err := imagebuild.Push(context.Background(), nil, "127.0.0.1:1/UPPER/case")
	if err == nil || !strings.Contains(err.Error(), "image reference") {
		t.Errorf("Push with an invalid reference: %v, want an image reference error", err)
	}
}

func TestBuildRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(*imagebuild.Options)
		want   string
	}{
		{"windows", func(o *imagebuild.Options) { o.Platforms = []string{"windows/amd64"} }, "only linux"},
		{"unknown arch", func(o *imagebuild.Options) { o.Platforms = []string{"linux/mips"} }, `architecture "mips"`},
		{"no arch", func(o *imagebuild.Options) { o.Platforms = []string{"linux"} }, "want os/arch"},
		{"twice", func(o *imagebuild.Options) { o.Platforms = []string{"linux/arm64/v8", "linux/arm64"} }, "listed twice"},
		{"variant", func(o *imagebuild.Options) { o.Platforms = []string{"linux/amd64/v3"} }, "takes no variant"},
		{"space in version", func(o *imagebuild.Options) { o.Version = "v1 -X main.x=y" }, "version"},
		{"quote in version", func(o *imagebuild.Options) { o.Version = `v1"` }, "version"},
		{"commit", func(o *imagebuild.Options) { o.Commit = "HEAD" }, "commit"},
		{"source", func(o *imagebuild.Options) { o.Source = "https://x y" }, "source"},
		{"repo root", func(o *imagebuild.Options) { o.RepoRoot = t.TempDir() }, "no go.mod"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions()
			tc.change(&o)
			start := time.Now()
			_, err := imagebuild.Build(context.Background(), o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Build: %v, want an error containing %q", err, tc.want)
			}
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("rejecting bad options took %s; want it before any compiler runs", d)
			}
		})
	}
}

func TestSourceDateEpoch(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	got, err := imagebuild.SourceDateEpoch(t.TempDir())
	if err != nil || !got.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("SOURCE_DATE_EPOCH=1700000000: %s, %v", got, err)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	if _, err := imagebuild.SourceDateEpoch(t.TempDir()); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("SOURCE_DATE_EPOCH=yesterday: %v, want an error naming it", err)
	}

	t.Setenv("SOURCE_DATE_EPOCH", "")
	if _, err := imagebuild.SourceDateEpoch(t.TempDir()); err == nil {
		t.Error("outside a Git checkout: no error")
	}
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("no git")
	}
	repo := t.TempDir()
	gitEnv := append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.org", "GIT_COMMITTER_NAME=t",
		"GIT_COMMITTER_EMAIL=t@example.org", "GIT_AUTHOR_DATE=@1500000000 +0000", "GIT_COMMITTER_DATE=@1600000000 +0200")
	for _, args := range [][]string{{"init", "-q"}, {"commit", "-q", "--allow-empty", "-m", "c"}} {
		cmd := exec.Command("git", append([]string{"-C", repo}, args...)...)
		cmd.Env = gitEnv
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	got, err = imagebuild.SourceDateEpoch(repo)
	if err != nil || !got.Equal(time.Unix(1600000000, 0)) {
		t.Errorf("commit time: %s, %v; want the committer time %s", got, err, time.Unix(1600000000, 0).UTC())
	}
}

func TestWriteLayoutKeepsOtherDirectories(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(keep, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	err := imagebuild.WriteLayout(dir, nil)
	if err == nil || !strings.Contains(err.Error(), "not an OCI image layout") {
		t.Errorf("WriteLayout over a directory of other files: %v, want a refusal", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("the directory's file is gone: %v", err)
	}
}

func ExampleBuild() {
	o := imagebuild.Options{RepoRoot: ".", Version: "v0.2.0", Commit: "1a2b3c4d"}
	idx, err := imagebuild.Build(context.Background(), o)
	if err != nil {
		fmt.Println(err)
		return
	}
	_ = imagebuild.WriteLayout("dist/image", idx)
	_ = imagebuild.WriteTarball("dist/mailshift-image.oci.tar", "dist/image")
}
