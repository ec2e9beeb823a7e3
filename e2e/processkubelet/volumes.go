package processkubelet

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
)

const defaultTokenSeconds = 3600

// prepare does what the kubelet does before starting containers: the Pod's directory, its volumes and its
// service-account kubeconfig. It is repeated from scratch until it succeeds.
func (w *podWorker) prepare(ctx context.Context) error {
	pod := w.pod
	if err := os.MkdirAll(w.dir, 0o755); err != nil {
		return err
	}
	volRoot := filepath.Join(w.dir, "volumes")
	objs := &objects{k: w.k, ns: pod.Namespace}
	w.volumes = map[string]string{}
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		local, err := w.volume(ctx, objs, v, filepath.Join(volRoot, v.Name))
		if err != nil {
			return fmt.Errorf("MountVolume.SetUp failed for volume %q : %v", v.Name, err)
		}
		w.volumes[v.Name] = local
	}
	kc, err := w.serviceAccountKubeconfig(ctx)
	if err != nil {
		return err
	}
	w.kubeconfig = kc
	return nil
}

func (w *podWorker) volume(ctx context.Context, objs *objects, v *corev1.Volume, dir string) (string, error) {
	fresh := func() error {
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
		return os.MkdirAll(dir, 0o755)
	}
	switch {
	case v.EmptyDir != nil:
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return "", err
		}
		return dir, os.Chmod(dir, 0o777)

	case v.Secret != nil:
		if err := fresh(); err != nil {
			return "", err
		}
		return dir, w.secretFiles(ctx, objs, dir, v.Secret.SecretName, v.Secret.Items, v.Secret.Optional, mode(v.Secret.DefaultMode))

	case v.ConfigMap != nil:
		if err := fresh(); err != nil {
			return "", err
		}
		return dir, w.configMapFiles(ctx, objs, dir, v.ConfigMap.Name, v.ConfigMap.Items, v.ConfigMap.Optional, mode(v.ConfigMap.DefaultMode))

	case v.DownwardAPI != nil:
		if err := fresh(); err != nil {
			return "", err
		}
		return dir, w.downwardFiles(dir, v.DownwardAPI.Items, mode(v.DownwardAPI.DefaultMode))

	case v.Projected != nil:
		if err := fresh(); err != nil {
			return "", err
		}
		def := mode(v.Projected.DefaultMode)
		for _, src := range v.Projected.Sources {
			var err error
			switch {
			case src.Secret != nil:
				err = w.secretFiles(ctx, objs, dir, src.Secret.Name, src.Secret.Items, src.Secret.Optional, def)
			case src.ConfigMap != nil:
				err = w.configMapFiles(ctx, objs, dir, src.ConfigMap.Name, src.ConfigMap.Items, src.ConfigMap.Optional, def)
			case src.DownwardAPI != nil:
				err = w.downwardFiles(dir, src.DownwardAPI.Items, def)
			case src.ServiceAccountToken != nil:
				var tok string
				if tok, err = w.token(ctx, src.ServiceAccountToken.Audience, src.ServiceAccountToken.ExpirationSeconds); err == nil {
					err = writeFile(dir, src.ServiceAccountToken.Path, []byte(tok), def)
				}
			default:
				err = fmt.Errorf("processkubelet: unsupported projected volume source (supported: secret, configMap, downwardAPI, serviceAccountToken)")
			}
			if err != nil {
				return "", err
			}
		}
		return dir, nil

	case v.HostPath != nil:
		return v.HostPath.Path, checkHostPath(v.HostPath.Path, v.HostPath.Type)

	case v.PersistentVolumeClaim != nil:
		return w.claimPath(ctx, v.PersistentVolumeClaim.ClaimName)
	}
	return "", fmt.Errorf("processkubelet: unsupported volume type (supported: emptyDir, secret, configMap, downwardAPI, projected, hostPath, persistentVolumeClaim)")
}

func mode(m *int32) os.FileMode {
	if m == nil {
		return 0o644
	}
	return os.FileMode(*m) & os.ModePerm
}

