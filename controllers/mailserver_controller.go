package controllers

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
	"github.com/mailshift/mailshift/internal/opmetrics"
)

// MailServerReconciler checks that a server is reachable, speaks TLS as configured and, when admin
// credentials are given, accepts them. The check runs in the background (netcheck.go).
type MailServerReconciler struct {
	client.Client
	Recorder events.EventRecorder

	checks *netChecks[serverCheck]
}

// serverCheck is one finished check: the outcome, and the status fields it filled.
type serverCheck struct {
	o      outcome
	status mailshiftv1.MailServerStatus
}

func (c serverCheck) result() outcome { return c.o }

// +kubebuilder:rbac:groups=mailshift.io,resources=mailservers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailservers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *MailServerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var srv mailshiftv1.MailServer
	if err := r.Get(ctx, req.NamespacedName, &srv); err != nil {
		if apierrors.IsNotFound(err) {
			r.checks.forget(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := srv.DeepCopy()
	interval := intervalOf(srv.Spec.CheckInterval, 5*time.Minute)
	st := &srv.Status
	cs := checkStatus{&st.Conditions, &st.LastCheckTime, &st.ConsecutiveFailures, &st.ObservedGeneration}
	statusOf := func(s *mailshiftv1.MailServer) any { return s.Status }

	ep, err := serverEndpoint(ctx, r.Client, &srv)
	var login, password string
	var hasAdmin bool
	if err == nil {
		login, password, hasAdmin, err = adminCredentials(ctx, r.Client, &srv)
	}
	if err != nil {
		r.checks.forget(req.NamespacedName)
		res, _, err := finishCheck(ctx, r.Client, fieldManagerMailServer, r.Recorder, before, &srv, cs, readyReason(before.Status.Conditions),
			outcomeOf(err), time.Now(), interval, statusOf)
		return res, err
	}
	st.Endpoint = net.JoinHostPort(ep.Host, strconv.Itoa(ep.Port))
	work := srv.DeepCopy()
	return periodicCheck[*mailshiftv1.MailServer, serverCheck]{
		checks: r.checks, manager: fieldManagerMailServer, before: before, after: &srv, st: cs, interval: interval,
		version: inputVersion(srv.Generation, ep, login, password, hasAdmin),
		slot:    serverSlotOf(&srv),
		run: func(ctx context.Context) serverCheck {
			o := r.check(ctx, work, ep, login, password, hasAdmin)
			return serverCheck{o: o, status: work.Status}
		},
		fill: func(c serverCheck) {
			st.AdminAuthenticated, st.Capabilities, st.ServerID = c.status.AdminAuthenticated, c.status.Capabilities, c.status.ServerID
		},
		status:   statusOf,
		checking: "connecting to " + st.Endpoint,
	}.reconcile(ctx, r.Client, r.Recorder)
}

// check connects (and logs in when it can) and fills srv's status (a copy of its own). It runs in the
// background.
func (r *MailServerReconciler) check(ctx context.Context, srv *mailshiftv1.MailServer, ep imapconn.Endpoint, login, password string, hasAdmin bool) outcome {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	start := time.Now()
	verifyAs := srv.Spec.Admin.VerifyLoginOrEmpty()
	if !hasAdmin || (verifyAs == "" && srv.Spec.Flavor == mailshiftv1.FlavorDovecot) {
		// Without credentials (or with a Dovecot master user, who cannot log in as itself), reachability, TLS
		// and the pre-login capabilities are all there is to check.
		srv.Status.AdminAuthenticated = nil
		p, err := imapconn.Probe(ctx, ep)
		opmetrics.Observe("probe", srv.Name, start, err)
		if err != nil {
			return outcomeOf(err)
		}
		srv.Status.Capabilities = p.Capabilities
		msg := fmt.Sprintf("reachable over %s", ep.TLS)
		if hasAdmin {
			msg += "; admin credentials are proven when a Mailbox uses them (set admin.verifyLogin to check them here)"
		}
		return readyOutcome(mailshiftv1.ReasonConnected, msg)
	}
	cred := imapconn.Credentials{Login: login, Password: password, Flavor: string(srv.Spec.Flavor)}
	if verifyAs != "" {
		cred = imapconn.Credentials{Login: verifyAs, AdminLogin: login, AdminPassword: password, Flavor: string(srv.Spec.Flavor)}
	}
	s, err := imapsession.Dial(ctx, ep, cred)
	opmetrics.Observe("login", srv.Name, start, err)
	authenticated := err == nil
	srv.Status.AdminAuthenticated = &authenticated
	if err != nil {
		return outcomeOf(err)
	}
	defer s.Close()
	srv.Status.Capabilities = s.Capabilities()
	if id, err := s.ID(ctx); err == nil && len(id) > 0 {
		srv.Status.ServerID = id
	}
	return readyOutcome(mailshiftv1.ReasonConnected, fmt.Sprintf("reachable over %s; admin login accepted", ep.TLS))
}
