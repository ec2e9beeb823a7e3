package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
)

// MailboxReconciler checks that a mailbox can be logged in to (the old connector's "Ping Server"), reads
// what the server offers, and creates the groupware special folders. The check runs in the background
// (netcheck.go); Reconcile only resolves references and writes results.
type MailboxReconciler struct {
	client.Client
	Recorder events.EventRecorder

	checks *netChecks[mailboxCheck]
}

// mailboxCheck is one finished check: the outcome, and the status fields it read from the server.
type mailboxCheck struct {
	o      outcome
	status mailshiftv1.MailboxStatus
}

func (c mailboxCheck) result() outcome { return c.o }

// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxes,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxes/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailservers,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// A refresh token the token endpoint replaced is written back into the Mailbox's Secret (see tokenCache.keep).
// +kubebuilder:rbac:groups="",resources=secrets,verbs=patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *MailboxReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var mbx mailshiftv1.Mailbox
	if err := r.Get(ctx, req.NamespacedName, &mbx); err != nil {
		if apierrors.IsNotFound(err) {
			r.checks.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !mbx.DeletionTimestamp.IsZero() {
		r.checks.forget(req.NamespacedName)
		return ctrl.Result{}, nil // mailshift never deletes mail because an object went away
	}
	before := mbx.DeepCopy()
	interval := intervalOf(mbx.Spec.CheckInterval, 10*time.Minute)
	st := &mbx.Status
	cs := checkStatus{&st.Conditions, &st.LastCheckTime, &st.ConsecutiveFailures, &st.ObservedGeneration}
	statusOf := mailboxControllerStatus
	// A ping request (`mailshift ping MAILBOX`) is answered by a check made after it: every annotation change
	// reaches this reconciler at once (setup.go's specChanged), the token is part of the check's inputs, and
	// echoing it tells the waiting person that the status is newer than the request.
	token, hasToken := pingRequest(&mbx)

	target, err := resolveMailbox(ctx, r.Client, &mbx)
	if err != nil {
		// Nothing to dial: the answer is known now.
		r.checks.forget(req.NamespacedName)
		if hasToken {
			st.LastPingRequest = token
		}
		res, _, err := finishCheck(ctx, r.Client, fieldManagerMailbox, r.Recorder, before, &mbx, cs, readyReason(before.Status.Conditions),
			outcomeOf(err), time.Now(), interval, statusOf)
		return res, err
	}
	work := mbx.DeepCopy()
	return periodicCheck[*mailshiftv1.Mailbox, mailboxCheck]{
		checks: r.checks, manager: fieldManagerMailbox, before: before, after: &mbx, st: cs, interval: interval,
		// Any new ping-request value asks for a check, a token or not (only tokens are echoed).
		version: inputVersion(mbx.Generation, mbx.Annotations[mailshiftv1.PingRequestAnnotation], mbx.Spec, target.endpoint, target.creds, target.authAs, target.tokenConfig),
		slot:    serverSlotOf(target.server),
		run: func(ctx context.Context) mailboxCheck {
			o := r.check(ctx, work, target)
			return mailboxCheck{o: o, status: work.Status}
		},
		fill: func(c mailboxCheck) {
			st.AuthenticatedAs, st.Capabilities, st.ServerID = c.status.AuthenticatedAs, c.status.Capabilities, c.status.ServerID
			st.Namespaces, st.Quota, st.SpecialFolders = c.status.Namespaces, c.status.Quota, c.status.SpecialFolders
			st.Folders, st.Messages = c.status.Folders, c.status.Messages
			if hasToken {
				st.LastPingRequest = token
			}
		},
		status:   statusOf,
		checking: fmt.Sprintf("logging in to MailServer %s at %s", target.server.Name, target.endpoint.Address()),
	}.reconcile(ctx, r.Client, r.Recorder)
}

// mailboxControllerStatus is the part of a Mailbox's status this controller owns: all of it but
// status.clientConfig and the conditions other than Ready, Reconciling and Stalled, which the client
// configuration controller applies under its own field manager. Sending them too would make this controller
// their co-owner, and its next write would put back whatever it had read.
func mailboxControllerStatus(m *mailshiftv1.Mailbox) any {
	s := m.Status
	s.ClientConfig = nil
	s.Conditions = standardConditions(s.Conditions)
	return s
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

// check logs in and refreshes everything the status shows in mbx (a copy of its own); the returned
// outcome becomes the conditions. It runs in the background.
func (r *MailboxReconciler) check(ctx context.Context, mbx *mailshiftv1.Mailbox, target *mailboxTarget) outcome {
	s, err := target.dial(ctx)
	if err != nil {
		return outcomeOf(err)
	}
	defer s.Close()
	st := &mbx.Status
	st.AuthenticatedAs = target.authAs
	st.Capabilities = s.Capabilities()
	// One round trip for the namespaces, ID, folders and subscriptions, which the special folders are
	// decided from.
	sv, err := s.Survey(ctx)
	if err != nil {
		return outcomeOf(fmt.Errorf("read NAMESPACE and folders: %w", err))
	}
	if len(sv.ID) > 0 {
		st.ServerID = sv.ID
	}
	st.Namespaces = namespaceStatus(sv.Namespaces)
	if quota, err := s.Quota(ctx); err == nil {
		st.Quota = quotaStatus(quota)
	} else {
		log.FromContext(ctx).Info("quota unavailable", "error", err.Error())
	}
	if err := r.ensureSpecialFolders(ctx, s, &sv, mbx); err != nil {
		return failedOutcome(mailshiftv1.ReasonSpecialFoldersFailed, "special folders: "+err.Error(), imapconn.KindOf(err) == imapconn.PermissionDenied)
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
func specialFolderNames(spec mailshiftv1.SpecialFolders) []imapsession.SpecialFolder {
	folders := spec.Folders
	if len(folders) == 0 {
		for _, t := range mailshiftv1.AllSpecialFolderTypes {
			folders = append(folders, mailshiftv1.SpecialFolder{Type: t})
		}
	}
	out := make([]imapsession.SpecialFolder, 0, len(folders))
	for _, f := range folders {
		out = append(out, imapsession.SpecialFolder{Type: kolabType(f.Type), Name: orDefault(f.Name, string(f.Type))})
	}
	return out
}

// kolabType maps the API's folder type to the Kolab folder-type value.
func kolabType(t mailshiftv1.SpecialFolderType) imapsession.FolderType {
	switch t {
	case mailshiftv1.SpecialCalendar:
		return imapsession.FolderEvent
	case mailshiftv1.SpecialContacts:
		return imapsession.FolderContact
	case mailshiftv1.SpecialTasks:
		return imapsession.FolderTask
	case mailshiftv1.SpecialNotes:
		return imapsession.FolderNote
	default:
		return imapsession.FolderJournal
	}
}

func apiType(t imapsession.FolderType) mailshiftv1.SpecialFolderType {
	for _, a := range mailshiftv1.AllSpecialFolderTypes {
		if kolabType(a) == t {
			return a
		}
	}
	return mailshiftv1.SpecialFolderType(t)
}

func (r *MailboxReconciler) ensureSpecialFolders(ctx context.Context, s *imapsession.Session, sv *imapsession.Survey, mbx *mailshiftv1.Mailbox) error {
	spec := mbx.Spec.SpecialFolders
	if spec.Disabled {
		mbx.Status.SpecialFolders = nil
		return nil
	}
	placement := imapsession.Placement(orDefault(string(spec.Placement), string(mailshiftv1.PlacementAuto)))
	annotate := spec.Annotations != mailshiftv1.AnnotationNone
	res, err := s.EnsureSpecialFoldersIn(ctx, sv, placement, specialFolderNames(spec), annotate)
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

func namespaceStatus(ns imapconn.Namespaces) *mailshiftv1.MailboxNamespaces {
	conv := func(in []imapconn.Namespace) []mailshiftv1.NamespaceStatus {
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

func quotaStatus(q []imapsession.QuotaResource) []mailshiftv1.QuotaStatus {
	var out []mailshiftv1.QuotaStatus
	for _, r := range q {
		out = append(out, mailshiftv1.QuotaStatus{Root: r.Root, Resource: r.Name, Usage: r.Usage, Limit: r.Limit})
	}
	return out
}
