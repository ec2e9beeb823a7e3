package processkubelet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// startErr says why a container could not start, with the waiting or terminated reason to report.
type startErr struct {
	reason string // CreateContainerConfigError, ErrImageNeverPull (waiting) or StartError (terminated)
	msg    string
}

func (e *startErr) Error() string { return e.msg }

func configErr(format string, args ...any) error {
	return &startErr{reason: "CreateContainerConfigError", msg: fmt.Sprintf(format, args...)}
}

func reasonOf(err error) (string, string) {
	var se *startErr
	if errors.As(err, &se) {
		return se.reason, se.msg
	}
	return "CreateContainerConfigError", err.Error()
}

// procSpec is everything needed to exec a container's process.
type procSpec struct {
	path     string // on the host
	argv0    string
	args     []string // after argv[0]
	env      []string
	dir      string
	termPath string
	image    string // containerStatuses[].image, when an image was pulled
	imageID  string // containerStatuses[].imageID
}

// pathMap maps a path inside the "container" to a local one.
type pathMap struct{ from, to string }

// buildProcess resolves c's executable, environment, mounts and paths.
func (k *Kubelet) buildProcess(ctx context.Context, w *podWorker, c *ctr) (*procSpec, error) {
	pod, spec := w.pod, c.spec
	if err := checkNonRoot(pod, &spec); err != nil {
		return nil, err
	}
	// An executable from Options.Binaries, or else (Options.PullImages) the image's root filesystem.
	path, args, ok := k.binary(&spec)
	var img *image
	var argv []string
	var fromSpec []bool
	switch {
	case ok:
	case !k.opts.PullImages:
		return nil, noBinary(&spec)
	default:
		var err error
		if img, err = k.ensureImage(ctx, w, &spec); err != nil {
			return nil, err
		}
		if err := checkImageUser(pod, &spec, img); err != nil {
			return nil, err
		}
		if argv, fromSpec = imageArgv(&spec, img); len(argv) == 0 {
			return nil, &startErr{reason: "StartError", msg: "no command specified: the container has no command and the image no Entrypoint or Cmd"}
		}
		args = argv[1:]
	}

	ctrDir := filepath.Join(w.dir, "containers", spec.Name)
	if err := os.MkdirAll(ctrDir, 0o755); err != nil {
		return nil, configErr("processkubelet: %v", err)
	}
	// The environment is built twice: first as written, for subPathExpr; then, with the mounts known, with
	// container paths in the spec's values rewritten before $(VAR) expansion.
	objs := &objects{k: k, ns: pod.Namespace}
	env, err := k.environment(ctx, w, &spec, img, ctrDir, objs, nil)
	if err != nil {
		return nil, err
	}
	lookup := envLookup(env)

	var maps []pathMap
	for _, vm := range spec.VolumeMounts {
		local, ok := w.volumes[vm.Name]
		if !ok {
			return nil, configErr("volume %q referenced by container %s is not defined in the pod", vm.Name, spec.Name)
		}
		sub := vm.SubPath
		if vm.SubPathExpr != "" {
			sub = expand(vm.SubPathExpr, lookup)
		}
		if sub != "" {
			if filepath.IsAbs(sub) || strings.HasPrefix(filepath.Clean(sub), "..") {
				return nil, configErr("subPath %q of volume %q must be a relative path inside the volume", sub, vm.Name)
			}
			local = filepath.Join(local, sub)
			if _, err := os.Stat(local); os.IsNotExist(err) {
				if err := os.MkdirAll(local, 0o755); err != nil {
					return nil, configErr("subPath %q of volume %q: %v", sub, vm.Name, err)
				}
			}
		}
		maps = append(maps, pathMap{from: filepath.Clean(vm.MountPath), to: local})
	}
	tmp := spec.TerminationMessagePath
	if tmp == "" {
		tmp = corev1.TerminationMessagePathDefault
	}
	termPath := filepath.Join(ctrDir, "termination-log")
	if err := os.WriteFile(termPath, nil, 0o666); err != nil {
		return nil, configErr("processkubelet: termination-message file: %v", err)
	}
	maps = append(maps, pathMap{from: filepath.Clean(tmp), to: termPath})
	sort.SliceStable(maps, func(i, j int) bool { return len(maps[i].from) > len(maps[j].from) })

	if env, err = k.environment(ctx, w, &spec, img, ctrDir, objs, maps); err != nil {
		return nil, err
	}
	lookup = envLookup(env)
	for i, a := range args {
		if img == nil || fromSpec[i+1] { // the image's own Entrypoint and Cmd are taken literally
			args[i] = expand(rewriteArg(a, maps), lookup)
		}
	}
	dir := ctrDir
	wd := spec.WorkingDir
	if wd == "" && img != nil {
		wd = img.config.WorkingDir
	}
	switch {
	case wd != "":
		if dir = rewrite(filepath.Clean(wd), maps); dir != filepath.Clean(wd) {
			break
		}
		if img == nil {
			dir = filepath.Join(ctrDir, "rootfs", wd)
		} else if dir, err = resolveInRoot(img.rootfs, wd, true); err != nil {
			return nil, configErr("workingDir %s: %v", wd, err)
		}
	case img != nil:
		dir = img.rootfs
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, configErr("workingDir %s: %v", wd, err)
	}
	ps := &procSpec{path: path, argv0: path, args: args, env: env, dir: dir, termPath: termPath, imageID: "processkubelet://" + path}
	if img != nil {
		argv0 := argv[0]
		if fromSpec[0] {
			argv0 = expand(argv0, lookup)
		}
		if wd == "" {
			wd = "/"
		}
		if ps.path, err = img.lookPath(argv0, wd, lookup1(lookup, "PATH")); err != nil {
			return nil, &startErr{reason: "StartError", msg: err.Error()}
		}
		ps.argv0, ps.image, ps.imageID = argv0, img.name, img.id
	}
	return ps, nil
}

