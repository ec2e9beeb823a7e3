package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"path"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/migrationrun"
)

// migrationPlan is one run of a MailboxMigration as the controller resolved it: the worker spec (secrets
// named by Secret key; the Job executor turns them into files), the volume holding the PST (nil for IMAP
// sources), and the server whose concurrency limit the run counts against.
type migrationPlan struct {
	run       string
	spec      migrationrun.Spec
	pstVolume *corev1.VolumeSource
	server    types.NamespacedName
	limit     int32
	conns     serverSlot // the target server's connection limit, shared with the controllers' checks
}

// runName is the deterministic name of a run: the migration's name and a hash of everything that shapes the
// copy. Suspending and resuming keep the name (the same run continues); any other spec change gives a new
// one (a delta pass from the same checkpoint).
func runName(mig *mailshiftv1.MailboxMigration, spec *migrationrun.Spec, pst *corev1.VolumeSource) string {
	s := mig.Spec.DeepCopy()
	s.Suspend = false
	b, _ := json.Marshal(struct {
		Spec   *mailshiftv1.MailboxMigrationSpec
		Worker *migrationrun.Spec
		PST    *corev1.VolumeSource
	}{s, spec, pst})
	h := sha256.Sum256(b)
	return truncateName(mig.Name, 52) + "-" + hex.EncodeToString(h[:])[:10]
}

// truncateName cuts a name to n characters without leaving a trailing dash or dot.
func truncateName(name string, n int) string {
	if len(name) > n {
		name = name[:n]
	}
	return strings.TrimRight(name, "-.")
}

// checkpointName and reportName are the ConfigMaps of a migration; they outlive its runs.
func checkpointName(mig *mailshiftv1.MailboxMigration) string {
	return truncateName(mig.Name, 242) + "-checkpoint"
}

func reportName(mig *mailshiftv1.MailboxMigration) string {
	return truncateName(mig.Name, 246) + "-report"
}

