package controllers

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/log"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/calendarsource"
	"github.com/mailshift/mailshift/internal/freebusy"
	"github.com/mailshift/mailshift/internal/ftppublish"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/opmetrics"
)

// unpublishFinalizer makes deleting a FreeBusyPublication remove the file it published.
const unpublishFinalizer = "mailshift.io/unpublish-freebusy"

// buildTimeout bounds reading a mailbox's calendars and computing its free/busy; publishTimeout one upload.
const (
	buildTimeout   = 5 * time.Minute
	publishTimeout = 2 * time.Minute
)

// FreeBusyReconciler computes a mailbox's free/busy from its calendar folders and publishes it to FTP
// (and, with serveHTTP, from the manager), on an interval and whenever the calendar changes.
type FreeBusyReconciler struct {
	client.Client
	Recorder events.EventRecorder
	// Files are the files the manager serves over HTTP; nil when it serves none.
	Files *FreeBusyFiles
	// Now is the clock (tests move it); nil means time.Now.
	Now func() time.Time

	caches calendarCaches
	// checks runs the calendar reads and uploads in the background (netcheck.go).
	checks *netChecks[freeBusyCheck]
}

// freeBusyCheck is one finished background publication: its outcome, when to look again (when healthy),
// and the status it left.
type freeBusyCheck struct {
	o      outcome
	next   time.Duration
	status mailshiftv1.FreeBusyPublicationStatus
	// removed: a background unpublish (unpublishVersion) removed the file.
	removed bool
}

// unpublishVersion marks a background unpublish in netChecks (a publication's version is a hash, never this).
const unpublishVersion = "unpublish"

// maxCachedEvents bounds the parsed events kept between publications, over all of them (about 0.5 KiB
// each). A calendar that does not fit is read in full at each change instead.
const maxCachedEvents = 100_000

// calendarCaches keeps one calendarsource.Cache per publication, so a change to a large calendar fetches
// only its new messages.
type calendarCaches struct {
	mu sync.Mutex
	m  map[string]*calendarsource.Cache
}

// take hands out owner's cache for one build (a new one if there is none); give puts it back.
func (c *calendarCaches) take(owner string) *calendarsource.Cache {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cache, ok := c.m[owner]; ok {
		delete(c.m, owner)
		return cache
	}
	return calendarsource.NewCache()
}

// give keeps the cache if it fits beside the others.
func (c *calendarCaches) give(owner string, cache *calendarsource.Cache) {
	c.mu.Lock()
	defer c.mu.Unlock()
	total := cache.Events()
	for _, other := range c.m {
		total += other.Events()
	}
	if total > maxCachedEvents {
		return
	}
	if c.m == nil {
		c.m = map[string]*calendarsource.Cache{}
	}
	c.m[owner] = cache
}

func (c *calendarCaches) drop(owner string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.m, owner)
}

