package processkubelet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
)

// Bounds of what one pull may take from a registry (manifests are bounded by go-containerregistry itself).
const (
	pullTimeout    = 5 * time.Minute
	maxConfigBytes = 4 << 20
	maxLayers      = 256
	maxDrainBytes  = 1 << 20 // of a layer's stream after its tar end, read so that its digest is verified
)

// image is an image pulled and unpacked for this Node's architecture.
type image struct {
	name   string    // the reference, fully qualified: containerStatuses[].image
	id     string    // repository@digest the reference resolved to: containerStatuses[].imageID
	rootfs string    // the unpacked layers, shared by every container of the image
	config v1.Config // Entrypoint, Cmd, Env, WorkingDir, User
	size   int64     // bytes of regular files in rootfs
}

// imageStore pulls images from loopback registries and keeps their root filesystems under dir, one per image
// digest; it remembers what each reference last resolved to, for imagePullPolicy IfNotPresent and Never.
type imageStore struct {
	dir       string
	limit     int64
	transport http.RoundTripper

	mu    sync.Mutex
	byRef map[string]*image        // reference name → last pull
	roots map[string]*unpackedRoot // image digest → root filesystem
	locks map[string]*sync.Mutex   // image digest → held while unpacking it
}

type unpackedRoot struct {
	path string
	size int64
}

func newImageStore(dir string, limit int64) *imageStore {
	return &imageStore{dir: dir, limit: limit, transport: loopbackTransport(),
		byRef: map[string]*image{}, roots: map[string]*unpackedRoot{}, locks: map[string]*sync.Mutex{}}
}

// loopbackTransport dials loopback addresses only, without any proxy: a registry's redirect to another host
// (blob storage) fails instead of sending traffic off the machine.
func loopbackTransport() *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := d.DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			if a, ok := conn.RemoteAddr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
				_ = conn.Close()
				return nil, fmt.Errorf("%s is not a loopback address: processkubelet pulls from loopback registries only", addr)
			}
			return conn, nil
		},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConnsPerHost:   4,
	}
}

// checkLoopback refuses a registry that is not on this machine: tests must not send traffic elsewhere.
func checkLoopback(registry string) error {
	host := registry
	if h, _, err := net.SplitHostPort(registry); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("registry %q is not on loopback: processkubelet pulls only from 127.0.0.0/8, [::1] or localhost", registry)
}

func (s *imageStore) cached(ref name.Reference) *image {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byRef[ref.Name()]
}