func lookup1(lookup func(string) (string, bool), name string) string {
	v, _ := lookup(name)
	return v
}

// binary finds c's executable in Options.Binaries: command[0] or, without a command, the image (with or
// without its tag or digest); it returns the arguments after argv[0].
func (k *Kubelet) binary(spec *corev1.Container) (string, []string, bool) {
	if len(spec.Command) > 0 {
		p, ok := k.opts.Binaries[spec.Command[0]]
		return p, append(append([]string{}, spec.Command[1:]...), spec.Args...), ok
	}
	for _, name := range []string{spec.Image, imageWithoutTag(spec.Image)} {
		if p, ok := k.opts.Binaries[name]; ok {
			return p, append([]string{}, spec.Args...), true
		}
	}
	return "", nil, false
}

// noBinary is the error for a container Options.Binaries cannot run when images are not pulled.
func noBinary(spec *corev1.Container) error {
	if len(spec.Command) > 0 {
		return &startErr{reason: "StartError", msg: fmt.Sprintf(
			"processkubelet: exec: %q: executable file not found in Options.Binaries", spec.Command[0])}
	}
	return &startErr{reason: "ErrImageNeverPull", msg: fmt.Sprintf(
		"processkubelet: container image %q has no executable in Options.Binaries (and the container has no command)", spec.Image)}
}

func imageWithoutTag(image string) string {
	if i := strings.IndexByte(image, '@'); i >= 0 {
		image = image[:i]
	}
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		image = image[:i]
	}
	return image
}

// effectiveUser is the container's runAsNonRoot (false when unset) and runAsUser, the container's security
// context overriding the Pod's.
func effectiveUser(pod *corev1.Pod, c *corev1.Container) (bool, *int64) {
	var nonRoot *bool
	var user *int64
	if psc := pod.Spec.SecurityContext; psc != nil {
		nonRoot, user = psc.RunAsNonRoot, psc.RunAsUser
	}
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsNonRoot != nil {
			nonRoot = sc.RunAsNonRoot
		}
		if sc.RunAsUser != nil {
			user = sc.RunAsUser
		}
	}
	return nonRoot != nil && *nonRoot, user
}