// +kubebuilder:rbac:groups=mailshift.io,resources=freebusypublications,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=freebusypublications/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=freebusypublications/finalizers,verbs=update
// +kubebuilder:rbac:groups=mailshift.io,resources=mailboxes,verbs=get;list;watch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailservers,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *FreeBusyReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var fb mailshiftv1.FreeBusyPublication
	if err := r.Get(ctx, req.NamespacedName, &fb); err != nil {
		if apierrors.IsNotFound(err) {
			r.checks.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !fb.DeletionTimestamp.IsZero() {
		return r.unpublish(ctx, &fb)
	}
	if controllerutil.AddFinalizer(&fb, unpublishFinalizer) {
		if err := r.Update(ctx, &fb); err != nil {
			return ctrl.Result{}, err
		}
	}
	before := fb.DeepCopy()
	check := intervalOf(fb.Spec.ChangeCheckInterval, time.Minute)
	interval := intervalOf(fb.Spec.Interval, defaultFreeBusyInterval)

	p, err := r.resolve(ctx, &fb, true)
	if err != nil {
		// Nothing to read or upload: the answer is known now.
		r.checks.forget(req.NamespacedName)
		res, _, err := r.finish(ctx, before, &fb, outcomeOf(err), 0, check)
		return res, err
	}
	key := req.NamespacedName
	ftp := p.ftp
	ftp.RootCAs = nil // a new pool each time; the CA Secret is named in the spec
	version := inputVersion(fb.Generation, fb.Spec, p.name, p.target.endpoint, p.target.creds, ftp, p.mailbox.Spec.Address, p.mailbox.Spec.Login)
	if res, ok := r.checks.last(key); ok && res.version == version {
		if !res.applied {
			fb.Status = *res.value.status.DeepCopy()
			result, written, err := r.finish(ctx, before, &fb, res.value.o, res.value.next, check)
			if written {
				r.checks.markApplied(key, res.finished)
			}
			return result, err
		}
		wait := res.value.next
		if !res.value.o.ready {
			wait = retryAfter(failuresSince(fb.Status.Conditions), check)
		}
		if until := time.Until(res.finished.Add(wait)); until > 0 {
			return ctrl.Result{RequeueAfter: until}, nil
		}
	}
	if needsChecking(fb.Status.Conditions, fb.Generation) {
		markChecking(&fb.Status.Conditions, fb.Generation, "reading the calendar of Mailbox "+p.mailbox.Name)
		if res, err := writeStatus(ctx, r.Client, fieldManagerFreeBusy, before, &fb, func(f *mailshiftv1.FreeBusyPublication) any { return f.Status }); err != nil || !res.IsZero() {
			return res, err
		}
	}
	work := fb.DeepCopy()
	r.checks.start(&fb, version, serverSlotOf(p.target.server), func(ctx context.Context) freeBusyCheck {
		o, next := r.publish(ctx, work, p, min(check, interval), interval)
		return freeBusyCheck{o: o, next: next, status: work.Status}
	})
	return ctrl.Result{}, nil
}

// finish writes an outcome into the status and schedules the next look; written says the status shows it.
func (r *FreeBusyReconciler) finish(ctx context.Context, before, fb *mailshiftv1.FreeBusyPublication, o outcome, next, check time.Duration) (ctrl.Result, bool, error) {
	fb.Status.ObservedGeneration = fb.Generation
	o.apply(&fb.Status.Conditions, fb.Generation)
	if res, err := writeStatus(ctx, r.Client, fieldManagerFreeBusy, before, fb, func(f *mailshiftv1.FreeBusyPublication) any { return f.Status }); err != nil || !res.IsZero() {
		return res, false, err
	}
	recordTransition(r.Recorder, fb, readyReason(before.Status.Conditions), o, "Publish")
	if !o.ready {
		log.FromContext(ctx).Info("free/busy not published", "reason", o.reason, "message", o.message)
		return ctrl.Result{RequeueAfter: retryAfter(failuresSince(before.Status.Conditions), check)}, true, nil
	}
	return ctrl.Result{RequeueAfter: max(next, time.Second)}, true, nil
}

func (r *FreeBusyReconciler) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// publication is everything one publication needs, resolved from the object's references.
type publication struct {
	mailbox  *mailshiftv1.Mailbox
	target   *mailboxTarget
	ftp      ftppublish.Target
	name     string // file name without .vfb
	location *time.Location
	owner    string // namespace/name
}

// resolve follows the references of a FreeBusyPublication. Its errors are refErrors (a person must act) or
// API errors.
func (r *FreeBusyReconciler) resolve(ctx context.Context, fb *mailshiftv1.FreeBusyPublication, withMailbox bool) (*publication, error) {
	p := &publication{owner: fb.Namespace + "/" + fb.Name, location: time.UTC}
	if tz := fb.Spec.TimeZone; tz != "" {
		loc, err := time.LoadLocation(tz)
		if err != nil {
			return nil, &refError{mailshiftv1.ReasonInvalidSpec, fmt.Sprintf("timeZone %q is not an IANA time zone name", tz), true}
		}
		p.location = loc
	}
	var err error
	if p.ftp, err = ftpTarget(ctx, r.Client, fb); err != nil {
		return nil, err
	}
	if !withMailbox {
		return p, nil
	}
	var mbx mailshiftv1.Mailbox
	key := types.NamespacedName{Namespace: fb.Namespace, Name: fb.Spec.MailboxRef.Name}
	if err := r.Get(ctx, key, &mbx); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &refError{mailshiftv1.ReasonMailboxNotFound, fmt.Sprintf("Mailbox %s not found", key), true}
		}
		return nil, err
	}
	p.mailbox = &mbx
	p.name = fileName(fb, &mbx)
	if p.target, err = resolveMailbox(ctx, r.Client, &mbx); err != nil {
		return nil, err
	}
	return p, nil
}

