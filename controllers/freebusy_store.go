package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// Where published free/busy files live, so that every replica can serve them.
//
// Only the leader reconciles, but every replica listens on the free/busy port: a Service in front of the
// replicas, a failover or a rolling update must not turn into 404s until the next publication. So the file
// a FreeBusyPublication with serveHTTP publishes is kept in a ConfigMap of its namespace, which it controls
// (deleted with it), and each replica answers from its own informer cache of those ConfigMaps.
//
//   - One ConfigMap per served name: its object name is derived from the file name (freeBusyConfigMapName),
//     so two publications of a namespace claiming one name meet at the API server, which lets only the
//     first create it. The name itself is in an annotation; the file under the key freebusy.vfb.
//   - Tenants stay apart as the paths do: /freebusy/<namespace>/<name>.vfb reads only that namespace's
//     ConfigMap, and a ConfigMap is served only while the FreeBusyPublication that controls it exists with
//     serveHTTP set. Someone who may write ConfigMaps but not FreeBusyPublications cannot publish through
//     the manager; the hashed object name says nothing about the file name to a reader of the namespace list.
//   - VFREEBUSY is not secret (it is served anonymously), so a ConfigMap rather than a Secret: the cache
//     holds only the labelled ones (CacheOptions), never the cluster's other ConfigMaps.
//   - A ConfigMap holds at most 1 MiB of data (the API server's limit); a larger file is refused with
//     FileTooLarge rather than cut. That is about 18,000 busy periods, 16 a day over the longest window.
//     The copy served until then is removed: the FTP copy is current, and an older HTTP copy served as if
//     it were would show busy times as free. Outlook shows "no information" for a 404 instead.

// Labels and annotations of the ConfigMaps holding served files.
const (
	freeBusyLabelComponent = "app.kubernetes.io/component"
	freeBusyLabelManagedBy = "app.kubernetes.io/managed-by"
	freeBusyComponent      = "freebusy-file"
	// freeBusyLabelOwner is the publication's UID: it finds a publication's files (a name can be 253
	// characters, too long for a label value).
	freeBusyLabelOwner = "mailshift.io/freebusy-publication-uid"
	// freeBusyAnnotationName is the served file name without .vfb, exactly as in the path.
	freeBusyAnnotationName = "mailshift.io/freebusy-name"
	// freeBusyAnnotationModified is when the content last changed (RFC 3339): Last-Modified on every
	// replica, and the same after a failover.
	freeBusyAnnotationModified = "mailshift.io/freebusy-modified"
	// freeBusyDataKey is the key of the file in the ConfigMap.
	freeBusyDataKey = "freebusy.vfb"
)

// MaxServedFreeBusyBytes is the largest file served over HTTP: what a ConfigMap's data may hold.
const MaxServedFreeBusyBytes = 1 << 20

// FreeBusyFileSelector selects the ConfigMaps that hold served files; the manager's cache holds only these.
func FreeBusyFileSelector() labels.Selector {
	return labels.SelectorFromSet(labels.Set{freeBusyLabelComponent: freeBusyComponent, freeBusyLabelManagedBy: "mailshift"})
}

// servedName is what a file name in a path may be: the CRD's pattern for spec.name, bounded.
var servedName = regexp.MustCompile(`^[A-Za-z0-9._+-]{1,253}$`)

// freeBusyConfigMapName is the ConfigMap of a served name: readable where the name allows, unique by a hash of
// the exact name (names differing only in case or in characters an object name cannot hold get their own).
func freeBusyConfigMapName(name string) string {
	sum := sha256.Sum256([]byte(name))
	readable := strings.Trim(nonObjectName.ReplaceAllString(strings.ToLower(name), "-"), "-")
	if len(readable) > 40 {
		readable = strings.TrimRight(readable[:40], "-")
	}
	if readable == "" {
		return "freebusy-" + hex.EncodeToString(sum[:8])
	}
	return "freebusy-" + readable + "-" + hex.EncodeToString(sum[:8])
}

var nonObjectName = regexp.MustCompile(`[^a-z0-9-]+`)

// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update;delete

// FreeBusyFiles keeps the .vfb files of FreeBusyPublications with serveHTTP in ConfigMaps, and serves them
// read-only at /freebusy/<namespace>/<name>.vfb (freebusy_http.go), so that a publication only ever speaks
// for its own namespace. The leader's reconciles write; every replica reads from its cache.
type FreeBusyFiles struct {
	// GlobalNamespace, when set, is the one namespace whose publications are also served at the short path
	// /freebusy/<name>.vfb (what Outlook's %NAME% search asks for). Only an administrator sets it (a manager
	// flag): a name there is trusted by every Outlook user of the server.
	GlobalNamespace string

	client client.Client // writes (the leader)
	cache  client.Reader // what HTTP answers from: ConfigMaps and FreeBusyPublications
	api    client.Reader // the one ConfigMap a create found already there, and a publication's list
}