func checkNonRoot(pod *corev1.Pod, c *corev1.Container) error {
	if nonRoot, user := effectiveUser(pod, c); nonRoot && user != nil && *user == 0 {
		return configErr("container's runAsUser breaks non-root policy (pod: %q, container: %s)",
			fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID), c.Name)
	}
	return nil
}

// envList is an ordered environment where a later value replaces an earlier one in place.
type envList struct {
	names []string
	vals  map[string]string
}

func (e *envList) set(n, v string) {
	if e.vals == nil {
		e.vals = map[string]string{}
	}
	if _, ok := e.vals[n]; !ok {
		e.names = append(e.names, n)
	}
	e.vals[n] = v
}

func (e *envList) list() []string {
	out := make([]string, 0, len(e.names))
	for _, n := range e.names {
		out = append(out, n+"="+e.vals[n])
	}
	return out
}

func envLookup(env []string) func(string) (string, bool) {
	m := map[string]string{}
	for _, kv := range env {
		if n, v, ok := strings.Cut(kv, "="); ok {
			m[n] = v
		}
	}
	return func(n string) (string, bool) { v, ok := m[n]; return v, ok }
}

// objects caches the Secrets and ConfigMaps one container start reads.
type objects struct {
	k          *Kubelet
	ns         string
	secrets    map[string]*corev1.Secret
	configMaps map[string]*corev1.ConfigMap
}

func (o *objects) secret(ctx context.Context, name string) (*corev1.Secret, error) {
	if s, ok := o.secrets[name]; ok {
		return s, nil
	}
	s, err := o.k.cs.CoreV1().Secrets(o.ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, notFound{fmt.Sprintf("secret %q not found", name)}
	}
	if err != nil {
		return nil, err
	}
	if o.secrets == nil {
		o.secrets = map[string]*corev1.Secret{}
	}
	o.secrets[name] = s
	return s, nil
}

func (o *objects) configMap(ctx context.Context, name string) (*corev1.ConfigMap, error) {
	if c, ok := o.configMaps[name]; ok {
		return c, nil
	}
	c, err := o.k.cs.CoreV1().ConfigMaps(o.ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, notFound{fmt.Sprintf("configmap %q not found", name)}
	}
	if err != nil {
		return nil, err
	}
	if o.configMaps == nil {
		o.configMaps = map[string]*corev1.ConfigMap{}
	}
	o.configMaps[name] = c
	return c, nil
}

type notFound struct{ msg string }

func (e notFound) Error() string { return e.msg }

func isNotFound(err error) bool {
	var nf notFound
	return errors.As(err, &nf)
}