// fileName is spec.name, else the local part of the mailbox's address (Outlook's %NAME%), else its login's.
func fileName(fb *mailshiftv1.FreeBusyPublication, mbx *mailshiftv1.Mailbox) string {
	if fb.Spec.Name != "" {
		return fb.Spec.Name
	}
	addr := orDefault(mbx.Spec.Address, mbx.Spec.Login)
	local, _, _ := strings.Cut(addr, "@")
	return local
}

// ftpTarget reads the FTP credentials and CA bundle the spec names.
func ftpTarget(ctx context.Context, c client.Reader, fb *mailshiftv1.FreeBusyPublication) (ftppublish.Target, error) {
	spec := fb.Spec.FTP
	t := ftppublish.Target{
		Host:        spec.Host,
		Port:        int(spec.Port),
		TLS:         ftppublish.Explicit,
		Directory:   orDefault(spec.Directory, "/pub/calendar"),
		DialTimeout: dialTimeout,
		Allowed:     allowedServerHosts,
	}
	if t.Port == 0 {
		t.Port = 21
	}
	if spec.TLS == mailshiftv1.FTPNoTLS {
		if !spec.InsecureAllowPlaintext {
			// The CRD rejects this; the check stays for objects written before the rule existed.
			return t, &refError{mailshiftv1.ReasonInvalidSpec, "ftp.tls None needs insecureAllowPlaintext: true", true}
		}
		t.TLS = ftppublish.None
	}
	ref := spec.CredentialsSecretRef
	var err error
	if t.Username, err = secretValue(ctx, c, fb.Namespace, ref.Name, orDefault(ref.UsernameKey, "username")); err != nil {
		return t, err
	}
	if t.Password, err = secretValue(ctx, c, fb.Namespace, ref.Name, orDefault(ref.PasswordKey, "password")); err != nil {
		return t, err
	}
	if ca := spec.CABundle; ca != nil {
		pem, err := secretValue(ctx, c, fb.Namespace, ca.Name, orDefault(ca.Key, "ca.crt"))
		if err != nil {
			return t, err
		}
		t.RootCAs = x509.NewCertPool()
		if !t.RootCAs.AppendCertsFromPEM([]byte(pem)) {
			return t, &refError{mailshiftv1.ReasonSecretInvalid, fmt.Sprintf("Secret %s/%s key %q holds no PEM certificate", fb.Namespace, ca.Name, orDefault(ca.Key, "ca.crt")), true}
		}
	}
	return t, nil
}

// window is the span published at now: from the start of the UTC day daysBack ago to the start of the UTC
// day daysAhead on. Whole days keep the file stable between publications of the same day.
func window(fb *mailshiftv1.FreeBusyPublication, now time.Time) (time.Time, time.Time) {
	back, ahead := fb.Spec.Window.DaysBack, fb.Spec.Window.DaysAhead
	if ahead == 0 && back == 0 {
		return freebusy.DefaultWindow(now) // an object written before the defaults existed
	}
	return freebusy.Window(now, int(back), int(ahead))
}

