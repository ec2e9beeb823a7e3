package processkubelet_test

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// progSource is the program the test images run: it prints what it was started with as one JSON line and
// exits with $EXIT_CODE.
const progSource = `package main

import (
	"encoding/json"
	"os"
	"strconv"
)

func main() {
	wd, _ := os.Getwd()
	env := map[string]string{}
	for _, k := range []string{"GREETING", "SHARED", "PLATFORM", "VERSION"} {
		if v, ok := os.LookupEnv(k); ok {
			env[k] = v
		}
	}
	_ = json.NewEncoder(os.Stdout).Encode(map[string]any{"argv0": os.Args[0], "args": os.Args[1:], "env": env, "wd": wd})
	if c := os.Getenv("EXIT_CODE"); c != "" {
		n, _ := strconv.Atoi(c)
		os.Exit(n)
	}
}
`

type progOutput struct {
	Argv0 string            `json:"argv0"`
	Args  []string          `json:"args"`
	Env   map[string]string `json:"env"`
	Wd    string            `json:"wd"`
}

var (
	progOnce sync.Once
	progBin  []byte
	progErr  error
	regOnce  sync.Once
	regHost  string // 127.0.0.1:PORT of the test registry
)

// prog compiles progSource once: a static executable, as images carry them.
func prog(t *testing.T) []byte {
	t.Helper()
	progOnce.Do(func() {
		dir, err := os.MkdirTemp("", "processkubelet-prog-")
		if err != nil {
			progErr = err
			return
		}
		defer os.RemoveAll(dir)
		if err := os.WriteFile(filepath.Join(dir, "main.go"), []byte(progSource), 0o644); err != nil {
			progErr = err
			return
		}
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module prog\n\ngo 1.22\n"), 0o644); err != nil {
			progErr = err
			return
		}
		cmd := exec.Command("go", "build", "-o", "prog", ".")
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOWORK=off")
		if out, err := cmd.CombinedOutput(); err != nil {
			progErr = fmt.Errorf("build the test program: %v\n%s", err, out)
			return
		}
		progBin, progErr = os.ReadFile(filepath.Join(dir, "prog"))
	})
	if progErr != nil {
		t.Fatal(progErr)
	}
	return progBin
}

// testRegistry serves go-containerregistry's registry on 127.0.0.1 for the whole package.
func testRegistry(t *testing.T) string {
	t.Helper()
	regOnce.Do(func() {
		srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
		regHost = strings.TrimPrefix(srv.URL, "http://")
		prev := stopAll
		stopAll = func() { prev(); srv.Close() }
	})
	return regHost
}

// file is one entry of a test layer: a regular file unless typ says otherwise.
type file struct {
	name, link string
	body       []byte
	typ        byte
	mode       int64
}

func layer(t *testing.T, files ...file) v1.Layer {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{Name: f.name, Typeflag: f.typ, Linkname: f.link, Mode: f.mode, Size: int64(len(f.body))}
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(f.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	l, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b.Bytes())), nil })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// progImage is an image with the test program at /bin/prog, then the extra layers, with cfg as its config.
func progImage(t *testing.T, arch string, cfg v1.Config, extra ...v1.Layer) v1.Image {
	t.Helper()
	img, err := mutate.AppendLayers(empty.Image, append([]v1.Layer{layer(t,
		file{name: "bin/", typ: tar.TypeDir, mode: 0o755},
		file{name: "bin/prog", body: prog(t), mode: 0o755})}, extra...)...)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Config = "linux", arch, cfg
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	return img
}

// push writes img (a v1.Image or v1.ImageIndex) to the test registry as repo:tag and returns the reference
// and the digest it has there.
func push(t *testing.T, repo, tag string, img any) (string, v1.Hash) {
	t.Helper()
	ref := testRegistry(t) + "/" + repo + ":" + tag
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	var d v1.Hash
	switch img := img.(type) {
	case v1.Image:
		err = remote.Write(r, img)
		if err == nil {
			d, err = img.Digest()
		}
	case v1.ImageIndex:
		err = remote.WriteIndex(r, img)
		if err == nil {
			d, err = img.Digest()
		}
	}
	if err != nil {
		t.Fatalf("push %s: %v", ref, err)
	}
	return ref, d
}

func imagePod(ns, podName string, c corev1.Container, sc *corev1.PodSecurityContext) *corev1.Pod {
	c.Name = "c"
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: podName},
		Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever, SecurityContext: sc,
			Containers: []corev1.Container{c}},
	}
}

