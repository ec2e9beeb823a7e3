package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/migrationrun"
)

// labelBatch marks the MailboxMigrations a MigrationBatch stamped out.
const labelBatch = "mailshift.io/batch"

// Reasons of MigrationBatch conditions.
const (
	ReasonSomeFailed  = "SomeFailed"
	ReasonNoMailboxes = "NoMailboxes"
	// ReasonInvalidTemplate: a template field uses something other than the four placeholders, or renders
	// too long.
	ReasonInvalidTemplate = "InvalidTemplate"
)

// BatchReconciler stamps out one MailboxMigration per selected Mailbox, never more than maxParallel
// unfinished at a time, and sums their progress. A Mailbox that gets the label later joins the batch; one
// that loses it keeps its migration (stopping a copy halfway helps nobody).
type BatchReconciler struct {
	client.Client
	// APIReader counts the batch's migrations without the cache's delay: a migration created a moment ago
	// must count against maxParallel even before the cache has seen it.
	APIReader client.Reader
	Recorder  events.EventRecorder
}

// +kubebuilder:rbac:groups=mailshift.io,resources=migrationbatches,verbs=get;list;watch;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=migrationbatches/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxmigrations,verbs=create;update;patch

func (r *BatchReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var b mailshiftv1.MigrationBatch
	if err := r.Get(ctx, req.NamespacedName, &b); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !b.DeletionTimestamp.IsZero() {
		return ctrl.Result{}, nil // the garbage collector removes the migrations, which cancel themselves
	}
	before := b.DeepCopy()
	o, requeue, err := r.sync(ctx, &b)
	if err != nil {
		return ctrl.Result{}, err
	}
	b.Status.ObservedGeneration = b.Generation
	recordTransition(r.Recorder, &b, readyReason(before.Status.Conditions), o, "Migrate")
	o.apply(&b.Status.Conditions, b.Generation)
	if res, err := writeStatus(ctx, r.Client, fieldManagerBatch, before, &b, batchControllerStatus); err != nil || !res.IsZero() {
		return res, err
	}
	return ctrl.Result{RequeueAfter: requeue}, nil
}

// batchControllerStatus is the part of a MigrationBatch's status this controller owns: the counters and the
// standard conditions.
func batchControllerStatus(b *mailshiftv1.MigrationBatch) any {
	s := b.Status
	s.Conditions = standardConditions(s.Conditions)
	return s
}