// publish brings the published file up to date. It returns the outcome and, when healthy, when to look
// again: the next change check, or the interval's end if that comes first. It runs in the background, on a
// copy of the publication of its own, with the references Reconcile resolved.
func (r *FreeBusyReconciler) publish(ctx context.Context, fb *mailshiftv1.FreeBusyPublication, p *publication, check, interval time.Duration) (outcome, time.Duration) {
	now := r.now()
	start, end := window(fb, now)
	st := &fb.Status

	if fb.Spec.ServeHTTP && r.Files == nil {
		return failedOutcome(mailshiftv1.ReasonNotSupported, "serveHTTP is set but this manager serves no free/busy files (--freebusy-bind-address=0)", true), 0
	}
	if fb.Spec.ServeHTTP {
		if err := r.Files.Conflict(ctx, fb, p.name); err != nil {
			return outcomeOf(err), 0
		}
	}

	// Due at once after a spec change, a failure, a rename, a new day's window, the interval's end, or a
	// restart that emptied the served files; otherwise only if the calendar changed.
	var since time.Duration
	if st.LastPublishTime != nil {
		since = now.Sub(st.LastPublishTime.Time)
	}
	due := st.LastPublishTime == nil || st.ObservedGeneration != fb.Generation || since >= interval ||
		readyReason(st.Conditions) != mailshiftv1.ReasonPublished || st.PublishedName != p.name ||
		st.PublishedDirectory != p.ftp.Directory || st.WindowStart == nil || !st.WindowStart.Time.Equal(start) ||
		(fb.Spec.ServeHTTP && !r.Files.Has(ctx, fb, p.name))

	req := calendarsource.Request{
		Endpoint:    p.target.endpoint,
		Credentials: p.target.creds,
		Folders:     fb.Spec.Folders,
		FreeBusy: freebusy.Options{
			Start: start, End: end, Location: p.location, Stamp: now.UTC().Truncate(time.Second),
			Organizer: orDefault(p.mailbox.Spec.Address, p.mailbox.Spec.Login),
		},
	}
	if !due {
		req.UnlessToken = st.CalendarState
		if len(req.Folders) == 0 && len(st.Folders) > 0 {
			// A change check reuses the folders found at the last publication: one login, not a second
			// one to find them again. Every publication (at least once an interval) finds them afresh.
			req.Folders = st.Folders
		}
	}
	req.Cache = r.caches.take(p.owner)
	bctx, cancel := context.WithTimeout(ctx, buildTimeout)
	began := time.Now()
	built, err := calendarsource.Build(bctx, req)
	cancel()
	r.caches.give(p.owner, req.Cache)
	opmetrics.Observe("freebusy-read", p.target.server.Name, began, err)
	if err != nil {
		return calendarOutcome(err), 0
	}
	nextCheck := check
	if st.LastPublishTime != nil {
		nextCheck = min(check, max(interval-since, time.Second))
	}
	if built.Unchanged {
		c := readyOutcome(mailshiftv1.ReasonPublished, freeBusyMessage(fb))
		return c, nextCheck
	}

	pctx, cancel := context.WithTimeout(ctx, publishTimeout)
	began = time.Now()
	err = ftppublish.Publish(pctx, p.ftp, p.name+".vfb", built.VFB)
	cancel()
	opmetrics.ObserveFTP("publish", p.ftp.Host, began, err)
	if err != nil {
		return ftpOutcome(err), 0
	}
	if old := st.PublishedName; old != "" && (old != p.name || st.PublishedDirectory != p.ftp.Directory) {
		r.removeOld(ctx, fb, p.ftp, st.PublishedDirectory, old)
	}
	if fb.Spec.ServeHTTP {
		// Kept in a ConfigMap every replica serves from; a file of an earlier name stops being served.
		if err := r.Files.Put(ctx, fb, p.name, built.VFB, now); err != nil {
			return outcomeOf(err), 0
		}
		st.HTTPPath = r.Files.HTTPPath(fb.Namespace, p.name)
	} else {
		if r.Files != nil {
			if err := r.Files.Remove(ctx, fb); err != nil {
				return outcomeOf(err), 0
			}
		}
		st.HTTPPath = ""
	}

	if n := len(built.Unreadable); n > 0 && (int32(n) != st.UnreadableObjects || st.CalendarState != built.Token) {
		r.Recorder.Eventf(fb, nil, corev1.EventTypeWarning, mailshiftv1.ReasonCalendarObjectsUnreadable, "Publish",
			"%s left out of the free/busy: %s", plural(n, "calendar object"), firstFew(built.Unreadable, 3))
	}
	log.FromContext(ctx).V(1).Info("free/busy published", "url", ftppublish.URL(p.ftp, p.name+".vfb"),
		"busyPeriods", len(built.Periods), "events", built.Events, "messages", built.Messages, "fetched", built.Fetched,
		"unreadable", len(built.Unreadable))
	published := metav1.NewTime(now)
	ws, we := metav1.NewTime(start), metav1.NewTime(end)
	st.PublishURL = ftppublish.URL(p.ftp, p.name+".vfb")
	st.SearchURL = ftppublish.SearchURL(p.ftp)
	st.LastPublishTime = &published
	st.BusyPeriods = int32(len(built.Periods))
	st.Events = int32(built.Events)
	st.UnreadableObjects = int32(len(built.Unreadable))
	st.Folders = built.Folders
	st.WindowStart, st.WindowEnd = &ws, &we
	st.PublishedName, st.PublishedDirectory = p.name, p.ftp.Directory
	st.CalendarState = built.Token
	return readyOutcome(mailshiftv1.ReasonPublished, freeBusyMessage(fb)), check
}