// finished waits for the Pod to succeed or fail and returns it.
func finished(ctx context.Context, t *testing.T, ns, podName string) *corev1.Pod {
	t.Helper()
	c, _ := shared(t)
	var p corev1.Pod
	eventually(ctx, t, 40*time.Second, "pod "+podName+" to finish", func() (bool, string) {
		if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: podName}, &p); err != nil {
			return false, err.Error()
		}
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, dump(p.Status)
	})
	return &p
}

// output is what the test program printed in the Pod's container "c".
func output(t *testing.T, ns, podName string) progOutput {
	t.Helper()
	_, k := shared(t)
	b, err := os.ReadFile(k.LogPath(ns, podName, "c"))
	if err != nil {
		t.Fatal(err)
	}
	var out progOutput
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("pod %s printed %q: %v", podName, b, err)
	}
	return out
}

// waiting waits until the Pod's container waits with reason and a message containing want.
func waiting(ctx context.Context, t *testing.T, ns, podName, reason, want string) *corev1.ContainerStateWaiting {
	t.Helper()
	c, _ := shared(t)
	var p corev1.Pod
	eventually(ctx, t, 30*time.Second, fmt.Sprintf("pod %s waiting with %s", podName, reason), func() (bool, string) {
		if err := c.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: podName}, &p); err != nil {
			return false, err.Error()
		}
		st := p.Status.ContainerStatuses
		return len(st) == 1 && st[0].State.Waiting != nil && st[0].State.Waiting.Reason == reason &&
			strings.Contains(st[0].State.Waiting.Message, want), dump(p.Status)
	})
	return p.Status.ContainerStatuses[0].State.Waiting
}

// The image's Entrypoint, Cmd, Env, WorkingDir and User, and the Pod's command and args over them, as a
// runtime applies them; the status names the image and its digest.
func TestImageEntrypointCmdEnv(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ns := namespace(ctx, t)
	img := progImage(t, runtime.GOARCH, v1.Config{
		Entrypoint: []string{"/bin/prog", "ep"}, Cmd: []string{"cmd"},
		Env:        []string{"GREETING=from-image", "SHARED=image", "PATH=/usr/bin:/bin"},
		WorkingDir: "/work", User: "65532",
	})
	ref, digest := push(t, "prog", "v1", img)
	nonRoot := &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)} // the image's user 65532 passes
	podEnv := []corev1.EnvVar{{Name: "SHARED", Value: "pod"}}
	cases := []struct {
		name      string
		container corev1.Container
		argv0     string
		args      []string
	}{
		{"defaults", corev1.Container{}, "/bin/prog", []string{"ep", "cmd"}},
		{"args", corev1.Container{Args: []string{"a1", "$(GREETING)"}}, "/bin/prog", []string{"ep", "a1", "from-image"}},
		{"command", corev1.Container{Command: []string{"/bin/prog", "c1"}}, "/bin/prog", []string{"c1"}},
		{"command-args", corev1.Container{Command: []string{"prog", "c1"}, Args: []string{"a1"}}, "prog", []string{"c1", "a1"}},
	}
	for _, tc := range cases {
		ctr := tc.container
		ctr.Image, ctr.Env = ref, podEnv
		create(ctx, t, imagePod(ns, tc.name, ctr, nonRoot))
	}
	create(ctx, t,
		imagePod(ns, "exit", corev1.Container{Image: ref, Env: []corev1.EnvVar{{Name: "EXIT_CODE", Value: "3"}}}, nil),
		imagePod(ns, "no-exe", corev1.Container{Image: ref, Command: []string{"/bin/nope"}}, nil))

	for _, tc := range cases {
		p := finished(ctx, t, ns, tc.name)
		if p.Status.Phase != corev1.PodSucceeded {
			t.Errorf("%s: phase %s\n%s", tc.name, p.Status.Phase, dump(p.Status))
			continue
		}
		out := output(t, ns, tc.name)
		if out.Argv0 != tc.argv0 || strings.Join(out.Args, " ") != strings.Join(tc.args, " ") {
			t.Errorf("%s: argv0 %q args %q, want %q %q", tc.name, out.Argv0, out.Args, tc.argv0, tc.args)
		}
		if out.Env["GREETING"] != "from-image" || out.Env["SHARED"] != "pod" {
			t.Errorf("%s: env %v, want GREETING from the image and SHARED from the Pod", tc.name, out.Env)
		}
		if !strings.HasSuffix(out.Wd, "/rootfs/work") {
			t.Errorf("%s: working directory %s, want the image's /work inside its root filesystem", tc.name, out.Wd)
		}
		st := p.Status.ContainerStatuses[0]
		if st.Image != ref || st.ImageID != testRegistry(t)+"/prog@"+digest.String() {
			t.Errorf("%s: image %q imageID %q, want %q and the pushed digest %s", tc.name, st.Image, st.ImageID, ref, digest)
		}
	}
	p := finished(ctx, t, ns, "exit")
	if term := p.Status.ContainerStatuses[0].State.Terminated; p.Status.Phase != corev1.PodFailed || term == nil ||
		term.ExitCode != 3 || term.Reason != "Error" {
		t.Errorf("exit: want Failed with exit code 3\n%s", dump(p.Status))
	}
	p = finished(ctx, t, ns, "no-exe")
	if term := p.Status.ContainerStatuses[0].State.Terminated; term == nil || term.Reason != "StartError" ||
		term.ExitCode != 128 || !strings.Contains(term.Message, `exec: "/bin/nope"`) {
		t.Errorf("no-exe: want StartError for the missing executable\n%s", dump(p.Status))
	}
}