// environment builds c's environment as the kubelet does, on top of the base environment. Values from the
// container's env and envFrom are rewritten with maps (before $(VAR) expansion); the kubelet's own (HOME,
// KUBECONFIG, the base environment) are local paths already and are not.
func (k *Kubelet) environment(ctx context.Context, w *podWorker, c *corev1.Container, img *image, home string, objs *objects, maps []pathMap) ([]string, error) {
	pod := w.pod
	var e envList
	base := k.baseEnv
	if img != nil { // the image's Env replaces the kubelet's defaults (a runtime's PATH), not the Pod's env
		base = append(append([]string{}, base...), img.config.Env...)
	}
	for _, kv := range base {
		if n, v, ok := strings.Cut(kv, "="); ok {
			e.set(n, v)
		}
	}
	e.set("HOME", home)
	e.set("HOSTNAME", pod.Name)
	host, port := k.apiHostPort()
	e.set("KUBERNETES_SERVICE_HOST", host)
	e.set("KUBERNETES_SERVICE_PORT", port)
	e.set("KUBERNETES_SERVICE_PORT_HTTPS", port)
	e.set("KUBERNETES_PORT", "tcp://"+host+":"+port)
	if w.kubeconfig != "" {
		e.set("KUBECONFIG", w.kubeconfig)
	}
	for _, from := range c.EnvFrom {
		switch {
		case from.ConfigMapRef != nil:
			cm, err := objs.configMap(ctx, from.ConfigMapRef.Name)
			if err != nil {
				if isNotFound(err) && ptrTrue(from.ConfigMapRef.Optional) {
					continue
				}
				return nil, configErr("%v", err)
			}
			for n, v := range cm.Data {
				e.set(from.Prefix+n, rewriteValue(v, maps))
			}
		case from.SecretRef != nil:
			s, err := objs.secret(ctx, from.SecretRef.Name)
			if err != nil {
				if isNotFound(err) && ptrTrue(from.SecretRef.Optional) {
					continue
				}
				return nil, configErr("%v", err)
			}
			for n, v := range s.Data {
				e.set(from.Prefix+n, rewriteValue(string(v), maps))
			}
		}
	}
	lookup := func(n string) (string, bool) { v, ok := e.vals[n]; return v, ok }
	for _, ev := range c.Env {
		val := ev.Value
		if val != "" {
			val = expand(rewriteValue(val, maps), lookup)
		} else if vf := ev.ValueFrom; vf != nil {
			var err error
			switch {
			case vf.FieldRef != nil:
				if val, err = fieldValue(pod, vf.FieldRef.FieldPath); err != nil {
					return nil, configErr("%v", err)
				}
			case vf.ResourceFieldRef != nil:
				if val, err = k.resourceValue(pod, c, vf.ResourceFieldRef); err != nil {
					return nil, configErr("%v", err)
				}
			case vf.ConfigMapKeyRef != nil:
				r := vf.ConfigMapKeyRef
				cm, err := objs.configMap(ctx, r.Name)
				if err != nil {
					if isNotFound(err) && ptrTrue(r.Optional) {
						continue
					}
					return nil, configErr("%v", err)
				}
				v, ok := cm.Data[r.Key]
				if !ok {
					if ptrTrue(r.Optional) {
						continue
					}
					return nil, configErr("couldn't find key %s in ConfigMap %s/%s", r.Key, pod.Namespace, r.Name)
				}
				val = v
			case vf.SecretKeyRef != nil:
				r := vf.SecretKeyRef
				s, err := objs.secret(ctx, r.Name)
				if err != nil {
					if isNotFound(err) && ptrTrue(r.Optional) {
						continue
					}
					return nil, configErr("%v", err)
				}
				v, ok := s.Data[r.Key]
				if !ok {
					if ptrTrue(r.Optional) {
						continue
					}
					return nil, configErr("couldn't find key %s in Secret %s/%s", r.Key, pod.Namespace, r.Name)
				}
				val = string(v)
			default:
				return nil, configErr("env %s: unsupported valueFrom (processkubelet supports fieldRef, resourceFieldRef, configMapKeyRef, secretKeyRef)", ev.Name)
			}
		}
		if ev.Value == "" {
			val = rewriteValue(val, maps)
		}
		e.set(ev.Name, val)
	}
	return e.list(), nil
}

func ptrTrue(b *bool) bool { return b != nil && *b }

// fieldValue is the downward API value of a Pod field.
func fieldValue(pod *corev1.Pod, path string) (string, error) {
	switch path {
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	case "spec.nodeName":
		return pod.Spec.NodeName, nil
	case "spec.serviceAccountName":
		return pod.Spec.ServiceAccountName, nil
	case "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs":
		return localIP, nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	}
	for prefix, m := range map[string]map[string]string{"metadata.labels": pod.Labels, "metadata.annotations": pod.Annotations} {
		if strings.HasPrefix(path, prefix+"['") && strings.HasSuffix(path, "']") {
			return m[path[len(prefix)+2:len(path)-2]], nil
		}
	}
	return "", fmt.Errorf("unsupported fieldRef fieldPath %q", path)
}

func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for key := range m {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, key := range keys {
		fmt.Fprintf(&b, "%s=%q\n", key, m[key])
	}
	return b.String()
}