// freeBusyMessage describes the last publication from the status.
func freeBusyMessage(fb *mailshiftv1.FreeBusyPublication) string {
	st := fb.Status
	msg := fmt.Sprintf("%s from %s in %s published to %s", plural(int(st.BusyPeriods), "busy period"),
		plural(int(st.Events), "event"), strings.Join(st.Folders, ", "), st.PublishURL)
	if st.UnreadableObjects > 0 {
		msg += fmt.Sprintf("; %s could not be read and were left out (see Events)", plural(int(st.UnreadableObjects), "calendar object"))
	}
	return msg
}

func firstFew(list []string, n int) string {
	if len(list) <= n {
		return strings.Join(list, "; ")
	}
	return strings.Join(list[:n], "; ") + fmt.Sprintf("; and %d more", len(list)-n)
}

// calendarOutcome maps a failure to read the calendars. Every IMAP failure is CalendarUnreadable, so the
// reason says which side failed; the message keeps the IMAP kind. Only what retrying cannot fix stalls.
func calendarOutcome(err error) outcome {
	var re *refError
	if errors.As(err, &re) {
		return failedOutcome(re.reason, re.message, re.stalled)
	}
	kind := imapconn.KindOf(err)
	switch kind {
	case imapconn.AuthenticationFailed, imapconn.PermissionDenied, imapconn.NotFound, imapconn.TLSFailed, imapconn.NotSupported:
		return failedOutcome(mailshiftv1.ReasonCalendarUnreadable, fmt.Sprintf("IMAP %s: %v", kind, err), true)
	}
	return failedOutcome(mailshiftv1.ReasonCalendarUnreadable, fmt.Sprintf("IMAP %s: %v", kind, err), false)
}

// ftpOutcome maps a failed upload or removal.
func ftpOutcome(err error) outcome {
	msg := "FTP: " + err.Error()
	switch ftppublish.KindOf(err) {
	case ftppublish.KindFTPAuthFailed:
		return failedOutcome(mailshiftv1.ReasonFTPAuthFailed, msg, true)
	case ftppublish.KindPermissionDenied:
		return failedOutcome(mailshiftv1.ReasonPermissionDenied, msg, true)
	case ftppublish.KindTLSFailed:
		return failedOutcome(mailshiftv1.ReasonTLSFailed, msg, true)
	case ftppublish.KindUnreachable:
		return failedOutcome(mailshiftv1.ReasonUnreachable, msg, false)
	case ftppublish.KindHostNotAllowed:
		return failedOutcome(mailshiftv1.ReasonHostNotAllowed, msg, true)
	}
	return failedOutcome(mailshiftv1.ReasonProtocolError, msg, false)
}

