package controllers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/egress"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
	"github.com/mailshift/mailshift/internal/opmetrics"
)

// dialTimeout bounds one connect + TLS + login, so a black-holed server cannot hold a reconcile worker.
const dialTimeout = 20 * time.Second

// refError is a failure to resolve what an object refers to. It carries the condition reason, and whether a
// person must act (a missing Secret will not appear by itself; a server that is not Ready yet may).
type refError struct {
	reason  string
	message string
	stalled bool
}

func (e *refError) Error() string { return e.message }

// outcomeOf turns any error from resolving or talking to a server into a condition outcome. Messages never
// contain secrets: imapsession errors are built without them, and refErrors name Secrets, never their values.
func outcomeOf(err error) outcome {
	var re *refError
	if errors.As(err, &re) {
		return failedOutcome(re.reason, re.message, re.stalled)
	}
	switch imapconn.KindOf(err) {
	case imapconn.Unreachable:
		return failedOutcome(mailshiftv1.ReasonUnreachable, err.Error(), false)
	case imapconn.Timeout:
		return failedOutcome(mailshiftv1.ReasonTimeout, timeoutMessage(err), false)
	case imapconn.TLSFailed:
		return failedOutcome(mailshiftv1.ReasonTLSFailed, err.Error(), true)
	case imapconn.AuthenticationFailed:
		return failedOutcome(mailshiftv1.ReasonAuthenticationFailed, err.Error(), true)
	case imapconn.PermissionDenied:
		return failedOutcome(mailshiftv1.ReasonPermissionDenied, err.Error(), true)
	case imapconn.NotFound:
		return failedOutcome(mailshiftv1.ReasonFolderNotFound, err.Error(), true)
	case imapconn.NotSupported:
		return failedOutcome(mailshiftv1.ReasonNotSupported, err.Error(), true)
	case imapconn.HostNotAllowed:
		return failedOutcome(mailshiftv1.ReasonHostNotAllowed, err.Error(), true)
	default:
		return failedOutcome(mailshiftv1.ReasonProtocolError, err.Error(), false)
	}
}

// timeoutMessage says what a timeout waited for. Setting up a connection reports its deadline as a whole
// sentence naming the server and what did not come ("no IMAP greeting from host:port within 20s"), which is
// what a person needs to read, without the "imap: connect host:port: Timeout:" the error carries in front.
func timeoutMessage(err error) string {
	var e *imapconn.Error
	if errors.As(err, &e) && e.Kind == imapconn.Timeout && strings.HasPrefix(e.Op, "connect ") && e.Err != nil {
		var inner *imapconn.Error
		if !errors.As(e.Err, &inner) {
			return e.Err.Error()
		}
	}
	return err.Error()
}

// secretValue reads one key of a Secret, with errors that name the Secret and key but never the value.
func secretValue(ctx context.Context, c client.Reader, namespace, name, key string) (string, error) {
	var s corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: namespace, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return "", &refError{mailshiftv1.ReasonSecretNotFound, fmt.Sprintf("Secret %s/%s not found", namespace, name), true}
		}
		return "", fmt.Errorf("get Secret %s/%s: %w", namespace, name, err)
	}
	v, ok := s.Data[key]
	if !ok || len(v) == 0 {
		return "", &refError{mailshiftv1.ReasonSecretInvalid, fmt.Sprintf("Secret %s/%s has no key %q", namespace, name, key), true}
	}
	return string(v), nil
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// allowedServerHosts are the hosts MailServers, migration sources and FTP targets may point at
// (Options.AllowedServerHosts); nil allows all.
// SetupAll sets it once, before any controller runs.
var allowedServerHosts *egress.AllowList

// serverEndpoint builds the dial target of a MailServer, reading its CA bundle Secret.
func serverEndpoint(ctx context.Context, c client.Reader, srv *mailshiftv1.MailServer) (imapconn.Endpoint, error) {
	ep := imapconn.Endpoint{
		Host:        srv.Spec.Host,
		Port:        int(srv.Spec.Port),
		TLS:         imapconn.TLSMode(orDefault(string(srv.Spec.TLS), string(mailshiftv1.TLSStartTLS))),
		ServerName:  srv.Spec.ServerName,
		DialTimeout: dialTimeout,
	}
	if ep.Port == 0 {
		ep.Port = 143
		if ep.TLS == imapconn.TLSImplicit {
			ep.Port = 993
		}
	}
	ep.Allowed = allowedServerHosts
	if err := ep.Allowed.CheckHost(ep.Host); err != nil {
		return ep, &refError{mailshiftv1.ReasonHostNotAllowed, err.Error(), true}
	}
	if ep.TLS == imapconn.TLSNone && !srv.Spec.InsecureAllowPlaintext {
		// The CRD rejects this; the check stays for objects written before the rule existed.
		return ep, &refError{mailshiftv1.ReasonInvalidSpec, "tls None needs insecureAllowPlaintext: true", true}
	}
	if ca := srv.Spec.CABundle; ca != nil {
		pem, err := secretValue(ctx, c, srv.Namespace, ca.Name, orDefault(ca.Key, "ca.crt"))
		if err != nil {
			return ep, err
		}
		ep.CAPEM = []byte(pem)
	}
	return ep, nil
}