// NewFreeBusyFiles returns the files kept through c, read from cache (the manager's informer cache on every
// replica) and, where the cache may lag a write, from api.
func NewFreeBusyFiles(c client.Client, cache, api client.Reader) *FreeBusyFiles {
	return &FreeBusyFiles{client: c, cache: cache, api: api}
}

// HTTPPath is where namespace's file of that name is served: the short global path for the trusted
// namespace, the namespaced path otherwise.
func (f *FreeBusyFiles) HTTPPath(namespace, name string) string {
	if f.GlobalNamespace != "" && namespace == f.GlobalNamespace {
		return "/freebusy/" + name + ".vfb"
	}
	return "/freebusy/" + namespace + "/" + name + ".vfb"
}

// nameTaken is the NameConflict of a name another publication of the namespace serves.
func nameTaken(name, by string) error {
	return &refError{mailshiftv1.ReasonNameConflict, fmt.Sprintf("name taken: %s.vfb is served for %s; give one of them another spec.name",
		name, by), true}
}

// Conflict says whether another publication of the namespace serves a file of that name (from the cache;
// Put settles a race at the API server).
func (f *FreeBusyFiles) Conflict(ctx context.Context, fb *mailshiftv1.FreeBusyPublication, name string) error {
	var cm corev1.ConfigMap
	if err := f.cache.Get(ctx, types.NamespacedName{Namespace: fb.Namespace, Name: freeBusyConfigMapName(name)}, &cm); err != nil {
		return nil
	}
	return claimable(&cm, fb, name)
}

// Has reports whether fb's file of that name is being served.
func (f *FreeBusyFiles) Has(ctx context.Context, fb *mailshiftv1.FreeBusyPublication, name string) bool {
	var cm corev1.ConfigMap
	if err := f.cache.Get(ctx, types.NamespacedName{Namespace: fb.Namespace, Name: freeBusyConfigMapName(name)}, &cm); err != nil {
		return false
	}
	owner := metav1.GetControllerOf(&cm)
	return owner != nil && owner.UID == fb.UID && cm.Annotations[freeBusyAnnotationName] == name
}

// claimable says whether fb may write cm as its file of that name: cm is fb's, or was its predecessor's
// (a publication deleted and created again under the same name, whose ConfigMap the garbage collector has
// not removed yet).
func claimable(cm *corev1.ConfigMap, fb *mailshiftv1.FreeBusyPublication, name string) error {
	owner := metav1.GetControllerOf(cm)
	if owner == nil || owner.Kind != "FreeBusyPublication" {
		return &refError{mailshiftv1.ReasonNameConflict, fmt.Sprintf("ConfigMap %s/%s, where %s.vfb would be kept, exists and belongs to no FreeBusyPublication; remove it",
			cm.Namespace, cm.Name, name), true}
	}
	if owner.UID != fb.UID && owner.Name != fb.Name || cm.Annotations[freeBusyAnnotationName] != name {
		return nameTaken(name, cm.Namespace+"/"+owner.Name)
	}
	return nil
}

// Put keeps data as fb's file of that name, with modified as its Last-Modified, and stops serving fb's files
// of earlier names. An unchanged file is not written again (its Last-Modified stays). A file over
// MaxServedFreeBusyBytes is refused with FileTooLarge, and fb's files stop being served.
func (f *FreeBusyFiles) Put(ctx context.Context, fb *mailshiftv1.FreeBusyPublication, name string, data []byte, modified time.Time) error {
	if len(data) > MaxServedFreeBusyBytes {
		if err := f.remove(ctx, fb, ""); err != nil {
			return err
		}
		return &refError{mailshiftv1.ReasonFileTooLarge, fmt.Sprintf(
			"the free/busy file is %d bytes, over the %d bytes (1 MiB) the manager's HTTP copy holds, and is no longer served over HTTP: shorten spec.window or set serveHTTP false (the FTP copy was published)",
			len(data), MaxServedFreeBusyBytes), true}
	}
	want := freeBusyConfigMap(fb, name, data, modified)
	err := f.client.Create(ctx, want)
	switch {
	case err == nil:
	case apierrors.IsAlreadyExists(err):
		var cur corev1.ConfigMap
		if err := f.api.Get(ctx, client.ObjectKeyFromObject(want), &cur); err != nil {
			return serveError(want, err)
		}
		if err := claimable(&cur, fb, name); err != nil {
			return err
		}
		if owner := metav1.GetControllerOf(&cur); owner.UID != fb.UID || !sameFile(&cur, want) {
			cur.Labels, cur.Annotations, cur.OwnerReferences = want.Labels, want.Annotations, want.OwnerReferences
			cur.Data, cur.BinaryData = want.Data, want.BinaryData
			if err := f.client.Update(ctx, &cur); err != nil {
				return serveError(want, err)
			}
		}
	default:
		return serveError(want, err)
	}
	return f.remove(ctx, fb, want.Name)
}

// Remove stops serving fb's files.
func (f *FreeBusyFiles) Remove(ctx context.Context, fb *mailshiftv1.FreeBusyPublication) error {
	return f.remove(ctx, fb, "")
}