// pull resolves ref (an image index: the image for linux/GOARCH), checks its bounds and unpacks its layers,
// unless the same image digest is unpacked already.
func (s *imageStore) pull(ctx context.Context, ref name.Reference) (*image, error) {
	if err := checkLoopback(ref.Context().RegistryStr()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, pullTimeout)
	defer cancel()
	desc, err := remote.Get(ref, remote.WithContext(ctx), remote.WithTransport(s.transport),
		remote.WithUserAgent("processkubelet"),
		remote.WithRetryBackoff(remote.Backoff{Duration: 100 * time.Millisecond, Factor: 2, Steps: 3}))
	if err != nil {
		return nil, err
	}
	var img v1.Image
	switch {
	case desc.MediaType.IsIndex():
		idx, err := desc.ImageIndex()
		if err != nil {
			return nil, err
		}
		im, err := idx.IndexManifest()
		if err != nil {
			return nil, err
		}
		d, err := platformImage(im)
		if err != nil {
			return nil, err
		}
		if img, err = idx.Image(d.Digest); err != nil {
			return nil, err
		}
	case desc.MediaType.IsImage():
		if img, err = desc.Image(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unsupported manifest media type %q", desc.MediaType)
	}
	digest, err := img.Digest()
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if m.Config.Size > maxConfigBytes {
		return nil, fmt.Errorf("image config is %d bytes, more than the %d processkubelet accepts", m.Config.Size, maxConfigBytes)
	}
	if len(m.Layers) > maxLayers {
		return nil, fmt.Errorf("image has %d layers, more than the %d processkubelet accepts", len(m.Layers), maxLayers)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	if (cf.OS != "" && cf.OS != "linux") || (cf.Architecture != "" && cf.Architecture != runtime.GOARCH) {
		return nil, fmt.Errorf("image is for %s/%s; this node is linux/%s", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	root, err := s.unpack(digest, img)
	if err != nil {
		return nil, err
	}
	out := &image{name: ref.Name(), id: ref.Context().Name() + "@" + desc.Digest.String(),
		rootfs: root.path, config: cf.Config, size: root.size}
	s.mu.Lock()
	s.byRef[ref.Name()] = out
	s.mu.Unlock()
	return out, nil
}

// platformImage picks linux/GOARCH from an index (any variant; attestation entries have no such platform).
func platformImage(im *v1.IndexManifest) (v1.Descriptor, error) {
	var has []string
	for _, d := range im.Manifests {
		if d.Platform == nil {
			continue
		}
		has = append(has, d.Platform.OS+"/"+d.Platform.Architecture)
		if d.Platform.OS == "linux" && d.Platform.Architecture == runtime.GOARCH && (d.MediaType == "" || d.MediaType.IsImage()) {
			return d, nil
		}
	}
	return v1.Descriptor{}, fmt.Errorf("the image index has no image for linux/%s (it has: %s)", runtime.GOARCH, strings.Join(has, ", "))
}

// unpack returns the root filesystem of the image with digest d, unpacking it first when needed: into a
// temporary directory that is renamed into place only when every layer applied.
func (s *imageStore) unpack(d v1.Hash, img v1.Image) (*unpackedRoot, error) {
	key := d.String()
	s.mu.Lock()
	l := s.locks[key]
	if l == nil {
		l = &sync.Mutex{}
		s.locks[key] = l
	}
	s.mu.Unlock()
	l.Lock()
	defer l.Unlock()
	s.mu.Lock()
	root := s.roots[key]
	s.mu.Unlock()
	if root != nil {
		return root, nil
	}

	final := filepath.Join(s.dir, d.Algorithm+"-"+d.Hex)
	if fi, err := os.Stat(filepath.Join(final, "rootfs")); err == nil && fi.IsDir() {
		root = &unpackedRoot{path: filepath.Join(final, "rootfs")} // left by an earlier Kubelet on this WorkDir
	} else {
		if err := os.MkdirAll(s.dir, 0o755); err != nil {
			return nil, err
		}
		tmp, err := os.MkdirTemp(s.dir, ".unpack-")
		if err != nil {
			return nil, err
		}
		u := &unpacker{root: filepath.Join(tmp, "rootfs"), limit: s.limit}
		err = os.Mkdir(u.root, 0o755)
		if err == nil {
			err = applyLayers(u, img)
		}
		if err == nil {
			err = os.Rename(tmp, final)
		}
		if err != nil {
			_ = os.RemoveAll(tmp)
			return nil, fmt.Errorf("unpack image %s: %w", d, err)
		}
		root = &unpackedRoot{path: filepath.Join(final, "rootfs"), size: u.written}
	}
	s.mu.Lock()
	s.roots[key] = root
	s.mu.Unlock()
	return root, nil
}

func applyLayers(u *unpacker, img v1.Image) error {
	layers, err := img.Layers()
	if err != nil {
		return err
	}
	for i, layer := range layers {
		err := func() error {
			rc, err := layer.Uncompressed()
			if err != nil {
				return err
			}
			defer rc.Close()
			if err := u.applyLayer(rc); err != nil {
				return err
			}
			// The digest is checked when the stream ends: read the tar's padding too (bounded).
			_, err = io.Copy(io.Discard, io.LimitReader(rc, maxDrainBytes))
			return err
		}()
		if err != nil {
			digest, _ := layer.Digest()
			return fmt.Errorf("layer %d (%s): %w", i+1, digest, err)
		}
	}
	return nil
}

// pullPolicy is spec.imagePullPolicy, or the apiserver's default for it when empty.
func pullPolicy(spec *corev1.Container, ref name.Reference) corev1.PullPolicy {
	if spec.ImagePullPolicy != "" {
		return spec.ImagePullPolicy
	}
	if t, ok := ref.(name.Tag); ok && t.TagStr() == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// ensureImage makes c's image present as the kubelet's image manager does, honouring imagePullPolicy, with
// the kubelet's Events and waiting reasons (InvalidImageName, ErrImageNeverPull, ErrImagePull).
func (k *Kubelet) ensureImage(ctx context.Context, w *podWorker, spec *corev1.Container) (*image, error) {
	ref, err := name.ParseReference(spec.Image)
	if err != nil {
		return nil, &startErr{reason: "InvalidImageName", msg: fmt.Sprintf(
			"Failed to apply default image tag %q: couldn't parse image name %q: %v", spec.Image, spec.Image, err)}
	}
	policy := pullPolicy(spec, ref)
	cached := k.images.cached(ref)
	switch {
	case cached != nil && policy != corev1.PullAlways:
		w.k.recorder.Eventf(w.pod, corev1.EventTypeNormal, "Pulled", "Container image %q already present on machine", spec.Image)
		return cached, nil
	case policy == corev1.PullNever:
		return nil, &startErr{reason: "ErrImageNeverPull", msg: fmt.Sprintf(
			"Container image %q is not present with pull policy of Never", spec.Image)}
	}
	w.k.recorder.Eventf(w.pod, corev1.EventTypeNormal, "Pulling", "Pulling image %q", spec.Image)
	start := time.Now()
	img, err := k.images.pull(ctx, ref)
	if err != nil {
		msg := fmt.Sprintf("failed to pull and unpack image %q: %v", ref.Name(), err)
		w.k.recorder.Eventf(w.pod, corev1.EventTypeWarning, "Failed", "Failed to pull image %q: %s", spec.Image, msg)
		return nil, &startErr{reason: "ErrImagePull", msg: msg}
	}
	w.k.recorder.Eventf(w.pod, corev1.EventTypeNormal, "Pulled", "Successfully pulled image %q in %s. Image size: %d bytes.",
		spec.Image, time.Since(start).Round(time.Millisecond), img.size)
	return img, nil
}

// checkImageUser is the kubelet's runAsNonRoot check against the image's user, for a container that sets
// runAsNonRoot and no runAsUser: an image with no user runs as root.
func checkImageUser(pod *corev1.Pod, c *corev1.Container, img *image) error {
	nonRoot, user := effectiveUser(pod, c)
	if !nonRoot || user != nil {
		return nil
	}
	u, _, _ := strings.Cut(img.config.User, ":")
	podName := fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
	if u == "" {
		u = "0"
	}
	uid, err := strconv.ParseInt(u, 10, 64)
	switch {
	case err != nil:
		return configErr("container has runAsNonRoot and image has non-numeric user (%s), cannot verify user is non-root (pod: %q, container: %s)", u, podName, c.Name)
	case uid == 0:
		return configErr("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", podName, c.Name)
	}
	return nil
}

// imageArgv is the container's argv as the kubelet and the runtime build it: command replaces the image's
// Entrypoint (and drops its Cmd), args replace Cmd. fromSpec tells which elements came from the Pod spec
// (those alone are path-rewritten and $(VAR)-expanded).
func imageArgv(spec *corev1.Container, img *image) (argv []string, fromSpec []bool) {
	add := func(xs []string, mine bool) {
		for _, x := range xs {
			argv, fromSpec = append(argv, x), append(fromSpec, mine)
		}
	}
	if len(spec.Command) > 0 {
		add(spec.Command, true)
		add(spec.Args, true)
		return argv, fromSpec
	}
	add(img.config.Entrypoint, false)
	if len(spec.Args) > 0 {
		add(spec.Args, true)
	} else {
		add(img.config.Cmd, false)
	}
	return argv, fromSpec
}

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// lookPath finds the executable argv0 inside the image's root filesystem: a name with a slash relative to the
// working directory wd (a path inside the image), a bare name in the directories of pathEnv (inside the image
// too). The error texts are the runtime's.
func (img *image) lookPath(argv0, wd, pathEnv string) (string, error) {
	var candidates []string
	switch {
	case strings.HasPrefix(argv0, "/"):
		candidates = []string{argv0}
	case strings.Contains(argv0, "/"):
		candidates = []string{path.Join("/", wd, argv0)}
	default:
		if pathEnv == "" {
			pathEnv = defaultPath
		}
		for _, dir := range filepath.SplitList(pathEnv) {
			if strings.HasPrefix(dir, "/") {
				candidates = append(candidates, path.Join(dir, argv0))
			}
		}
	}
	var last error
	for _, cand := range candidates {
		p, err := resolveInRoot(img.rootfs, cand, true)
		if err != nil {
			last = err
			continue
		}
		fi, err := os.Stat(p)
		switch {
		case err != nil:
			last = fmt.Errorf("stat %s: %w", cand, errors.Unwrap(err))
			if errors.Is(err, fs.ErrNotExist) {
				last = fmt.Errorf("stat %s: no such file or directory", cand)
			}
		case !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0:
			last = fmt.Errorf("%s: permission denied", cand)
		default:
			return p, nil
		}
	}
	if !strings.Contains(argv0, "/") {
		return "", fmt.Errorf("exec: %q: executable file not found in $PATH", argv0)
	}
	return "", fmt.Errorf("exec: %q: %v", argv0, last)
}
