package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/imapx"
)

// MailboxReconciler checks that a mailbox can be logged in to (the old connector's "Ping Server"), reads
// what the server offers, and creates the groupware special folders.
type MailboxReconciler struct {
	client.Client
	Recorder events.EventRecorder
}

// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxes,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxes/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailservers,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *MailboxReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var mbx mailshiftv1.Mailbox
	if err := r.Get(ctx, req.NamespacedName, &mbx); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !mbx.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // mailshift never deletes mail because an object went away
	}
	before := mbx.DeepCopy()
	interval := intervalOf(mbx.Spec.CheckInterval, 10*time.Minute)

	o := r.check(ctx, &mbx)
	st := &mbx.Status
	// A ping request (`mailshift ping MAILBOX`) is answered by the check just made: every annotation change
	// reaches this reconciler at once (setup.go's specChanged), and echoing the token tells the waiting
	// person that the status below is newer than the request.
	if token, ok := pingRequest(&mbx); ok {
		st.LastPingRequest = token
	}
	return finishCheck(ctx, r.Client, r.Recorder, before, &mbx,
		checkStatus{&st.Conditions, &st.LastCheckTime, &st.ConsecutiveFailures, &st.ObservedGeneration},
		readyReason(before.Status.Conditions), o, interval, func(m *mailshiftv1.Mailbox) any { return m.Status })
}

// pingRequest returns the Mailbox's ping-request token when it is one the status may carry: at most 64
// letters, digits, '.', '_' or '-'. Anything else is ignored rather than copied into the status.
func pingRequest(mbx *mailshiftv1.Mailbox) (string, bool) {
	token := mbx.Annotations[mailshiftv1.PingRequestAnnotation]
	if token == "" || len(token) > 64 {
		return "", false
	}
	for _, c := range token {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return "", false
		}
	}
	return token, true
}

// check logs in and refreshes everything the status shows; the returned outcome becomes the conditions.
func (r *MailboxReconciler) check(ctx context.Context, mbx *mailshiftv1.Mailbox) outcome {
	target, err := resolveMailbox(ctx, r.Client, mbx)
	if err != nil {
		return outcomeOf(err)
	}
	s, err := target.dial(ctx)
	if err != nil {
		return outcomeOf(err)
	}
	defer s.Close()
	st := &mbx.Status
	st.AuthenticatedAs = target.authAs
	st.Capabilities = s.Capabilities()
	if id, err := s.ID(ctx); err == nil && len(id) > 0 {
		st.ServerID = id
	}

	ns, err := s.Namespaces(ctx)
	if err != nil {
		return outcomeOf(fmt.Errorf("read NAMESPACE: %w", err))
	}
	st.Namespaces = namespaceStatus(ns)
	if quota, err := s.Quota(ctx); err == nil {
		st.Quota = quotaStatus(quota)
	} else {
		log.FromContext(ctx).Info("quota unavailable", "error", err.Error())
	}
	if err := r.ensureSpecialFolders(ctx, s, mbx); err != nil {
		return failedOutcome(mailshiftv1.ReasonSpecialFoldersFailed, "special folders: "+err.Error(), imapx.KindOf(err) == imapx.PermissionDenied)
	}
	folders, messages, err := s.Count(ctx)
	if err != nil {
		return outcomeOf(fmt.Errorf("count messages: %w", err))
	}
	st.Folders, st.Messages = int32(folders), messages
	how := "logged in as " + mbx.Spec.Login
	if target.authAs == "admin" {
		how += " (by admin impersonation)"
	}
	return readyOutcome(mailshiftv1.ReasonReady, fmt.Sprintf("%s; %s, %s", how, plural(folders, "folder"), plural(int(messages), "message")))
}