// adminCredentials reads the MailServer's admin login and password; ok is false when none are configured.
func adminCredentials(ctx context.Context, c client.Reader, srv *mailshiftv1.MailServer) (login, password string, ok bool, err error) {
	if srv.Spec.Admin == nil {
		return "", "", false, nil
	}
	ref := srv.Spec.Admin.SecretRef
	if login, err = secretValue(ctx, c, srv.Namespace, ref.Name, orDefault(ref.UsernameKey, "username")); err != nil {
		return "", "", false, err
	}
	if password, err = secretValue(ctx, c, srv.Namespace, ref.Name, orDefault(ref.PasswordKey, "password")); err != nil {
		return "", "", false, err
	}
	return login, password, true, nil
}

// namespaceAllowed says whether Mailboxes in namespace may use srv.
func namespaceAllowed(srv *mailshiftv1.MailServer, namespace string) bool {
	return srv.Namespace == namespace || slices.Contains(srv.Spec.AllowedNamespaces, "*") ||
		slices.Contains(srv.Spec.AllowedNamespaces, namespace)
}

// mailboxTarget is everything needed to log in to a Mailbox.
type mailboxTarget struct {
	mailbox  *mailshiftv1.Mailbox
	server   *mailshiftv1.MailServer
	endpoint imapconn.Endpoint
	creds    imapconn.Credentials
	// authAs is "user" (own password), "admin" (impersonation) or "oauth2" (a bearer token).
	authAs string
	// tokenConfig identifies the token endpoint settings of an OAuth2 Mailbox (see oauth2Credentials).
	tokenConfig string
}

// mailboxServer reads a Mailbox's MailServer, which its namespace must be allowed to use.
func mailboxServer(ctx context.Context, c client.Reader, mbx *mailshiftv1.Mailbox) (*mailshiftv1.MailServer, error) {
	ns := orDefault(mbx.Spec.ServerRef.Namespace, mbx.Namespace)
	var srv mailshiftv1.MailServer
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: mbx.Spec.ServerRef.Name}, &srv); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &refError{mailshiftv1.ReasonServerNotFound, fmt.Sprintf("MailServer %s/%s not found", ns, mbx.Spec.ServerRef.Name), true}
		}
		return nil, fmt.Errorf("get MailServer: %w", err)
	}
	if !namespaceAllowed(&srv, mbx.Namespace) {
		return nil, &refError{mailshiftv1.ReasonNamespaceNotAllowed,
			fmt.Sprintf("MailServer %s/%s does not list namespace %q in spec.allowedNamespaces", ns, srv.Name, mbx.Namespace), true}
	}
	return &srv, nil
}

// resolveMailbox follows a Mailbox's references to its server and credentials.
func resolveMailbox(ctx context.Context, c client.Reader, mbx *mailshiftv1.Mailbox) (*mailboxTarget, error) {
	srv, err := mailboxServer(ctx, c, mbx)
	if err != nil {
		return nil, err
	}
	ep, err := serverEndpoint(ctx, c, srv)
	if err != nil {
		return nil, err
	}
	t := &mailboxTarget{mailbox: mbx, server: srv, endpoint: ep}
	t.creds.Login = mbx.Spec.Login
	t.creds.Flavor = string(srv.Spec.Flavor)
	if mbx.Spec.OAuth2 != nil {
		if err := oauth2Credentials(ctx, c, mbx, t); err != nil {
			return nil, err
		}
		return t, nil
	}
	if ref := mbx.Spec.CredentialsSecretRef; ref != nil {
		if t.creds.Password, err = secretValue(ctx, c, mbx.Namespace, ref.Name, orDefault(ref.Key, "password")); err != nil {
			return nil, err
		}
		t.authAs = "user"
		return t, nil
	}
	// The grant is checked before the admin Secret is read: a namespace without one never gets its content.
	if srv.Spec.Admin != nil {
		if why := impersonationDenied(srv, mbx.Namespace, mbx.Spec.Login); why != "" {
			return nil, &refError{mailshiftv1.ReasonImpersonationNotAllowed, why, true}
		}
	}
	login, password, ok, err := adminCredentials(ctx, c, srv)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, &refError{mailshiftv1.ReasonInvalidSpec,
			"no credentials: set spec.credentialsSecretRef, or give the MailServer admin credentials", true}
	}
	t.creds.AdminLogin, t.creds.AdminPassword, t.authAs = login, password, "admin"
	return t, nil
}

// dial connects and logs in, recording the attempt in the IMAP metrics.
func (t *mailboxTarget) dial(ctx context.Context) (*imapsession.Session, error) {
	ctx, cancel := context.WithTimeout(ctx, dialTimeout)
	defer cancel()
	start := time.Now()
	s, err := imapsession.Dial(ctx, t.endpoint, t.creds)
	opmetrics.Observe("login", t.server.Name, start, err)
	return s, err
}
