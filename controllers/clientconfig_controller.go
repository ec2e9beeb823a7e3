package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/selection"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/connectorsettings"
	"github.com/mailshift/mailshift/internal/outlookprofile"
)

// ClientConfigReconciler keeps, for each Mailbox, a ConfigMap with the files its user's desks need to run
// Outlook with the mailshift connector (internal/outlookprofile): outlook.prf, and freebusy.reg when a
// FreeBusyPublication of the Mailbox has a search URL. It only renders: it reads the Mailbox, its MailServer
// and its publications, never a Secret and never the network, so it neither waits for the Mailbox's IMAP
// check nor holds it up. It owns status.clientConfig and the ClientConfigReady condition of the Mailbox,
// applied under a field manager of its own beside the Mailbox controller's.
//
// The ConfigMap is named after the Mailbox (clientConfigMapName), controlled by it (the garbage collector
// deletes it with the Mailbox) and labelled so that the manager's cache, which holds no other ConfigMaps
// (CacheOptions), sees it changed or deleted and writes it again.
type ClientConfigReconciler struct {
	client.Client
	Recorder events.EventRecorder
}

// fieldManagerClientConfig owns status.clientConfig and the ClientConfigReady condition of Mailboxes.
const fieldManagerClientConfig = "mailshift-clientconfig-controller"

// Labels of the client configuration ConfigMaps; the keys are the free/busy files' (freebusy_store.go).
const clientConfigComponent = "client-config"

// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxes,verbs=get;list;watch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxes/status,verbs=get;update;patch
// The ConfigMap's controller reference blocks the Mailbox's deletion until it is gone, which needs this
// where the OwnerReferencesPermissionEnforcement admission plugin runs.
// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxes/finalizers,verbs=update
// +kubebuilder:rbac:groups=mailshift.io,resources=mailservers;freebusypublications,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *ClientConfigReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var mbx mailshiftv1.Mailbox
	if err := r.Get(ctx, req.NamespacedName, &mbx); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err) // the ConfigMap goes with it (owner reference)
	}
	if !mbx.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil
	}
	before := mbx.DeepCopy()
	previousReason := ""
	if c := meta.FindStatusCondition(mbx.Status.Conditions, mailshiftv1.ConditionClientConfigReady); c != nil {
		previousReason = c.Reason
	}
	cond := metav1.Condition{Type: mailshiftv1.ConditionClientConfigReady, ObservedGeneration: mbx.Generation}
	rendered, err := r.render(ctx, &mbx)
	if err == nil {
		err = r.keep(ctx, &mbx, rendered)
	}
	var re *refError
	switch {
	case err == nil:
		cond.Status, cond.Reason = metav1.ConditionTrue, mailshiftv1.ReasonClientConfigRendered
		cond.Message = fmt.Sprintf("%s in ConfigMap %s", strings.Join(rendered.names(), " and "), rendered.configMap.Name)
		mbx.Status.ClientConfig = rendered.status(mbx.Status.ClientConfig, time.Now())
	case errors.As(err, &re):
		// The files named in the status, if any, stay: those of the last settings that could be written.
		cond.Status, cond.Reason, cond.Message = metav1.ConditionFalse, re.reason, re.message
	default:
		return ctrl.Result{}, err
	}
	meta.SetStatusCondition(&mbx.Status.Conditions, cond)
	if err := r.writeStatus(ctx, before, &mbx); err != nil {
		if apierrors.IsConflict(err) {
			return ctrl.Result{RequeueAfter: time.Second}, nil
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if r.Recorder != nil && previousReason != cond.Reason {
		kind := corev1.EventTypeNormal
		if cond.Status != metav1.ConditionTrue {
			kind = corev1.EventTypeWarning
		}
		r.Recorder.Eventf(&mbx, nil, kind, cond.Reason, "WriteClientConfig", "%s", cond.Message)
	}
	return ctrl.Result{}, nil
}

// clientConfigOwned is the part of a Mailbox's status this controller applies.
type clientConfigOwned struct {
	ClientConfig *mailshiftv1.ClientConfigStatus `json:"clientConfig,omitempty"`
	Conditions   []metav1.Condition              `json:"conditions,omitempty"`
}

func clientConfigStatus(m *mailshiftv1.Mailbox) clientConfigOwned {
	var conds []metav1.Condition
	if c := meta.FindStatusCondition(m.Status.Conditions, mailshiftv1.ConditionClientConfigReady); c != nil {
		conds = []metav1.Condition{*c}
	}
	return clientConfigOwned{ClientConfig: m.Status.ClientConfig, Conditions: conds}
}

// writeStatus applies this controller's status fields when they changed. Unlike writeStatus of the
// controllers that own a whole status, it never takes over fields an older manager wrote by update
// (adoptStatusFields): those are the Mailbox controller's, and a manager that owned them would remove them
// with its next apply, which leaves them out.
func (r *ClientConfigReconciler) writeStatus(ctx context.Context, before, after *mailshiftv1.Mailbox) error {
	owned := clientConfigStatus(after)
	if equality.Semantic.DeepEqual(clientConfigStatus(before), owned) {
		return nil
	}
	return applyStatus(ctx, r.Client, fieldManagerClientConfig, after, owned, false)
}

// clientConfigRender is a Mailbox's client configuration: its files, the ConfigMap that holds them, and the
// publication whose search URL they carry.
type clientConfigRender struct {
	files       map[string][]byte
	hash        string
	configMap   *corev1.ConfigMap
	publication string
}

func (c *clientConfigRender) names() []string { return slices.Sorted(maps.Keys(c.files)) }

// status is status.clientConfig for these files; the update time stays while the content does.
func (c *clientConfigRender) status(prev *mailshiftv1.ClientConfigStatus, now time.Time) *mailshiftv1.ClientConfigStatus {
	st := &mailshiftv1.ClientConfigStatus{ConfigMapName: c.configMap.Name, Hash: c.hash, Files: c.names(), FreeBusyPublication: c.publication}
	if prev != nil && prev.Hash == c.hash && prev.UpdateTime != nil {
		st.UpdateTime = prev.UpdateTime
	} else {
		t := metav1.NewTime(now)
		st.UpdateTime = &t
	}
	return st
}

// render reads what the files depend on and writes them.
func (r *ClientConfigReconciler) render(ctx context.Context, mbx *mailshiftv1.Mailbox) (*clientConfigRender, error) {
	// Unlike resolveMailbox, no Secret is read: the files hold none.
	srv, err := mailboxServer(ctx, r.Client, mbx)
	if err != nil {
		return nil, err
	}
	pub, err := searchPublication(ctx, r.Client, mbx)
	if err != nil {
		return nil, err
	}
	return renderClientConfig(mbx, srv, pub)
}

// searchPublication is the Mailbox's FreeBusyPublication with a search URL, the first by name when there
// are several; nil when there is none.
func searchPublication(ctx context.Context, c client.Reader, mbx *mailshiftv1.Mailbox) (*mailshiftv1.FreeBusyPublication, error) {
	var list mailshiftv1.FreeBusyPublicationList
	if err := c.List(ctx, &list, client.InNamespace(mbx.Namespace), client.MatchingFields{indexMailboxRef: mbx.Name}); err != nil {
		return nil, fmt.Errorf("list FreeBusyPublications: %w", err)
	}
	var found *mailshiftv1.FreeBusyPublication
	for i := range list.Items {
		fb := &list.Items[i]
		if fb.Status.SearchURL == "" || !fb.DeletionTimestamp.IsZero() || fb.Spec.MailboxRef.Name != mbx.Name {
			continue
		}
		if found == nil || fb.Name < found.Name {
			found = fb
		}
	}
	return found, nil
}

// renderClientConfig writes the files of a Mailbox on srv, with pub's search URL when pub is not nil, and
// the ConfigMap that holds them. A value the connector refuses is a ClientConfigInvalid refError naming the
// field of the object it came from.
func renderClientConfig(mbx *mailshiftv1.Mailbox, srv *mailshiftv1.MailServer, pub *mailshiftv1.FreeBusyPublication) (*clientConfigRender, error) {
	p := outlookprofile.Profile{
		Connector: connectorsettings.Settings{
			Host: srv.Spec.Host, Port: int(srv.Spec.Port), TLS: connectorTLS(srv.Spec.TLS), AllowPlaintext: srv.Spec.InsecureAllowPlaintext,
			Login: mbx.Spec.Login, Address: mbx.Spec.Address,
		},
		Submission:  outlookprofile.Submission{AllowPlaintext: srv.Spec.InsecureAllowPlaintext},
		DisplayName: mbx.Spec.DisplayName,
	}
	if s := srv.Spec.Submission; s != nil {
		p.Submission.Host, p.Submission.Port = s.Host, int(s.Port)
		if s.TLS != "" {
			p.Submission.TLS = connectorTLS(s.TLS)
		}
	}
	out := &clientConfigRender{}
	if pub != nil {
		p.Connector.FreeBusySearchURL = pub.Status.SearchURL
		out.publication = pub.Name
	}
	files, err := outlookprofile.Render(p)
	if err != nil {
		var fe *connectorsettings.FieldError
		if !errors.As(err, &fe) {
			return nil, err
		}
		return nil, &refError{mailshiftv1.ReasonClientConfigInvalid, fmt.Sprintf("the Outlook connector would refuse %s: %s; status.clientConfig keeps the files of the last settings it accepted",
			clientConfigField(fe.Field, mbx, srv, pub), fe.Reason), true}
	}
	out.files = files.Map()
	out.hash = outlookprofile.Hash(out.files)
	out.configMap = clientConfigMap(mbx, out.files, out.hash)
	return out, nil
}

// connectorTLS is the connector's name of a MailServer TLS mode.
func connectorTLS(m mailshiftv1.TLSMode) string {
	switch m {
	case mailshiftv1.TLSImplicit:
		return connectorsettings.TLSImplicit
	case mailshiftv1.TLSNone:
		return connectorsettings.TLSNone
	}
	return connectorsettings.TLSStartTLS
}

// clientConfigField says where a PRF setting the connector refused comes from, in the words of the API.
func clientConfigField(prfKey string, mbx *mailshiftv1.Mailbox, srv *mailshiftv1.MailServer, pub *mailshiftv1.FreeBusyPublication) string {
	server := fmt.Sprintf("MailServer %s/%s ", srv.Namespace, srv.Name)
	mailbox := fmt.Sprintf("Mailbox %s ", mbx.Name)
	switch prfKey {
	case "Host":
		return server + "spec.host"
	case "Port":
		return server + "spec.port"
	case "TLS":
		return server + "spec.tls"
	case "SMTPServer":
		return server + "spec.submission.host"
	case "SMTPPort":
		return server + "spec.submission.port"
	case "SMTPSecureConnection":
		return server + "spec.submission.tls"
	case "Login", "SMTPUserName":
		return mailbox + "spec.login"
	case "EmailAddress":
		return mailbox + "spec.address"
	case "DisplayName":
		return mailbox + "spec.displayName"
	case "FreeBusySearchURL":
		if pub != nil {
			return fmt.Sprintf("FreeBusyPublication %s status.searchURL", pub.Name)
		}
	}
	return "the Outlook profile's " + prfKey
}

// clientConfigMap is the ConfigMap holding a Mailbox's files. They are UTF-16, so binary data.
func clientConfigMap(mbx *mailshiftv1.Mailbox, files map[string][]byte, hash string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Namespace:       mbx.Namespace,
			Name:            clientConfigMapName(mbx.Name),
			Labels:          map[string]string{freeBusyLabelComponent: clientConfigComponent, freeBusyLabelManagedBy: "mailshift"},
			Annotations:     map[string]string{mailshiftv1.ClientConfigHashAnnotation: hash},
			OwnerReferences: []metav1.OwnerReference{*metav1.NewControllerRef(mbx, mailshiftv1.GroupVersion.WithKind("Mailbox"))},
		},
		BinaryData: maps.Clone(files),
	}
}