// plan resolves a MailboxMigration's references into a run. Missing or unready references come back as
// refErrors with the condition reason.
func (r *MigrationReconciler) plan(ctx context.Context, mig *mailshiftv1.MailboxMigration) (*migrationPlan, error) {
	// The spec's own mistakes first: they need a person whatever the references say.
	var pstPath string
	if pst := mig.Spec.Source.PST; pst != nil {
		if err := checkPSTVolume(&pst.Volume, r.AllowHostPathPSTVolumes); err != nil {
			return nil, err
		}
		var err error
		if pstPath, err = cleanPSTPath(pst.Path); err != nil {
			return nil, err
		}
	}
	var mbx mailshiftv1.Mailbox
	if err := r.Get(ctx, types.NamespacedName{Namespace: mig.Namespace, Name: mig.Spec.MailboxRef.Name}, &mbx); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &refError{mailshiftv1.ReasonMailboxNotFound, fmt.Sprintf("Mailbox %s not found", mig.Spec.MailboxRef.Name), true}
		}
		return nil, err
	}
	if !meta.IsStatusConditionTrue(mbx.Status.Conditions, mailshiftv1.ConditionReady) {
		return nil, &refError{mailshiftv1.ReasonMailboxNotReady, fmt.Sprintf("Mailbox %s is not Ready", mbx.Name), true}
	}
	t, err := resolveMailbox(ctx, r.Client, &mbx)
	if err != nil {
		return nil, err
	}
	srv := t.server
	p := &migrationPlan{server: types.NamespacedName{Namespace: srv.Namespace, Name: srv.Name}, limit: srv.Spec.Limits.MaxConcurrentMigrations,
		conns: serverSlotOf(srv)}
	if p.limit <= 0 {
		p.limit = 4
	}
	set := mig.Spec.MigrationSettings
	spec := migrationrun.Spec{
		Namespace: mig.Namespace, Name: mig.Name, UID: string(mig.UID),
		Target: migrationrun.Target{
			Endpoint: migrationrun.Endpoint{Host: t.endpoint.Host, Port: t.endpoint.Port, TLS: string(t.endpoint.TLS),
				ServerName: t.endpoint.ServerName, Flavor: string(srv.Spec.Flavor)},
			Login:     mbx.Spec.Login,
			Placement: orDefault(string(mbx.Spec.SpecialFolders.Placement), string(mailshiftv1.PlacementAuto)),
			Annotate:  mbx.Spec.SpecialFolders.Annotations != mailshiftv1.AnnotationNone,
		},
		Include: set.Folders.Include, Exclude: set.Folders.Exclude, TargetRoot: set.Folders.TargetRoot, SkipOutbox: set.Folders.SkipOutbox,
		Groupware: string(set.GroupwareFormat), Parallel: int(set.Parallelism), KeepOrder: set.KeepOrder,
		MaxBytes: set.SizePolicy.MaxMessageBytes, FailTooBig: set.SizePolicy.OnTooLarge == "Fail",
		RateMsgs: float64(set.RateLimit.MessagesPerSecond), RateBytes: set.RateLimit.BytesPerSecond,
		Checkpoint: checkpointName(mig), ReportName: reportName(mig), Connections: connectionShare(srv.Spec.Limits),
	}
	if len(set.Folders.Renames) > 0 {
		spec.Renames = map[string]string{}
		for _, rn := range set.Folders.Renames {
			spec.Renames[rn.From] = rn.To
		}
	}
	if !mbx.Spec.SpecialFolders.Disabled {
		for _, f := range specialFolderNames(mbx.Spec.SpecialFolders) {
			spec.Target.Special = append(spec.Target.Special, migrationrun.SpecialFolder{Type: string(f.Type), Name: f.Name})
		}
	}
	if ca := srv.Spec.CABundle; ca != nil {
		spec.Target.Endpoint.CA = secretRef(srv.Namespace, ca.Name, orDefault(ca.Key, "ca.crt"))
	}
	switch t.authAs {
	case "oauth2":
		if err := oauth2Target(&mbx, &spec.Target); err != nil {
			return nil, err
		}
	case "user":
		ref := mbx.Spec.CredentialsSecretRef
		spec.Target.Password = secretRef(mbx.Namespace, ref.Name, orDefault(ref.Key, "password"))
	default:
		ref := srv.Spec.Admin.SecretRef
		spec.Target.AdminLogin = secretRef(srv.Namespace, ref.Name, orDefault(ref.UsernameKey, "username"))
		spec.Target.AdminPassword = secretRef(srv.Namespace, ref.Name, orDefault(ref.PasswordKey, "password"))
	}
	if srv.Namespace != mig.Namespace && !r.Executor.readsSecretsAnywhere() {
		// A pod can mount only Secrets of its own namespace.
		return nil, &refError{mailshiftv1.ReasonNotSupported, fmt.Sprintf(
			"the Mailbox's MailServer %s/%s is in another namespace: worker Jobs can only mount Secrets of %s (give the Mailbox its own credentialsSecretRef)",
			srv.Namespace, srv.Name, mig.Namespace), true}
	}

	switch {
	case set.Source.PST != nil:
		pst := set.Source.PST
		if err := r.checkVolume(ctx, mig.Namespace, &pst.Volume); err != nil {
			return nil, err
		}
		spec.Source.PST = &migrationrun.PSTSource{Path: pstPath}
		p.pstVolume = pst.Volume.DeepCopy()
	case set.Source.IMAP != nil:
		im := set.Source.IMAP
		if err := allowedServerHosts.CheckHost(im.Host); err != nil {
			return nil, &refError{mailshiftv1.ReasonHostNotAllowed, "source: " + err.Error(), true}
		}
		src := &migrationrun.IMAPSource{
			Endpoint: migrationrun.Endpoint{Host: im.Host, Port: int(im.Port), TLS: string(orDefault(string(im.TLS), string(mailshiftv1.TLSImplicit))),
				Flavor: string(im.Flavor)},
			Login: im.Login, Auth: string(im.Auth),
		}
		if src.Endpoint.TLS == string(mailshiftv1.TLSNone) && !im.InsecureAllowPlaintext {
			return nil, &refError{mailshiftv1.ReasonInvalidSpec, "source tls None needs insecureAllowPlaintext: true", true}
		}
		if ca := im.CABundle; ca != nil {
			src.Endpoint.CA = secretRef(mig.Namespace, ca.Name, orDefault(ca.Key, "ca.crt"))
		}
		switch im.Auth {
		case "", mailshiftv1.AuthPassword:
			ref := im.CredentialsSecretRef
			if ref == nil {
				return nil, &refError{mailshiftv1.ReasonInvalidSpec, "source auth Password needs credentialsSecretRef", true}
			}
			if im.Login == "" {
				src.LoginFrom = secretRef(mig.Namespace, ref.Name, orDefault(ref.UsernameKey, "username"))
			}
			src.Password = secretRef(mig.Namespace, ref.Name, orDefault(ref.PasswordKey, "password"))
		default:
			ref := im.TokenSecretRef
			if ref == nil {
				return nil, &refError{mailshiftv1.ReasonInvalidSpec, "source OAuth2 needs tokenSecretRef", true}
			}
			src.Token = secretRef(mig.Namespace, ref.Name, orDefault(ref.Key, "token"))
		}
		spec.Source.IMAP = src
	}
	// Every Secret the run reads must exist with its key now: a worker that cannot start is a worse way to
	// find out.
	for _, v := range spec.Values() {
		if _, err := secretValue(ctx, r.Client, v.Secret.Namespace, v.Secret.Name, v.Secret.Key); err != nil {
			return nil, err
		}
	}
	p.run = runName(mig, &spec, p.pstVolume)
	spec.Run = p.run
	p.spec = spec
	return p, nil
}