// specialFolderNames returns the folders the spec asks for, defaulting to all five with English names.
func specialFolderNames(spec mailshiftv1.SpecialFolders) []imapx.SpecialFolder {
	folders := spec.Folders
	if len(folders) == 0 {
		for _, t := range mailshiftv1.AllSpecialFolderTypes {
			folders = append(folders, mailshiftv1.SpecialFolder{Type: t})
		}
	}
	out := make([]imapx.SpecialFolder, 0, len(folders))
	for _, f := range folders {
		out = append(out, imapx.SpecialFolder{Type: kolabType(f.Type), Name: orDefault(f.Name, string(f.Type))})
	}
	return out
}

// kolabType maps the API's folder type to the Kolab folder-type value.
func kolabType(t mailshiftv1.SpecialFolderType) imapx.FolderType {
	switch t {
	case mailshiftv1.SpecialCalendar:
		return imapx.FolderEvent
	case mailshiftv1.SpecialContacts:
		return imapx.FolderContact
	case mailshiftv1.SpecialTasks:
		return imapx.FolderTask
	case mailshiftv1.SpecialNotes:
		return imapx.FolderNote
	default:
		return imapx.FolderJournal
	}
}

func apiType(t imapx.FolderType) mailshiftv1.SpecialFolderType {
	for _, a := range mailshiftv1.AllSpecialFolderTypes {
		if kolabType(a) == t {
			return a
		}
	}
	return mailshiftv1.SpecialFolderType(t)
}

func (r *MailboxReconciler) ensureSpecialFolders(ctx context.Context, s *imapx.Session, mbx *mailshiftv1.Mailbox) error {
	spec := mbx.Spec.SpecialFolders
	if spec.Disabled {
		mbx.Status.SpecialFolders = nil
		return nil
	}
	placement := imapx.Placement(orDefault(string(spec.Placement), string(mailshiftv1.PlacementAuto)))
	annotate := spec.Annotations != mailshiftv1.AnnotationNone
	res, err := s.EnsureSpecialFolders(ctx, placement, specialFolderNames(spec), annotate)
	if err != nil {
		return err
	}
	out := make([]mailshiftv1.SpecialFolderStatus, 0, len(res.Folders))
	var created []string
	for _, f := range res.Folders {
		// EnsuredFolder.Annotated means "written by this call"; the status says whether the folder carries its
		// annotation, which after a successful ensure is true wherever the server has METADATA.
		out = append(out, mailshiftv1.SpecialFolderStatus{Type: apiType(f.Type), Mailbox: f.Mailbox, Annotated: annotate && !res.MetadataUnsupported})
		if f.Created {
			created = append(created, f.Mailbox)
		}
	}
	mbx.Status.SpecialFolders = out
	if len(created) > 0 && r.Recorder != nil {
		r.Recorder.Eventf(mbx, nil, "Normal", "SpecialFoldersCreated", "CreateFolders", "created %s", strings.Join(created, ", "))
	}
	if spec.MailSpecialUse == nil || *spec.MailSpecialUse {
		if s.Has("CREATE-SPECIAL-USE") {
			if _, err := s.EnsureSpecialUse(ctx); err != nil {
				return fmt.Errorf("mail special-use folders: %w", err)
			}
		}
	}
	return nil
}

func namespaceStatus(ns imapx.Namespaces) *mailshiftv1.MailboxNamespaces {
	conv := func(in []imapx.Namespace) []mailshiftv1.NamespaceStatus {
		var out []mailshiftv1.NamespaceStatus
		for _, n := range in {
			d := ""
			if n.Delim != 0 {
				d = string(n.Delim)
			}
			out = append(out, mailshiftv1.NamespaceStatus{Prefix: n.Prefix, Delimiter: d})
		}
		return out
	}
	return &mailshiftv1.MailboxNamespaces{Personal: conv(ns.Personal), Other: conv(ns.Other), Shared: conv(ns.Shared)}
}

func quotaStatus(q []imapx.QuotaResource) []mailshiftv1.QuotaStatus {
	var out []mailshiftv1.QuotaStatus
	for _, r := range q {
		out = append(out, mailshiftv1.QuotaStatus{Root: r.Root, Resource: r.Name, Usage: r.Usage, Limit: r.Limit})
	}
	return out
}