// remove deletes fb's ConfigMaps but keep. It lists from the API server: a ConfigMap created moments ago
// may not be in the cache yet, and a publication has one or two.
func (f *FreeBusyFiles) remove(ctx context.Context, fb *mailshiftv1.FreeBusyPublication, keep string) error {
	if fb.UID == "" {
		return nil
	}
	var list corev1.ConfigMapList
	if err := f.api.List(ctx, &list, client.InNamespace(fb.Namespace), client.MatchingLabels{freeBusyLabelOwner: string(fb.UID)}); err != nil {
		return serveError(&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: fb.Namespace, Name: "(list)"}}, err)
	}
	for i := range list.Items {
		cm := &list.Items[i]
		if cm.Name == keep {
			continue
		}
		if err := f.client.Delete(ctx, cm, client.Preconditions{UID: &cm.UID}); err != nil && !apierrors.IsNotFound(err) {
			return serveError(cm, err)
		}
	}
	return nil
}

// serveError is an API failure to keep the HTTP copy: retried, unless the manager lacks the right.
func serveError(cm *corev1.ConfigMap, err error) error {
	return &refError{mailshiftv1.ReasonServeFailed, fmt.Sprintf("keeping the HTTP copy in ConfigMap %s/%s: %v", cm.Namespace, cm.Name, err),
		apierrors.IsForbidden(err)}
}

// freeBusyConfigMap is the ConfigMap holding fb's file of that name.
func freeBusyConfigMap(fb *mailshiftv1.FreeBusyPublication, name string, data []byte, modified time.Time) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: fb.Namespace,
			Name:      freeBusyConfigMapName(name),
			Labels: map[string]string{freeBusyLabelComponent: freeBusyComponent, freeBusyLabelManagedBy: "mailshift",
				freeBusyLabelOwner: string(fb.UID)},
			Annotations: map[string]string{freeBusyAnnotationName: name,
				freeBusyAnnotationModified: modified.UTC().Format(time.RFC3339)},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(fb, mailshiftv1.GroupVersion.WithKind("FreeBusyPublication"))},
		},
	}
	// Text is kept as text, readable with kubectl; anything else byte for byte.
	if utf8.Valid(data) {
		cm.Data = map[string]string{freeBusyDataKey: string(data)}
	} else {
		cm.BinaryData = map[string][]byte{freeBusyDataKey: data}
	}
	return cm
}

// sameFile says whether cur already holds what want would write (Last-Modified aside).
func sameFile(cur, want *corev1.ConfigMap) bool {
	return string(fileData(cur)) == string(fileData(want)) && cur.Annotations[freeBusyAnnotationName] == want.Annotations[freeBusyAnnotationName] &&
		cur.Labels[freeBusyLabelOwner] == want.Labels[freeBusyLabelOwner] && cur.Labels[freeBusyLabelComponent] == freeBusyComponent
}

// fileData is the file a ConfigMap holds.
func fileData(cm *corev1.ConfigMap) []byte {
	if s, ok := cm.Data[freeBusyDataKey]; ok {
		return []byte(s)
	}
	return cm.BinaryData[freeBusyDataKey]
}

// servedFile is a file as HTTP serves it.
type servedFile struct {
	data     []byte
	modified time.Time
}

// lookup finds the file served at namespace/name: the ConfigMap of that name, controlled by a
// FreeBusyPublication that exists with serveHTTP set. Anything else is not found.
func (f *FreeBusyFiles) lookup(ctx context.Context, namespace, name string) (servedFile, bool, error) {
	var cm corev1.ConfigMap
	if err := f.cache.Get(ctx, types.NamespacedName{Namespace: namespace, Name: freeBusyConfigMapName(name)}, &cm); err != nil {
		return servedFile{}, false, ignoreNotServed(err)
	}
	owner := metav1.GetControllerOf(&cm)
	if cm.Annotations[freeBusyAnnotationName] != name || cm.Labels[freeBusyLabelComponent] != freeBusyComponent ||
		owner == nil || owner.Kind != "FreeBusyPublication" || owner.APIVersion != mailshiftv1.GroupVersion.String() {
		return servedFile{}, false, nil
	}
	var fb mailshiftv1.FreeBusyPublication
	if err := f.cache.Get(ctx, types.NamespacedName{Namespace: namespace, Name: owner.Name}, &fb); err != nil {
		return servedFile{}, false, ignoreNotServed(err)
	}
	if fb.UID != owner.UID || !fb.DeletionTimestamp.IsZero() || !fb.Spec.ServeHTTP {
		return servedFile{}, false, nil
	}
	modified, _ := time.Parse(time.RFC3339, cm.Annotations[freeBusyAnnotationModified])
	return servedFile{data: fileData(&cm), modified: modified}, true, nil
}

// ignoreNotServed keeps only the errors that mean "cannot tell now" (the cache is not ready in time):
// not found, and a namespace outside the watched ones, are simply not served.
func ignoreNotServed(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