// From an image index the kubelet runs the image of its own platform, whatever the order.
func TestImageIndexPlatform(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ns := namespace(ctx, t)
	other := "arm64"
	if runtime.GOARCH == "arm64" {
		other = "amd64"
	}
	add := func(arch, platform string) mutate.IndexAddendum {
		return mutate.IndexAddendum{
			Add:        progImage(t, arch, v1.Config{Entrypoint: []string{"/bin/prog"}, Env: []string{"PLATFORM=" + platform}}),
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		}
	}
	ref, digest := push(t, "multi", "v1", mutate.AppendManifests(empty.Index, add(other, "other"), add(runtime.GOARCH, "native")))
	otherOnly, _ := push(t, "multi", "other-only", mutate.AppendManifests(empty.Index, add(other, "other")))
	create(ctx, t, imagePod(ns, "multi", corev1.Container{Image: ref}, nil),
		imagePod(ns, "other-only", corev1.Container{Image: otherOnly}, nil))

	p := finished(ctx, t, ns, "multi")
	if out := output(t, ns, "multi"); out.Env["PLATFORM"] != "native" {
		t.Errorf("ran the image with PLATFORM=%q, want the linux/%s one (native)", out.Env["PLATFORM"], runtime.GOARCH)
	}
	if id := p.Status.ContainerStatuses[0].ImageID; id != testRegistry(t)+"/multi@"+digest.String() {
		t.Errorf("imageID %q, want the index's digest %s", id, digest)
	}
	waiting(ctx, t, ns, "other-only", "ErrImagePull", "no image for linux/"+runtime.GOARCH)
}

// A missing tag is ErrImagePull, then ImagePullBackOff, retried until the image appears; a registry off
// loopback, an unparsable name and pull policy Never without a pulled image fail as the kubelet's do.
func TestImagePullFailures(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ns := namespace(ctx, t)
	lateImage := progImage(t, runtime.GOARCH, v1.Config{Entrypoint: []string{"/bin/prog"}})
	push(t, "late", "v0", lateImage) // the repository exists, the tag not yet
	late := testRegistry(t) + "/late:v1"
	create(ctx, t,
		imagePod(ns, "late", corev1.Container{Image: late}, nil),
		imagePod(ns, "remote", corev1.Container{Image: "registry.example.com/mailshift/x:v1"}, nil),
		imagePod(ns, "bad-name", corev1.Container{Image: testRegistry(t) + "/Bad:v1"}, nil),
		imagePod(ns, "never", corev1.Container{Image: testRegistry(t) + "/never:v1", ImagePullPolicy: corev1.PullNever}, nil))

	waiting(ctx, t, ns, "late", "ErrImagePull", "MANIFEST_UNKNOWN")
	w := waiting(ctx, t, ns, "late", "ImagePullBackOff", `Back-off pulling image "`+late+`": ErrImagePull: `)
	if !strings.Contains(w.Message, "MANIFEST_UNKNOWN") {
		t.Errorf("ImagePullBackOff message %q lacks the pull's error", w.Message)
	}
	waiting(ctx, t, ns, "remote", "ErrImagePull", `registry "registry.example.com" is not on loopback`)
	waiting(ctx, t, ns, "bad-name", "InvalidImageName", "couldn't parse image name")
	waiting(ctx, t, ns, "never", "ErrImageNeverPull", "is not present with pull policy of Never")

	push(t, "late", "v1", lateImage)
	if p := finished(ctx, t, ns, "late"); p.Status.Phase != corev1.PodSucceeded {
		t.Errorf("late: phase %s after the image was pushed\n%s", p.Status.Phase, dump(p.Status))
	}
}