// clientConfigMapName is "<mailbox>-outlook"; a Mailbox name too long for the suffix is cut and made unique
// again by a hash of the whole.
func clientConfigMapName(mailbox string) string {
	const suffix = "-outlook"
	if len(mailbox)+len(suffix) <= 253 {
		return mailbox + suffix
	}
	sum := sha256.Sum256([]byte(mailbox))
	tag := "-" + hex.EncodeToString(sum[:4])
	cut := strings.TrimRight(mailbox[:253-len(suffix)-len(tag)], ".-")
	return cut + tag + suffix
}

// keep creates or updates the ConfigMap. One of that name that the Mailbox does not control is left alone
// and reported; one its predecessor of the same name controlled (deleted and created again before the
// garbage collector came by) is taken over.
func (r *ClientConfigReconciler) keep(ctx context.Context, mbx *mailshiftv1.Mailbox, c *clientConfigRender) error {
	want := c.configMap
	var cur corev1.ConfigMap
	err := r.Get(ctx, client.ObjectKeyFromObject(want), &cur)
	switch {
	case apierrors.IsNotFound(err):
		// One created meanwhile (AlreadyExists) is read on the retry.
		if err := r.Create(ctx, want); err != nil {
			return fmt.Errorf("create ConfigMap %s: %w", want.Name, err)
		}
		return nil
	case err != nil:
		return fmt.Errorf("get ConfigMap %s: %w", want.Name, err)
	}
	owner := metav1.GetControllerOf(&cur)
	if owner == nil || owner.Kind != "Mailbox" || owner.APIVersion != mailshiftv1.GroupVersion.String() || (owner.UID != mbx.UID && owner.Name != mbx.Name) {
		by := "nothing of mailshift's"
		if owner != nil {
			by = fmt.Sprintf("%s %s", owner.Kind, owner.Name)
		}
		return &refError{mailshiftv1.ReasonClientConfigConflict, fmt.Sprintf("ConfigMap %s/%s, where the Outlook profile goes, exists and belongs to %s: rename or remove it",
			cur.Namespace, cur.Name, by), true}
	}
	if owner.UID == mbx.UID && equality.Semantic.DeepEqual(cur.BinaryData, want.BinaryData) && len(cur.Data) == 0 &&
		cur.Labels[freeBusyLabelComponent] == clientConfigComponent && cur.Labels[freeBusyLabelManagedBy] == "mailshift" &&
		cur.Annotations[mailshiftv1.ClientConfigHashAnnotation] == c.hash {
		return nil
	}
	if cur.Labels == nil {
		cur.Labels = map[string]string{}
	}
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	maps.Copy(cur.Labels, want.Labels)
	maps.Copy(cur.Annotations, want.Annotations)
	cur.OwnerReferences, cur.BinaryData, cur.Data = want.OwnerReferences, want.BinaryData, nil
	if err := r.Update(ctx, &cur); err != nil {
		return fmt.Errorf("update ConfigMap %s: %w", want.Name, err)
	}
	return nil
}