// oauth2Target has the worker log in to a Mailbox on OAuth 2.0 as the manager does: with the token of its
// Secret, or with tokens it gets from the token endpoint for the client (the client-credentials grant), a
// new one before the one it holds expires, so that a migration longer than a token's life goes on. A
// refresh token serves one client, the manager's checks and syncs of the Mailbox: a server that replaces it
// at each use refuses it from a second, so a worker never uses it.
func oauth2Target(mbx *mailshiftv1.Mailbox, t *migrationrun.Target) error {
	o := mbx.Spec.OAuth2
	t.Mechanism = imapconn.MechanismXOAUTH2
	if o.Mechanism == mailshiftv1.AuthOAUTHBEARER {
		t.Mechanism = imapconn.MechanismOAuthBearer
	}
	if ref := o.TokenSecretRef; ref != nil {
		t.Token = secretRef(mbx.Namespace, ref.Name, orDefault(ref.Key, "token"))
		return nil
	}
	if o.Grant == mailshiftv1.GrantRefreshToken {
		return &refError{mailshiftv1.ReasonNotSupported, fmt.Sprintf(
			"Mailbox %s logs in with the RefreshToken grant, whose refresh token only the manager may use (a server that replaces it at each use refuses it from a second client): give the migration a Mailbox with the ClientCredentials grant, a token Secret, credentialsSecretRef or the server's admin credentials", mbx.Name), true}
	}
	if o.ClientSecretRef == nil {
		return &refError{mailshiftv1.ReasonInvalidSpec, "spec.oauth2.tokenURL needs spec.oauth2.clientSecretRef", true}
	}
	if u, err := url.Parse(o.TokenURL); err != nil || u.Hostname() == "" {
		return &refError{mailshiftv1.ReasonInvalidSpec, "spec.oauth2.tokenURL is not a URL with a host", true}
	} else if err := allowedServerHosts.CheckHost(u.Hostname()); err != nil {
		return &refError{mailshiftv1.ReasonHostNotAllowed, "spec.oauth2.tokenURL: " + err.Error(), true}
	}
	t.OAuth2 = &migrationrun.OAuth2Client{TokenURL: o.TokenURL, Scopes: o.Scopes,
		ClientID:     secretRef(mbx.Namespace, o.ClientSecretRef.Name, "client_id"),
		ClientSecret: secretRef(mbx.Namespace, o.ClientSecretRef.Name, "client_secret")}
	return nil
}