func itemMode(m *int32, def os.FileMode) os.FileMode {
	if m == nil {
		return def
	}
	return os.FileMode(*m) & os.ModePerm
}

// writeFile writes data to dir/rel with mode, creating parent directories; rel may not leave dir.
func writeFile(dir, rel string, data []byte, m os.FileMode) error {
	clean := filepath.Clean(rel)
	if filepath.IsAbs(clean) || clean == ".." || strings.HasPrefix(clean, "../") {
		return fmt.Errorf("path %q must be relative and may not contain '..'", rel)
	}
	p := filepath.Join(dir, clean)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(p, data, m); err != nil {
		return err
	}
	return os.Chmod(p, m)
}

func keyFiles(dir string, data map[string][]byte, items []corev1.KeyToPath, def os.FileMode, what string) error {
	if len(items) == 0 {
		for key, val := range data {
			if err := writeFile(dir, key, val, def); err != nil {
				return err
			}
		}
		return nil
	}
	for _, it := range items {
		val, ok := data[it.Key]
		if !ok {
			return fmt.Errorf("references non-existent %s key: %s", what, it.Key)
		}
		if err := writeFile(dir, it.Path, val, itemMode(it.Mode, def)); err != nil {
			return err
		}
	}
	return nil
}

func (w *podWorker) secretFiles(ctx context.Context, objs *objects, dir, name string, items []corev1.KeyToPath, optional *bool, def os.FileMode) error {
	s, err := objs.secret(ctx, name)
	if err != nil {
		if isNotFound(err) && ptrTrue(optional) {
			return nil
		}
		return err
	}
	return keyFiles(dir, s.Data, items, def, "secret")
}

func (w *podWorker) configMapFiles(ctx context.Context, objs *objects, dir, name string, items []corev1.KeyToPath, optional *bool, def os.FileMode) error {
	cm, err := objs.configMap(ctx, name)
	if err != nil {
		if isNotFound(err) && ptrTrue(optional) {
			return nil
		}
		return err
	}
	data := map[string][]byte{}
	for key, val := range cm.Data {
		data[key] = []byte(val)
	}
	for key, val := range cm.BinaryData {
		data[key] = val
	}
	return keyFiles(dir, data, items, def, "configmap")
}

func (w *podWorker) downwardFiles(dir string, items []corev1.DownwardAPIVolumeFile, def os.FileMode) error {
	for _, it := range items {
		var val string
		var err error
		switch {
		case it.FieldRef != nil:
			val, err = fieldValue(w.pod, it.FieldRef.FieldPath)
		case it.ResourceFieldRef != nil:
			if it.ResourceFieldRef.ContainerName == "" {
				return fmt.Errorf("downwardAPI %s: resourceFieldRef needs containerName", it.Path)
			}
			val, err = w.k.resourceValue(w.pod, nil, it.ResourceFieldRef)
		}
		if err != nil {
			return err
		}
		if err := writeFile(dir, it.Path, []byte(val), itemMode(it.Mode, def)); err != nil {
			return err
		}
	}
	return nil
}

func checkHostPath(path string, t *corev1.HostPathType) error {
	typ := corev1.HostPathUnset
	if t != nil {
		typ = *t
	}
	st, err := os.Stat(path)
	switch typ {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if os.IsNotExist(err) {
			return os.MkdirAll(path, 0o755)
		}
		if err == nil && !st.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is not a directory", path)
		}
		return err
	case corev1.HostPathFileOrCreate:
		if os.IsNotExist(err) {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		if err == nil && st.IsDir() {
			return fmt.Errorf("hostPath type check failed: %s is a directory", path)
		}
		return err
	}
	if err != nil {
		return fmt.Errorf("hostPath type check failed: %s does not exist", path)
	}
	m := st.Mode()
	ok := map[corev1.HostPathType]bool{
		corev1.HostPathDirectory: m.IsDir(),
		corev1.HostPathFile:      m.IsRegular(),
		corev1.HostPathSocket:    m&os.ModeSocket != 0,
		corev1.HostPathCharDev:   m&os.ModeCharDevice != 0,
		corev1.HostPathBlockDev:  m&os.ModeDevice != 0 && m&os.ModeCharDevice == 0,
	}[typ]
	if !ok {
		return fmt.Errorf("hostPath type check failed: %s is not a %s", path, typ)
	}
	return nil
}

