package main

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// The worker Jobs run the manager's own image, so that the two can never be of different versions. Unless
// --worker-image names one explicitly, the manager reads its own Pod once at start (the downward API gives
// the name and namespace) and takes its container's image.
const (
	podNameEnv      = "POD_NAME"
	podNamespaceEnv = "POD_NAMESPACE"
	// managerContainer is the container the manager runs in; a pod with a single container needs no name.
	managerContainer = "manager"
)

// errNoWorkerImage says both ways to give the worker an image.
var errNoWorkerImage = errors.New("the job executor needs a worker image: set --worker-image (or $MAILSHIFT_WORKER_IMAGE), " +
	"or run the manager in a Pod with " + podNameEnv + " and " + podNamespaceEnv +
	" set from the downward API (metadata.name, metadata.namespace) and RBAC to get that Pod, so it uses its own image")

// statusWait is how long the manager waits, at start, for the kubelet to report which image its container
// runs: the process may start before the kubelet has posted the container's status.
const statusWait = 10 * time.Second

// ownWorkerImage reads the manager's own Pod from the API server (not a cache: the manager lists no pods)
// and returns the image its workers should run. While the container's status is not reported yet it reads
// again, every half second for at most wait, then settles for the spec's image.
func ownWorkerImage(ctx context.Context, api client.Reader, namespace, name string, wait time.Duration) (string, error) {
	if namespace == "" || name == "" {
		return "", fmt.Errorf("%w (%s or %s is empty)", errNoWorkerImage, podNameEnv, podNamespaceEnv)
	}
	deadline := time.Now().Add(wait)
	for {
		var pod corev1.Pod
		if err := api.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &pod); err != nil {
			return "", fmt.Errorf("%w: read own Pod %s/%s: %v", errNoWorkerImage, namespace, name, err)
		}
		image, settled, err := workerImageOf(&pod)
		if err != nil {
			return "", fmt.Errorf("%w: Pod %s/%s: %v", errNoWorkerImage, namespace, name, err)
		}
		if settled || !time.Now().Before(deadline) {
			return image, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("wait for the kubelet to report Pod %s/%s's image: %w", namespace, name, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// workerImageOf picks the image of the pod's manager container (the one named "manager", else the only
// one). When the kubelet reports the digest the image was pulled by, the result is pinned to it
// (repository@sha256:…), so that a tag moved later cannot give workers other code than the manager runs;
// otherwise it is the spec's image as written. settled says that waiting cannot make it better: the image
// is pinned, or the kubelet has reported an image ID (with no repository digest in it, a local image).
func workerImageOf(pod *corev1.Pod) (image string, settled bool, err error) {
	var c *corev1.Container
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == managerContainer {
			c = &pod.Spec.Containers[i]
		}
	}
	if c == nil {
		if len(pod.Spec.Containers) != 1 {
			return "", false, fmt.Errorf("no container named %q among %d containers", managerContainer, len(pod.Spec.Containers))
		}
		c = &pod.Spec.Containers[0]
	}
	if c.Image == "" {
		return "", false, fmt.Errorf("container %q has no image", c.Name)
	}
	if strings.Contains(c.Image, "@") {
		return c.Image, true, nil // already pinned
	}
	for _, s := range pod.Status.ContainerStatuses {
		if s.Name != c.Name || s.ImageID == "" {
			continue
		}
		if d := imageDigest(s.ImageID); d != "" {
			return repository(c.Image) + "@" + d, true, nil
		}
		return c.Image, true, nil
	}
	return c.Image, false, nil
}

// digestRE is an OCI content digest the registry can serve a manifest by.
var digestRE = regexp.MustCompile(`@(sha256:[0-9a-f]{64}|sha512:[0-9a-f]{128})$`)

// imageDigest is the repository digest in a container status' imageID: "docker-pullable://repo@sha256:…"
// (Docker) or "repo@sha256:…" (containerd, CRI-O). A bare "sha256:…" is the local image ID, not a
// manifest digest a registry knows, and gives "".
func imageDigest(imageID string) string {
	m := digestRE.FindStringSubmatch(imageID)
	if m == nil {
		return ""
	}
	return m[1]
}

// repository is an image reference without its tag. The spec's spelling of the repository is kept (the
// runtime may report the same content under another name it pulled it by).
func repository(image string) string {
	if i := strings.LastIndexByte(image, ':'); i > strings.LastIndexByte(image, '/') {
		return image[:i]
	}
	return image
}
