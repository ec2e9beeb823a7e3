package controllers

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/oauthtoken"
)

// oauth2Credentials fills t's credentials for a Mailbox that logs in with OAuth 2.0: the mechanism, and the
// token (from its Secret) or the source that gets tokens from the token endpoint at each login, in the
// background check or cycle that dials, never here.
func oauth2Credentials(ctx context.Context, c client.Reader, mbx *mailshiftv1.Mailbox, t *mailboxTarget) error {
	o := mbx.Spec.OAuth2
	t.creds.Mechanism = imapconn.MechanismXOAUTH2
	if o.Mechanism == mailshiftv1.AuthOAUTHBEARER {
		t.creds.Mechanism = imapconn.MechanismOAuthBearer
	}
	t.authAs = "oauth2"
	if ref := o.TokenSecretRef; ref != nil {
		tok, err := secretValue(ctx, c, mbx.Namespace, ref.Name, orDefault(ref.Key, "token"))
		if err != nil {
			return err
		}
		t.creds.Token = strings.TrimSpace(tok)
		return nil
	}
	if o.ClientSecretRef == nil {
		return &refError{mailshiftv1.ReasonInvalidSpec, "spec.oauth2.tokenURL needs spec.oauth2.clientSecretRef", true}
	}
	var client corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: mbx.Namespace, Name: o.ClientSecretRef.Name}, &client); err != nil {
		if apierrors.IsNotFound(err) {
			return &refError{mailshiftv1.ReasonSecretNotFound, fmt.Sprintf("Secret %s/%s not found", mbx.Namespace, o.ClientSecretRef.Name), true}
		}
		return fmt.Errorf("get Secret %s/%s: %w", mbx.Namespace, o.ClientSecretRef.Name, err)
	}
	id := strings.TrimSpace(string(client.Data["client_id"]))
	if id == "" {
		return &refError{mailshiftv1.ReasonSecretInvalid, fmt.Sprintf("Secret %s/%s has no key %q", mbx.Namespace, o.ClientSecretRef.Name, "client_id"), true}
	}
	cfg := oauthtoken.Config{TokenURL: o.TokenURL, Grant: oauthtoken.Grant(orDefault(string(o.Grant), string(mailshiftv1.GrantClientCredentials))),
		ClientID: id, ClientSecret: string(client.Data["client_secret"]), Scopes: o.Scopes, Allowed: allowedServerHosts}
	if ref := o.RefreshTokenSecretRef; ref != nil {
		key := orDefault(ref.Key, "refresh_token")
		rt, err := secretValue(ctx, c, mbx.Namespace, ref.Name, key)
		if err != nil {
			return err
		}
		cfg.RefreshToken = strings.TrimSpace(rt)
		secret := types.NamespacedName{Namespace: mbx.Namespace, Name: ref.Name}
		cfg.Rotated = func(rt string) { tokenSources.keep(secret, key, rt) }
	}
	src, identity, err := tokenSources.get(mbx.Namespace+"/"+mbx.Name, cfg)
	if err != nil {
		return &refError{mailshiftv1.ReasonInvalidSpec, "spec.oauth2: " + err.Error(), true}
	}
	t.creds.Tokens = src
	// The check's input changes with the token endpoint's settings, never with a token, nor with a refresh
	// token the source itself was given and kept in the Secret.
	t.tokenConfig = identity
	return nil
}

// tokenSources keeps each Mailbox's token source between reconciles, so that a token is fetched once and
// renewed before it expires rather than at every check; a changed setting or Secret makes a new source.
var tokenSources = &tokenCache{m: map[string]cachedSource{}}

type tokenCache struct {
	mu sync.Mutex
	m  map[string]cachedSource
	// writer keeps a refresh token the token endpoint replaced in the Mailbox's Secret (SetupAll).
	writer client.Writer
}

type cachedSource struct {
	print string // the settings, the refresh token left out
	first string // the refresh token the source was made with
	src   *oauthtoken.Source
}

// maxTokenSources bounds the cache: a source is a few hundred bytes and one token.
const maxTokenSources = 100_000

// get returns the Mailbox's source for cfg, and what identifies it: its settings and the refresh token it
// was made with. A Secret holding the refresh token the source was made with, or the one it holds now
// (kept there by keep), is the same source; any other refresh token is a person's, and makes a new one.
func (c *tokenCache) get(key string, cfg oauthtoken.Config) (*oauthtoken.Source, string, error) {
	settings := cfg
	settings.RefreshToken = ""
	p := fingerprint(settings)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[key]; ok && e.print == p && (cfg.RefreshToken == e.first || cfg.RefreshToken == e.src.RefreshToken()) {
		return e.src, fingerprint(withRefreshToken(settings, e.first)), nil
	}
	src, err := oauthtoken.New(cfg)
	if err != nil {
		return nil, "", err
	}
	if len(c.m) >= maxTokenSources {
		for k := range c.m { // a deleted Mailbox's source, most likely; it is made again when needed
			delete(c.m, k)
			break
		}
	}
	c.m[key] = cachedSource{print: p, first: cfg.RefreshToken, src: src}
	return src, fingerprint(cfg), nil
}

func withRefreshToken(cfg oauthtoken.Config, rt string) oauthtoken.Config {
	cfg.RefreshToken = rt
	return cfg
}

// keep writes a refresh token the token endpoint replaced into the Mailbox's Secret, where a manager started
// again finds it: a server that replaces it at each use refuses the one before (Ory Hydra; Microsoft Entra
// ID lets the one before run out in its time). It runs while the source is held, one write after the
// other, so an older token never overwrites a newer one. A failure is logged without the token: the source
// keeps it in memory, and the next rotation tries again.
func (c *tokenCache) keep(secret types.NamespacedName, key, rt string) {
	if c.writer == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	patch, _ := json.Marshal(map[string]any{"data": map[string]string{key: base64.StdEncoding.EncodeToString([]byte(rt))}})
	obj := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: secret.Namespace, Name: secret.Name}}
	if err := c.writer.Patch(ctx, obj, client.RawPatch(types.MergePatchType, patch)); err != nil {
		log.Log.WithName("oauth2").Info("could not keep the refresh token the token endpoint replaced; a manager started again will use the Secret's",
			"secret", secret.String(), "key", key, "reason", apierrors.ReasonForError(err))
	}
}

// fingerprint identifies a token configuration (secrets included, hashed) without holding any secret.
func fingerprint(cfg oauthtoken.Config) string {
	h := sha256.New()
	for _, s := range append([]string{cfg.TokenURL, string(cfg.Grant), cfg.ClientID, cfg.ClientSecret, cfg.RefreshToken}, cfg.Scopes...) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
