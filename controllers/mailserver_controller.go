package controllers

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"time"

	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/imapx"
	"github.com/mailshift/mailshift/internal/opmetrics"
)

// MailServerReconciler checks that a server is reachable, speaks TLS as configured and, when admin
// credentials are given, accepts them.
type MailServerReconciler struct {
	client.Client
	Recorder events.EventRecorder
}

// +kubebuilder:rbac:groups=mailshift.io,resources=mailservers,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=mailshift.io,resources=mailservers/status,verbs=get;update;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

func (r *MailServerReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	var srv mailshiftv1.MailServer
	if err := r.Get(ctx, req.NamespacedName, &srv); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := srv.DeepCopy()
	interval := intervalOf(srv.Spec.CheckInterval, 5*time.Minute)

	o := r.check(ctx, &srv)
	st := &srv.Status
	return finishCheck(ctx, r.Client, r.Recorder, before, &srv,
		checkStatus{&st.Conditions, &st.LastCheckTime, &st.ConsecutiveFailures, &st.ObservedGeneration},
		readyReason(before.Status.Conditions), o, interval, func(s *mailshiftv1.MailServer) any { return s.Status })
}

func (r *MailServerReconciler) check(ctx context.Context, srv *mailshiftv1.MailServer) outcome {
	ep, err := serverEndpoint(ctx, r.Client, srv)
	if err != nil {
		return outcomeOf(err)
	}
	srv.Status.Endpoint = net.JoinHostPort(ep.Host, strconv.Itoa(ep.Port))
	login, password, hasAdmin, err := adminCredentials(ctx, r.Client, srv)
	if err != nil {
		return outcomeOf(err)
	}
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	start := time.Now()
	verifyAs := srv.Spec.Admin.VerifyLoginOrEmpty()
	if !hasAdmin || (verifyAs == "" && srv.Spec.Flavor == mailshiftv1.FlavorDovecot) {
		// Without credentials (or with a Dovecot master user, who cannot log in as itself), reachability, TLS
		// and the pre-login capabilities are all there is to check.
		srv.Status.AdminAuthenticated = nil
		p, err := imapx.Probe(ctx, ep)
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
	cred := imapx.Credentials{Login: login, Password: password, Flavor: string(srv.Spec.Flavor)}
	if verifyAs != "" {
		cred = imapx.Credentials{Login: verifyAs, AdminLogin: login, AdminPassword: password, Flavor: string(srv.Spec.Flavor)}
	}
	s, err := imapx.Dial(ctx, ep, cred)
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