// resourceValue is the downward API value of a container resource; limits default to the Node's capacity.
func (k *Kubelet) resourceValue(pod *corev1.Pod, c *corev1.Container, r *corev1.ResourceFieldSelector) (string, error) {
	if c == nil || (r.ContainerName != "" && r.ContainerName != c.Name) {
		c = nil
		for i := range pod.Spec.Containers {
			if pod.Spec.Containers[i].Name == r.ContainerName {
				c = &pod.Spec.Containers[i]
			}
		}
		if c == nil {
			return "", fmt.Errorf("resourceFieldRef: container %q not found", r.ContainerName)
		}
	}
	kind, name, ok := strings.Cut(r.Resource, ".")
	if !ok || (kind != "limits" && kind != "requests") {
		return "", fmt.Errorf("unsupported resourceFieldRef resource %q", r.Resource)
	}
	rn := corev1.ResourceName(name)
	var q resource.Quantity
	if kind == "limits" {
		if v, ok := c.Resources.Limits[rn]; ok {
			q = v
		} else {
			q = k.capacity[rn]
		}
	} else {
		q = c.Resources.Requests[rn]
	}
	div := r.Divisor
	if div.IsZero() {
		div = resource.MustParse("1")
	}
	if rn == corev1.ResourceCPU {
		return fmt.Sprint(int64(math.Ceil(float64(q.MilliValue()) / float64(div.MilliValue())))), nil
	}
	return fmt.Sprint(int64(math.Ceil(float64(q.Value()) / float64(div.Value())))), nil
}

// rewrite maps a path under a mapped container path to its local path (maps sorted longest first).
func rewrite(s string, maps []pathMap) string {
	for _, m := range maps {
		switch {
		case s == m.from:
			return m.to
		case m.from == "/":
			if strings.HasPrefix(s, "/") {
				return filepath.Join(m.to, s)
			}
		case strings.HasPrefix(s, m.from+"/"):
			return m.to + s[len(m.from):]
		}
	}
	return s
}

// rewriteArg is rewriteValue, also applied to the value of a -flag=value or --flag=value argument.
func rewriteArg(a string, maps []pathMap) string {
	if r := rewriteValue(a, maps); r != a {
		return r
	}
	if strings.HasPrefix(a, "-") {
		if i := strings.IndexByte(a, '='); i > 0 {
			return a[:i+1] + rewriteValue(a[i+1:], maps)
		}
	}
	return a
}

// rewriteValue is rewrite; for a JSON object or array it is applied to every string in it (the document is
// then re-encoded: same content, keys sorted, no indentation).
func rewriteValue(v string, maps []pathMap) string {
	if len(maps) == 0 {
		return v
	}
	if r := rewrite(v, maps); r != v {
		return r
	}
	t := strings.TrimSpace(v)
	if !(strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}")) && !(strings.HasPrefix(t, "[") && strings.HasSuffix(t, "]")) {
		return v
	}
	dec := json.NewDecoder(strings.NewReader(t))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return v
	}
	changed := false
	var walk func(any) any
	walk = func(x any) any {
		switch x := x.(type) {
		case string:
			r := rewrite(x, maps)
			changed = changed || r != x
			return r
		case map[string]any:
			for key, val := range x {
				x[key] = walk(val)
			}
		case []any:
			for i, val := range x {
				x[i] = walk(val)
			}
		}
		return x
	}
	doc = walk(doc)
	if !changed {
		return v
	}
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return v
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// expand replaces $(NAME) by NAME's value when defined, and $$ by $, as Kubernetes expands command, args and
// env values; anything else is kept as written.
func expand(in string, lookup func(string) (string, bool)) string {
	if !strings.Contains(in, "$") {
		return in
	}
	var b strings.Builder
	for i := 0; i < len(in); i++ {
		if in[i] != '$' || i+1 == len(in) {
			b.WriteByte(in[i])
			continue
		}
		switch in[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(in[i+2:], ')')
			if end < 0 {
				b.WriteString(in[i:])
				return b.String()
			}
			name := in[i+2 : i+2+end]
			if v, ok := lookup(name); ok && name != "" {
				b.WriteString(v)
			} else {
				b.WriteString(in[i : i+3+end])
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}