func (r *BatchReconciler) sync(ctx context.Context, b *mailshiftv1.MigrationBatch) (outcome, time.Duration, error) {
	// A bad template stops the batch before anything is listed or stamped out.
	if _, err := r.desired(b, &mailshiftv1.Mailbox{}); err != nil {
		return failedOutcome(ReasonInvalidTemplate, err.Error(), true), 0, nil
	}
	sel, err := metav1.LabelSelectorAsSelector(&b.Spec.Selector)
	if err != nil {
		return failedOutcome(mailshiftv1.ReasonInvalidSpec, fmt.Sprintf("spec.selector: %v", err), true), 0, nil
	}
	var mbxs mailshiftv1.MailboxList
	if err := r.List(ctx, &mbxs, client.InNamespace(b.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return outcome{}, 0, err
	}
	sort.Slice(mbxs.Items, func(i, j int) bool { return mbxs.Items[i].Name < mbxs.Items[j].Name })
	var children mailshiftv1.MailboxMigrationList
	if err := r.APIReader.List(ctx, &children, client.InNamespace(b.Namespace), client.MatchingLabels{labelBatch: migrationrun.LabelValue(b.Name)}); err != nil {
		return outcome{}, 0, err
	}
	byMailbox := map[string]*mailshiftv1.MailboxMigration{}
	active := 0
	for i := range children.Items {
		c := &children.Items[i]
		if !metav1.IsControlledBy(c, b) {
			continue
		}
		byMailbox[c.Spec.MailboxRef.Name] = c
		if !finished(c) {
			active++
		}
	}
	maxParallel := int(b.Spec.MaxParallel)
	if maxParallel <= 0 {
		maxParallel = 5
	}
	// Every Mailbox's migration is rendered before any is written: one that cannot be leaves none half done.
	wants := make([]*mailshiftv1.MailboxMigration, len(mbxs.Items))
	for i := range mbxs.Items {
		if wants[i], err = r.desired(b, &mbxs.Items[i]); err != nil {
			return failedOutcome(ReasonInvalidTemplate, fmt.Sprintf("Mailbox %s: %v", mbxs.Items[i].Name, err), true), 0, nil
		}
	}
	for i := range mbxs.Items {
		mbx := &mbxs.Items[i]
		want := wants[i]
		cur := byMailbox[mbx.Name]
		switch {
		case cur == nil:
			if b.Spec.Suspend || active >= maxParallel {
				continue
			}
			if err := r.Create(ctx, want); err != nil && !apierrors.IsAlreadyExists(err) {
				return outcome{}, 0, err
			}
			byMailbox[mbx.Name] = want
			active++
		case !equality.Semantic.DeepEqual(cur.Spec, want.Spec) || !equality.Semantic.DeepEqual(cur.Labels, want.Labels):
			// The template changed (or the batch was suspended or resumed): the migration follows; a finished
			// one makes a delta pass. A patch, not an update: an update carries the resourceVersion, and a
			// running migration's worker changes that every second with its progress.
			unchanged := client.MergeFrom(cur.DeepCopy())
			cur.Spec = want.Spec
			cur.Labels = want.Labels
			cur.Annotations = want.Annotations
			if err := r.Patch(ctx, cur, unchanged); err != nil && !apierrors.IsNotFound(err) {
				return outcome{}, 0, err
			}
		}
	}

	st := &b.Status
	*st = mailshiftv1.MigrationBatchStatus{ObservedGeneration: st.ObservedGeneration, Conditions: st.Conditions, Total: int32(len(mbxs.Items))}
	var itemsLeft int64
	var rate float64
	for i := range mbxs.Items {
		c := byMailbox[mbxs.Items[i].Name]
		phase := mailshiftv1.PhasePending
		if c != nil && c.Status.Phase != "" {
			phase = c.Status.Phase
		}
		switch phase {
		case mailshiftv1.PhaseRunning, mailshiftv1.PhaseSuspended:
			st.Running++
		case mailshiftv1.PhaseSucceeded:
			st.Succeeded++
		case mailshiftv1.PhaseFailed:
			st.Failed++
		default:
			st.Pending++
		}
		if c != nil && c.Status.Progress != nil {
			p := c.Status.Progress
			st.BytesCopied += p.BytesCopied
			st.BytesTotal += p.BytesTotal
			if phase == mailshiftv1.PhaseRunning {
				itemsLeft += max(0, p.ItemsTotal-p.ItemsCopied-p.ItemsSkipped-p.ItemsFailed)
				if perSecond, err := strconv.ParseFloat(p.ItemsPerSecond, 64); err == nil {
					rate += perSecond
				}
			}
		}
	}
	if rate > 0 && itemsLeft > 0 {
		// Mailboxes not started yet are not in this estimate: their size is unknown until they start.
		eta := metav1.NewTime(time.Now().Add(time.Duration(float64(itemsLeft) / rate * float64(time.Second))).Truncate(time.Second))
		st.ETA = &eta
	}
	summary := fmt.Sprintf("%d mailboxes: %d pending, %d running, %d succeeded, %d failed", st.Total, st.Pending, st.Running, st.Succeeded, st.Failed)
	switch {
	case st.Total == 0 && b.Spec.Suspend:
		return suspendedOutcome("suspended: no Mailbox matches spec.selector yet"), 0, nil
	case st.Total == 0:
		return failedOutcome(ReasonNoMailboxes, "no Mailbox matches spec.selector yet", false), 0, nil
	case st.Succeeded == st.Total:
		return readyOutcome(ReasonCompleted, summary), 0, nil
	case st.Failed > 0 && st.Succeeded+st.Failed == st.Total:
		return failedOutcome(ReasonSomeFailed, summary, true), 0, nil
	case b.Spec.Suspend:
		return suspendedOutcome("suspended: " + summary), 0, nil
	}
	return failedOutcome(mailshiftv1.ReasonProgressing, summary, false), 0, nil
}

func finished(m *mailshiftv1.MailboxMigration) bool {
	// Finished for the spec it has now: a migration whose spec changed after it finished is running again.
	done := m.Status.Phase == mailshiftv1.PhaseSucceeded || m.Status.Phase == mailshiftv1.PhaseFailed
	return done && m.Status.ObservedGeneration == m.Generation
}

// desired is the MailboxMigration the batch wants for mbx.
func (r *BatchReconciler) desired(b *mailshiftv1.MigrationBatch, mbx *mailshiftv1.Mailbox) (*mailshiftv1.MailboxMigration, error) {
	spec := b.Spec.Template.Spec.DeepCopy()
	vars := templateVars{Login: mbx.Spec.Login, Address: mbx.Spec.Address, Name: mbx.Name}
	vars.LocalPart, _, _ = strings.Cut(orDefault(mbx.Spec.Address, mbx.Spec.Login), "@")
	render := func(field, s string) (string, error) {
		out, err := vars.render(s)
		if err != nil {
			return "", fmt.Errorf("spec.template.spec.%s: %v", field, err)
		}
		return out, nil
	}
	var err error
	if pst := spec.Source.PST; pst != nil {
		if pst.Path, err = render("source.pst.path", pst.Path); err != nil {
			return nil, err
		}
		if pvc := pst.Volume.PersistentVolumeClaim; pvc != nil {
			if pvc.ClaimName, err = render("source.pst.volume.persistentVolumeClaim.claimName", pvc.ClaimName); err != nil {
				return nil, err
			}
		}
	}
	if im := spec.Source.IMAP; im != nil {
		if im.Login, err = render("source.imap.login", im.Login); err != nil {
			return nil, err
		}
	}
	spec.Suspend = spec.Suspend || b.Spec.Suspend
	labels := map[string]string{labelBatch: migrationrun.LabelValue(b.Name)}
	for k, v := range b.Spec.Template.Metadata.Labels {
		labels[k] = v
	}
	m := &mailshiftv1.MailboxMigration{
		ObjectMeta: metav1.ObjectMeta{Namespace: b.Namespace, Name: childName(b.Name, mbx.Name), Labels: labels,
			Annotations: b.Spec.Template.Metadata.Annotations},
		Spec: mailshiftv1.MailboxMigrationSpec{MailboxRef: mailshiftv1.LocalObjectRef{Name: mbx.Name}, MigrationSettings: *spec},
	}
	if err := controllerutil.SetControllerReference(b, m, r.Scheme()); err != nil {
		return nil, err
	}
	return m, nil
}

type templateVars struct{ Login, Address, LocalPart, Name string }

// maxRenderedLength bounds a rendered template field (a path, a claim name, a login).
const maxRenderedLength = 4096

// templatePlaceholders are the only things a template field may contain between {{ and }}, exactly so
// written. They are replaced literally: a template is data, never a program, so no template can loop,
// branch or grow beyond its placeholders' values.
var templatePlaceholders = []string{"{{.Login}}", "{{.Address}}", "{{.LocalPart}}", "{{.Name}}"}

// render substitutes the placeholders in s. Any other {{ is an error, and so is a result longer than
// maxRenderedLength.
func (v templateVars) render(s string) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	var strip []string
	for _, p := range templatePlaceholders {
		strip = append(strip, p, "")
	}
	if rest := strings.NewReplacer(strip...).Replace(s); strings.Contains(rest, "{{") {
		bad := rest[strings.Index(rest, "{{"):]
		if end := strings.Index(bad, "}}"); end >= 0 {
			bad = bad[:end+2]
		}
		if len(bad) > 40 {
			bad = bad[:40] + "…"
		}
		return "", fmt.Errorf("%q is not a placeholder: only %s are replaced (templates are not programs)", bad,
			strings.Join(templatePlaceholders, ", "))
	}
	out := strings.NewReplacer("{{.Login}}", v.Login, "{{.Address}}", v.Address, "{{.LocalPart}}", v.LocalPart, "{{.Name}}", v.Name).Replace(s)
	if len(out) > maxRenderedLength {
		return "", fmt.Errorf("renders %d bytes, more than %d", len(out), maxRenderedLength)
	}
	return out, nil
}

// childName is "<batch>-<mailbox>", shortened with a hash when too long for a name.
func childName(batch, mailbox string) string {
	n := batch + "-" + mailbox
	if len(n) <= 63 {
		return n
	}
	h := sha256.Sum256([]byte(n))
	return truncateName(n, 52) + "-" + hex.EncodeToString(h[:])[:10]
}