// IfNotPresent keeps the digest a tag resolved to; Always resolves the tag again.
func TestImagePullPolicy(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ns := namespace(ctx, t)
	version := func(v string) v1.Image {
		return progImage(t, runtime.GOARCH, v1.Config{Entrypoint: []string{"/bin/prog"}, Env: []string{"VERSION=" + v}})
	}
	ref, _ := push(t, "policy", "v1", version("1"))
	run := func(podName string, policy corev1.PullPolicy, want string) {
		t.Helper()
		create(ctx, t, imagePod(ns, podName, corev1.Container{Image: ref, ImagePullPolicy: policy}, nil))
		finished(ctx, t, ns, podName)
		if got := output(t, ns, podName).Env["VERSION"]; got != want {
			t.Errorf("%s (%s): VERSION=%q, want %q", podName, policy, got, want)
		}
	}
	run("first", corev1.PullIfNotPresent, "1")
	push(t, "policy", "v1", version("2"))
	run("cached", corev1.PullIfNotPresent, "1")
	run("always", corev1.PullAlways, "2")
	run("cached-again", corev1.PullIfNotPresent, "2")
}

// A layer that would write outside the root filesystem fails the pull and names the entry; an absolute
// symlink is followed inside the root filesystem and leaves the host's directory alone.
func TestImageUnpackRefusesEscapes(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ns := namespace(ctx, t)
	cfg := v1.Config{Entrypoint: []string{"/bin/prog"}}
	dotdot, _ := push(t, "escape", "dotdot", progImage(t, runtime.GOARCH, cfg, layer(t, file{name: "../x", body: []byte("pwned")})))
	symlink, _ := push(t, "escape", "symlink", progImage(t, runtime.GOARCH, cfg,
		layer(t, file{name: "link", typ: tar.TypeSymlink, link: "../../../../../../../../.."}),
		layer(t, file{name: "link/tmp/pwned", body: []byte("pwned")})))
	host := t.TempDir()
	absolute, _ := push(t, "escape", "absolute", progImage(t, runtime.GOARCH, cfg,
		layer(t, file{name: "hostdir", typ: tar.TypeSymlink, link: host}),
		layer(t, file{name: "hostdir/planted", body: []byte("pwned")})))
	create(ctx, t,
		imagePod(ns, "dotdot", corev1.Container{Image: dotdot}, nil),
		imagePod(ns, "symlink", corev1.Container{Image: symlink}, nil),
		imagePod(ns, "absolute", corev1.Container{Image: absolute}, nil))

	waiting(ctx, t, ns, "dotdot", "ErrImagePull", `layer entry "../x": path has a ".." component: escapes the root filesystem`)
	waiting(ctx, t, ns, "symlink", "ErrImagePull", `layer entry "link/tmp/pwned"`)
	if p := finished(ctx, t, ns, "absolute"); p.Status.Phase != corev1.PodSucceeded {
		t.Errorf("absolute: phase %s\n%s", p.Status.Phase, dump(p.Status))
	}
	if ents, _ := os.ReadDir(host); len(ents) != 0 {
		t.Errorf("unpacking wrote into the host directory %s the image's symlink names: %v", host, ents)
	}
	if _, err := os.Stat("/tmp/pwned"); err == nil {
		t.Error("unpacking wrote /tmp/pwned through a relative symlink")
	}
}

// runAsNonRoot without runAsUser is checked against the image's user, as the kubelet checks it.
func TestImageUserRunAsNonRoot(t *testing.T) {
	t.Parallel()
	ctx := testCtx(t)
	ns := namespace(ctx, t)
	user := func(u string) string {
		ref, _ := push(t, "user", "u"+strings.ReplaceAll(u, ":", "-"), progImage(t, runtime.GOARCH,
			v1.Config{Entrypoint: []string{"/bin/prog"}, User: u}))
		return ref
	}
	nonRoot := &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)}
	create(ctx, t,
		imagePod(ns, "unset", corev1.Container{Image: user("")}, nonRoot),
		imagePod(ns, "zero", corev1.Container{Image: user("0:0")}, nonRoot),
		imagePod(ns, "named", corev1.Container{Image: user("root")}, nonRoot),
		imagePod(ns, "numeric", corev1.Container{Image: user("1000")}, nonRoot),
		imagePod(ns, "overridden", corev1.Container{Image: user("0")},
			&corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To[int64](1000)}))
	waiting(ctx, t, ns, "unset", "CreateContainerConfigError", "container has runAsNonRoot and image will run as root")
	waiting(ctx, t, ns, "zero", "CreateContainerConfigError", "container has runAsNonRoot and image will run as root")
	waiting(ctx, t, ns, "named", "CreateContainerConfigError", "image has non-numeric user (root)")
	for _, n := range []string{"numeric", "overridden"} {
		if p := finished(ctx, t, ns, n); p.Status.Phase != corev1.PodSucceeded {
			t.Errorf("%s: phase %s\n%s", n, p.Status.Phase, dump(p.Status))
		}
	}
}