// claimPath is the local directory of the PersistentVolume bound to claim.
func (w *podWorker) claimPath(ctx context.Context, claim string) (string, error) {
	pvc, err := w.k.cs.CoreV1().PersistentVolumeClaims(w.ns).Get(ctx, claim, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return "", fmt.Errorf("persistentvolumeclaim %q not found", claim)
	}
	if err != nil {
		return "", err
	}
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName == "" {
		return "", fmt.Errorf("persistentvolumeclaim %q is not bound (phase %q)", claim, pvc.Status.Phase)
	}
	pv, err := w.k.cs.CoreV1().PersistentVolumes().Get(ctx, pvc.Spec.VolumeName, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("persistentvolume %q of claim %q: %v", pvc.Spec.VolumeName, claim, err)
	}
	switch {
	case pv.Spec.HostPath != nil:
		return pv.Spec.HostPath.Path, checkHostPath(pv.Spec.HostPath.Path, pv.Spec.HostPath.Type)
	case pv.Spec.Local != nil:
		if _, err := os.Stat(pv.Spec.Local.Path); err != nil {
			return "", fmt.Errorf("local volume %s: %v", pv.Spec.Local.Path, err)
		}
		return pv.Spec.Local.Path, nil
	}
	return "", fmt.Errorf("persistentvolume %q has neither hostPath nor local: processkubelet can only map those to a local directory", pv.Name)
}

func (w *podWorker) serviceAccountName() string {
	if n := w.pod.Spec.ServiceAccountName; n != "" {
		return n
	}
	return "default"
}

// token requests a token for the Pod's ServiceAccount, bound to the Pod, as the kubelet does for projected
// serviceAccountToken volumes.
func (w *podWorker) token(ctx context.Context, audience string, seconds *int64) (string, error) {
	tr := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To[int64](defaultTokenSeconds),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: w.name, UID: w.uid},
	}}
	if seconds != nil {
		tr.Spec.ExpirationSeconds = seconds
	}
	if audience != "" {
		tr.Spec.Audiences = []string{audience}
	}
	sa := w.serviceAccountName()
	out, err := w.k.cs.CoreV1().ServiceAccounts(w.ns).CreateToken(ctx, sa, tr, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("failed to fetch token for ServiceAccount %s/%s: %v", w.ns, sa, err)
	}
	return out.Status.Token, nil
}

// serviceAccountKubeconfig writes the Pod's kubeconfig and returns its path, or "" when the Pod does not
// automount its ServiceAccount's token.
func (w *podWorker) serviceAccountKubeconfig(ctx context.Context) (string, error) {
	automount := w.pod.Spec.AutomountServiceAccountToken
	if automount == nil {
		sa, err := w.k.cs.CoreV1().ServiceAccounts(w.ns).Get(ctx, w.serviceAccountName(), metav1.GetOptions{})
		if err != nil {
			return "", fmt.Errorf("serviceaccount %s/%s: %v", w.ns, w.serviceAccountName(), err)
		}
		automount = sa.AutomountServiceAccountToken
	}
	if automount != nil && !*automount {
		return "", nil
	}
	tok, err := w.token(ctx, "", nil)
	if err != nil {
		return "", err
	}
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["cluster"] = &clientcmdapi.Cluster{Server: w.k.apiURL.String(), CertificateAuthorityData: w.k.caData}
	cfg.AuthInfos["serviceaccount"] = &clientcmdapi.AuthInfo{Token: tok}
	cfg.Contexts["pod"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "serviceaccount", Namespace: w.ns}
	cfg.CurrentContext = "pod"
	p := filepath.Join(w.dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, p); err != nil {
		return "", err
	}
	return p, os.Chmod(p, 0o600)
}