func secretRef(ns, name, key string) *migrationrun.Value {
	return &migrationrun.Value{Secret: &migrationrun.SecretKey{Namespace: ns, Name: name, Key: key}}
}

// checkVolume makes sure the PST's volume can be mounted: a PersistentVolumeClaim must exist (a pod would
// otherwise wait without saying why).
func (r *MigrationReconciler) checkVolume(ctx context.Context, ns string, v *corev1.VolumeSource) error {
	if v.PersistentVolumeClaim == nil {
		return nil
	}
	var pvc corev1.PersistentVolumeClaim
	if err := r.Get(ctx, types.NamespacedName{Namespace: ns, Name: v.PersistentVolumeClaim.ClaimName}, &pvc); err != nil {
		if apierrors.IsNotFound(err) {
			return &refError{"VolumeNotFound", fmt.Sprintf("PersistentVolumeClaim %s (the PST's volume) not found", v.PersistentVolumeClaim.ClaimName), true}
		}
		return err
	}
	return nil
}

// ReasonVolumeNotAllowed: the PST's volume is of a kind this manager does not mount for tenants.
const ReasonVolumeNotAllowed = "VolumeNotAllowed"

// checkPSTVolume allows the volume kinds that hold a tenant's own data: a claim, an NFS share, a CSI or
// ephemeral volume. hostPath exposes whatever directory of the node the spec names, so it needs the
// administrator's consent (--allow-hostpath-pst-volumes). The API server checks the same for new objects;
// this also holds for objects stored before the rule existed.
func checkPSTVolume(v *corev1.VolumeSource, allowHostPath bool) error {
	only := corev1.VolumeSource{PersistentVolumeClaim: v.PersistentVolumeClaim, NFS: v.NFS, CSI: v.CSI, Ephemeral: v.Ephemeral, HostPath: v.HostPath}
	set := 0
	for _, isSet := range []bool{v.PersistentVolumeClaim != nil, v.NFS != nil, v.CSI != nil, v.Ephemeral != nil, v.HostPath != nil} {
		if isSet {
			set++
		}
	}
	if set != 1 || !reflect.DeepEqual(only, *v) {
		return &refError{ReasonVolumeNotAllowed,
			"source.pst.volume must be exactly one of persistentVolumeClaim, nfs, csi or ephemeral (hostPath only where the manager allows it)", true}
	}
	if v.HostPath != nil && !allowHostPath {
		return &refError{ReasonVolumeNotAllowed,
			"source.pst.volume: hostPath volumes are not allowed by this manager (--allow-hostpath-pst-volumes); put the file on a PersistentVolumeClaim", true}
	}
	return nil
}

// cleanPSTPath checks that the PST's path stays inside its volume: relative, with no ".." step, naming
// something below the volume's root. It returns the path cleaned.
func cleanPSTPath(p string) (string, error) {
	bad := func(why string) error {
		return &refError{mailshiftv1.ReasonInvalidSpec, fmt.Sprintf("source.pst.path %q %s", p, why), true}
	}
	switch {
	case p == "":
		return "", bad("is empty")
	case strings.HasPrefix(p, "/"):
		return "", bad("must be relative to the volume (no leading /)")
	case strings.ContainsRune(p, 0):
		return "", bad("contains a NUL byte")
	}
	for _, step := range strings.Split(p, "/") {
		if step == ".." {
			return "", bad(`must not contain ".."`)
		}
	}
	c := path.Clean(p)
	if c == "." {
		return "", bad("names the volume itself, not a file in it")
	}
	return c, nil
}