// removeOld deletes a file published under a previous name or directory. A failure is told, not retried:
// the new file is in place, and the old one is only stale.
func (r *FreeBusyReconciler) removeOld(ctx context.Context, fb *mailshiftv1.FreeBusyPublication, t ftppublish.Target, dir, name string) {
	t.Directory = dir
	ctx, cancel := context.WithTimeout(ctx, publishTimeout)
	defer cancel()
	if err := ftppublish.Delete(ctx, t, name+".vfb"); err != nil {
		r.Recorder.Eventf(fb, nil, corev1.EventTypeWarning, ftpOutcome(err).reason, "Unpublish",
			"could not remove the file published before the rename, %s: %v", ftppublish.URL(t, name+".vfb"), err)
	}
}

// unpublish removes the published file, then the finalizer. When the FTP Secret is gone the file cannot be
// removed ever (nothing will bring the password back by itself), so the finalizer goes and an Event says
// the file was left; any other failure is retried, and the message says how to give up. The FTP part runs
// in the background like a publication (whose check in flight it cancels), so that a dead FTP server never
// holds a reconcile.
func (r *FreeBusyReconciler) unpublish(ctx context.Context, fb *mailshiftv1.FreeBusyPublication) (ctrl.Result, error) {
	key := client.ObjectKeyFromObject(fb)
	if !controllerutil.ContainsFinalizer(fb, unpublishFinalizer) {
		r.checks.forget(key)
		return ctrl.Result{}, nil
	}
	owner := fb.Namespace + "/" + fb.Name
	r.caches.drop(owner)
	if r.Files != nil {
		if err := r.Files.Remove(ctx, fb); err != nil {
			return ctrl.Result{}, err
		}
	}
	if name := fb.Status.PublishedName; name != "" {
		if res, ok := r.checks.last(key); ok && res.version == unpublishVersion {
			r.checks.forget(key)
			if !res.value.removed {
				before := fb.DeepCopy()
				o := res.value.o
				recordTransition(r.Recorder, fb, readyReason(before.Status.Conditions), o, "Unpublish")
				o.apply(&fb.Status.Conditions, fb.Generation)
				if res, werr := writeStatus(ctx, r.Client, fieldManagerFreeBusy, before, fb, func(f *mailshiftv1.FreeBusyPublication) any { return f.Status }); werr != nil || !res.IsZero() {
					return res, werr
				}
				return ctrl.Result{RequeueAfter: retryAfter(failuresSince(before.Status.Conditions), time.Minute)}, nil
			}
			r.Recorder.Eventf(fb, nil, corev1.EventTypeNormal, mailshiftv1.ReasonUnpublished, "Unpublish",
				"removed %s", fb.Status.PublishURL)
		} else {
			p, err := r.resolve(ctx, fb, false)
			var re *refError
			switch {
			case errors.As(err, &re):
				r.Recorder.Eventf(fb, nil, corev1.EventTypeWarning, re.reason, "Unpublish",
					"the published file %s was left in place: %s", fb.Status.PublishURL, re.message)
			case err != nil:
				return ctrl.Result{}, err
			default:
				t := p.ftp
				t.Directory = orDefault(fb.Status.PublishedDirectory, t.Directory)
				url := fb.Status.PublishURL
				addr := net.JoinHostPort(t.Host, strconv.Itoa(t.Port))
				// An FTP server is no MailServer: its deletes share a bound of their own per host.
				slot := serverSlot{key: "ftp://" + addr, name: "FTP server " + addr, limit: defaultMaxConnections}
				r.checks.start(fb, unpublishVersion, slot, func(ctx context.Context) freeBusyCheck {
					dctx, cancel := context.WithTimeout(ctx, publishTimeout)
					defer cancel()
					if err := ftppublish.Delete(dctx, t, name+".vfb"); err != nil {
						o := ftpOutcome(err)
						o.message = fmt.Sprintf("cannot remove %s: %s (to leave the file, remove the finalizer %s)", url, o.message, unpublishFinalizer)
						return freeBusyCheck{o: o}
					}
					return freeBusyCheck{removed: true}
				})
				return ctrl.Result{}, nil
			}
		}
	}
	r.checks.forget(key)
	controllerutil.RemoveFinalizer(fb, unpublishFinalizer)
	if err := r.Update(ctx, fb); err != nil && !apierrors.IsNotFound(err) {
		return ctrl.Result{}, err
	}
	return ctrl.Result{}, nil
}