// cachedConfigMaps selects the ConfigMaps the manager's cache holds (CacheOptions): the served free/busy
// files and the Mailboxes' client configurations.
func cachedConfigMaps() labels.Selector {
	managed, err := labels.NewRequirement(freeBusyLabelManagedBy, selection.Equals, []string{"mailshift"})
	if err != nil {
		panic(err)
	}
	component, err := labels.NewRequirement(freeBusyLabelComponent, selection.In, []string{freeBusyComponent, clientConfigComponent})
	if err != nil {
		panic(err)
	}
	return labels.NewSelector().Add(*managed, *component)
}

// publicationChanged lets through what the files depend on: a publication created or deleted, its search
// URL or its Mailbox changed.
var publicationChanged = builder.WithPredicates(predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		old, okOld := e.ObjectOld.(*mailshiftv1.FreeBusyPublication)
		cur, okNew := e.ObjectNew.(*mailshiftv1.FreeBusyPublication)
		if !okOld || !okNew {
			return true
		}
		return old.Status.SearchURL != cur.Status.SearchURL || old.Spec.MailboxRef != cur.Spec.MailboxRef ||
			old.DeletionTimestamp.IsZero() != cur.DeletionTimestamp.IsZero()
	},
	GenericFunc: func(event.GenericEvent) bool { return false },
})

// publicationMailbox maps a FreeBusyPublication to its Mailbox (on an update, to the old one and the new).
func publicationMailbox(_ context.Context, o client.Object) []reconcile.Request {
	fb, ok := o.(*mailshiftv1.FreeBusyPublication)
	if !ok {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: fb.Namespace, Name: fb.Spec.MailboxRef.Name}}}
}

// setupClientConfig registers the client configuration controller. It uses the indexes SetupAll and
// setupFreeBusy register (a Mailbox's MailServer, a publication's Mailbox).
func setupClientConfig(mgr ctrl.Manager, opts Options) error {
	c := uncachedSecrets(mgr)
	return ctrl.NewControllerManagedBy(mgr).Named("mailbox-clientconfig").WithOptions(controllerOptions(opts)).
		For(&mailshiftv1.Mailbox{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&corev1.ConfigMap{}).
		Watches(&mailshiftv1.MailServer{}, handler.EnqueueRequestsFromMapFunc(usersOf(c, &mailshiftv1.MailboxList{}, indexServer, anyNamespaceKey)), specChanged).
		Watches(&mailshiftv1.FreeBusyPublication{}, handler.EnqueueRequestsFromMapFunc(publicationMailbox), publicationChanged).
		Complete(&ClientConfigReconciler{Client: c, Recorder: mgr.GetEventRecorder("mailshift-clientconfig")})
}
