// Package migrationrun runs one MailboxMigration's worker: it turns a Spec (what the controller resolved from
// the MailboxMigration, its Mailbox and MailServer, with no secrets in it) into a worker.Job, runs it, and
// leaves its traces where the controller and people look: status.progress (server-side apply under the
// worker's own field manager), the checkpoint and the failed-item report in ConfigMaps, and a one-line
// summary for the pod's termination message. The same code runs in a worker Job's pod and, for single-machine
// installs, inside the manager.
package migrationrun

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/mailshift/mailshift/internal/convert"
	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/imapsession"
	"github.com/mailshift/mailshift/internal/oauthtoken"
	"github.com/mailshift/mailshift/worker"
)

// SpecEnv is the environment variable that carries a worker pod's Spec as JSON.
const SpecEnv = "MAILSHIFT_WORKER_SPEC"

// Spec is one run of one MailboxMigration. It holds no secret: credentials are named by Secret (in-process)
// or by file (a Secret volume in the worker pod).
type Spec struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	UID       string `json:"uid"`
	// Run names this run (the worker Job's name); it is recorded in the report.
	Run string `json:"run"`

	Source Source `json:"source"`
	Target Target `json:"target"`

	Include     []string          `json:"include,omitempty"`
	Exclude     []string          `json:"exclude,omitempty"`
	Renames     map[string]string `json:"renames,omitempty"`
	TargetRoot  string            `json:"targetRoot,omitempty"`
	SkipOutbox  bool              `json:"skipOutbox,omitempty"`
	Groupware   string            `json:"groupware,omitempty"` // Kolab3 (default), Kolab2, ICalendar
	Parallel    int               `json:"parallel,omitempty"`
	KeepOrder   bool              `json:"keepOrder,omitempty"`
	MaxBytes    int64             `json:"maxMessageBytes,omitempty"`
	FailTooBig  bool              `json:"failOnTooLarge,omitempty"`
	RateMsgs    float64           `json:"messagesPerSecond,omitempty"`
	RateBytes   int64             `json:"bytesPerSecond,omitempty"`
	SpoolDir    string            `json:"spoolDir,omitempty"`
	Checkpoint  string            `json:"checkpointConfigMap"`
	ReportName  string            `json:"reportConfigMap"`
	Connections int               `json:"maxConnections,omitempty"`
}

// Source is a PST file (a path the worker can open) or an IMAP account.
type Source struct {
	PST  *PSTSource  `json:"pst,omitempty"`
	IMAP *IMAPSource `json:"imap,omitempty"`
}

// PSTSource is a PST file on a mounted volume.
type PSTSource struct {
	Path     string `json:"path"`
	Codepage int    `json:"codepage,omitempty"`
}

// IMAPSource is a source IMAP account.
type IMAPSource struct {
	Endpoint  Endpoint `json:"endpoint"`
	Login     string   `json:"login,omitempty"`
	LoginFrom *Value   `json:"loginFrom,omitempty"` // the login from the credentials Secret
	Auth      string   `json:"auth,omitempty"`      // Password (default), XOAUTH2, OAUTHBEARER
	Password  *Value   `json:"password,omitempty"`
	Token     *Value   `json:"token,omitempty"`
}

// Target is the Mailbox's account.
type Target struct {
	Endpoint Endpoint `json:"endpoint"`
	Login    string   `json:"login"`
	Password *Value   `json:"password,omitempty"`
	// AdminLogin and AdminPassword log in as the MailServer's admin on the user's behalf.
	AdminLogin    *Value `json:"adminLogin,omitempty"`
	AdminPassword *Value `json:"adminPassword,omitempty"`
	// Mechanism (XOAUTH2, OAUTHBEARER) logs in with OAuth 2.0: a Token from a Secret, or tokens the worker
	// gets from the token endpoint itself (OAuth2), a new one before the one it holds expires.
	Mechanism string          `json:"mechanism,omitempty"`
	Token     *Value          `json:"token,omitempty"`
	OAuth2    *OAuth2Client   `json:"oauth2,omitempty"`
	Special   []SpecialFolder `json:"specialFolders,omitempty"`
	Placement string          `json:"placement,omitempty"`
	Annotate  bool            `json:"annotate,omitempty"`
}

// OAuth2Client gets tokens with the client-credentials grant (RFC 6749 §4.4). The refresh-token grant is not
// here: its refresh token serves one client, the manager, and a server that replaces it at each use refuses
// it from a second one.
type OAuth2Client struct {
	TokenURL     string   `json:"tokenURL"`
	ClientID     *Value   `json:"clientID"`
	ClientSecret *Value   `json:"clientSecret"`
	Scopes       []string `json:"scopes,omitempty"`
}

// SpecialFolder is one groupware folder of the Mailbox.
type SpecialFolder struct {
	Type string `json:"type"` // Kolab folder type: event, contact, task, note, journal
	Name string `json:"name"`
}

// Endpoint is an IMAP server address and its TLS settings.
type Endpoint struct {
	Host       string `json:"host"`
	Port       int    `json:"port,omitempty"`
	TLS        string `json:"tls,omitempty"` // Implicit, STARTTLS, None
	ServerName string `json:"serverName,omitempty"`
	Flavor     string `json:"flavor,omitempty"`
	CA         *Value `json:"ca,omitempty"`
}

// Value is where a secret value is read from: a file (a Secret volume in the worker pod) or a Secret key
// (the in-process executor reads it through the API).
type Value struct {
	File   string     `json:"file,omitempty"`
	Secret *SecretKey `json:"secret,omitempty"`
}

// SecretKey is one key of a Secret.
type SecretKey struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	Key       string `json:"key"`
}

// SecretReader reads a Secret key for Values that name one.
type SecretReader func(ctx context.Context, k SecretKey) ([]byte, error)

// ParseSpec reads a Spec from JSON, with an error that says which part is wrong.
func ParseSpec(b []byte) (*Spec, error) {
	var s Spec
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, &SpecError{fmt.Sprintf("worker spec is not valid JSON: %v", err)}
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	return &s, nil
}

// SpecError is a spec the worker cannot run: retrying will not help.
type SpecError struct{ msg string }

func (e *SpecError) Error() string { return e.msg }

func (s *Spec) validate() error {
	switch {
	case s.Namespace == "" || s.Name == "":
		return &SpecError{"worker spec: namespace and name are required"}
	case (s.Source.PST == nil) == (s.Source.IMAP == nil):
		return &SpecError{"worker spec: exactly one of source.pst and source.imap"}
	case s.Target.Endpoint.Host == "" || s.Target.Login == "":
		return &SpecError{"worker spec: target host and login are required"}
	case s.Target.Password == nil && s.Target.AdminPassword == nil && s.Target.Token == nil && s.Target.OAuth2 == nil:
		return &SpecError{"worker spec: the target needs a password, admin credentials or OAuth2"}
	case (s.Target.Token != nil || s.Target.OAuth2 != nil) && s.Target.Mechanism != imapconn.MechanismXOAUTH2 && s.Target.Mechanism != imapconn.MechanismOAuthBearer:
		return &SpecError{fmt.Sprintf("worker spec: target mechanism %q is not XOAUTH2 or OAUTHBEARER", s.Target.Mechanism)}
	case s.Target.OAuth2 != nil && (s.Target.OAuth2.TokenURL == "" || s.Target.OAuth2.ClientID == nil):
		return &SpecError{"worker spec: target oauth2 needs tokenURL and clientID"}
	case s.Checkpoint == "" || s.ReportName == "":
		return &SpecError{"worker spec: checkpointConfigMap and reportConfigMap are required"}
	}
	if _, ok := groupwareFormats[s.Groupware]; !ok {
		return &SpecError{fmt.Sprintf("worker spec: groupware format %q is not Kolab3, Kolab2 or ICalendar", s.Groupware)}
	}
	return nil
}

var groupwareFormats = map[string]groupware.Format{"": groupware.FormatKolab3, "Kolab3": groupware.FormatKolab3,
	"Kolab2": groupware.FormatKolab2, "ICalendar": groupware.FormatICal}

func (v *Value) read(ctx context.Context, secrets SecretReader) (string, error) {
	if v == nil {
		return "", nil
	}
	switch {
	case v.File != "":
		b, err := os.ReadFile(v.File)
		if err != nil {
			return "", fmt.Errorf("credentials file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case v.Secret != nil:
		if secrets == nil {
			return "", &SpecError{"worker spec names a Secret, but this worker cannot read Secrets"}
		}
		b, err := secrets(ctx, *v.Secret)
		if err != nil {
			return "", err
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	}
	return "", &SpecError{"worker spec: a credential names neither a file nor a Secret"}
}

func (e Endpoint) endpoint(ctx context.Context, secrets SecretReader) (imapconn.Endpoint, error) {
	ep := imapconn.Endpoint{Host: e.Host, Port: e.Port, TLS: imapconn.TLSMode(e.TLS), ServerName: e.ServerName}
	if ep.TLS == "" {
		ep.TLS = imapconn.TLSStartTLS
	}
	ca, err := e.CA.read(ctx, secrets)
	if err != nil {
		return ep, err
	}
	if ca != "" {
		ep.CAPEM = []byte(ca)
	}
	return ep, nil
}

// source is the token source of the client: each connection the worker opens logs in with a token valid
// then, fetched when the one held is about to expire.
func (o *OAuth2Client) source(ctx context.Context, secrets SecretReader) (*oauthtoken.Source, error) {
	id, err := o.ClientID.read(ctx, secrets)
	if err != nil {
		return nil, err
	}
	secret, err := o.ClientSecret.read(ctx, secrets)
	if err != nil {
		return nil, err
	}
	src, err := oauthtoken.New(oauthtoken.Config{TokenURL: o.TokenURL, Grant: oauthtoken.ClientCredentials,
		ClientID: strings.TrimSpace(id), ClientSecret: secret, Scopes: o.Scopes})
	if err != nil {
		return nil, &SpecError{"worker spec: target oauth2: " + err.Error()}
	}
	return src, nil
}

// open builds the worker.Job of the spec, with its source opened. The caller closes job.Source.
func (s *Spec) open(ctx context.Context, secrets SecretReader, openPST func(string) (*os.File, error)) (worker.Job, error) {
	var job worker.Job
	tep, err := s.Target.Endpoint.endpoint(ctx, secrets)
	if err != nil {
		return job, err
	}
	cred := imapconn.Credentials{Login: s.Target.Login, Flavor: s.Target.Endpoint.Flavor}
	switch t := s.Target; {
	case t.Password != nil:
		if cred.Password, err = t.Password.read(ctx, secrets); err != nil {
			return job, err
		}
	case t.Token != nil:
		cred.Mechanism = t.Mechanism
		if cred.Token, err = t.Token.read(ctx, secrets); err != nil {
			return job, err
		}
	case t.OAuth2 != nil:
		cred.Mechanism = t.Mechanism
		if cred.Tokens, err = t.OAuth2.source(ctx, secrets); err != nil {
			return job, err
		}
	default:
		if cred.AdminLogin, err = s.Target.AdminLogin.read(ctx, secrets); err != nil {
			return job, err
		}
		if cred.AdminPassword, err = s.Target.AdminPassword.read(ctx, secrets); err != nil {
			return job, err
		}
	}
	special := make([]imapsession.SpecialFolder, 0, len(s.Target.Special))
	for _, f := range s.Target.Special {
		special = append(special, imapsession.SpecialFolder{Type: imapsession.FolderType(f.Type), Name: f.Name})
	}
	if len(special) == 0 {
		special = nil // the engine's defaults
	}
	job = worker.Job{
		Target: worker.TargetSpec{Endpoint: tep, Credentials: cred, SpecialFolders: special,
			Placement: imapsession.Placement(orDefault(s.Target.Placement, string(imapsession.PlaceAuto))), Annotate: s.Target.Annotate},
		Rules:          foldermap.Rules{Include: s.Include, Exclude: s.Exclude, Renames: s.Renames, Root: s.TargetRoot, MigrateOutbox: !s.SkipOutbox},
		Parallel:       s.Parallel,
		KeepOrder:      s.KeepOrder,
		MaxMessageSize: s.MaxBytes,
		FailOnTooBig:   s.FailTooBig,
		RateMessages:   s.RateMsgs,
		RateBytes:      s.RateBytes,
		SpoolDir:       s.SpoolDir,
	}
	if s.Connections > 0 && job.Parallel > s.Connections-1 {
		// One connection sets the target up; the others copy folders. The MailServer's limit holds.
		job.Parallel = max(1, s.Connections-1)
	}
	switch {
	case s.Source.PST != nil:
		owner := s.Target.Login
		if !strings.Contains(owner, "@") {
			owner = ""
		}
		opts := convert.Options{Format: groupwareFormats[s.Groupware], Owner: groupware.Person{Email: owner}}
		var src *worker.PSTSource
		var err error
		if openPST == nil {
			src, err = worker.OpenPST(s.Source.PST.Path, s.Source.PST.Codepage, opts)
		} else {
			var fh *os.File
			if fh, err = openPST(s.Source.PST.Path); err == nil {
				src, err = worker.OpenPSTFile(fh, s.Source.PST.Codepage, opts)
			}
		}
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return job, &SourceError{Reason: "SourceNotFound", Err: fmt.Errorf("PST file %s: %w", s.Source.PST.Path, err)}
			}
			return job, &SourceError{Reason: "SourceUnreadable", Err: fmt.Errorf("PST file %s: %w", s.Source.PST.Path, err)}
		}
		job.Source = src
	default:
		im := s.Source.IMAP
		ep, err := im.Endpoint.endpoint(ctx, secrets)
		if err != nil {
			return job, err
		}
		c := imapconn.Credentials{Login: im.Login, Flavor: im.Endpoint.Flavor}
		if im.LoginFrom != nil {
			if c.Login, err = im.LoginFrom.read(ctx, secrets); err != nil {
				return job, err
			}
		}
		switch im.Auth {
		case "", "Password":
			if c.Password, err = im.Password.read(ctx, secrets); err != nil {
				return job, err
			}
		case "XOAUTH2", "OAUTHBEARER":
			c.Mechanism = im.Auth
			if c.Token, err = im.Token.read(ctx, secrets); err != nil {
				return job, err
			}
		default:
			return job, &SpecError{fmt.Sprintf("worker spec: source auth %q is not Password, XOAUTH2 or OAUTHBEARER", im.Auth)}
		}
		src, err := worker.OpenIMAP(ctx, ep, c)
		if err != nil {
			return job, &SourceError{Err: fmt.Errorf("source: %w", err)}
		}
		job.Source = src
	}
	return job, nil
}

// SourceError is a source that could not be opened.
type SourceError struct {
	Reason string // empty: from the IMAP error kind
	Err    error
}

func (e *SourceError) Error() string { return e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// Values returns every credential the spec reads, so a caller can check or rewrite them.
func (s *Spec) Values() []*Value {
	var out []*Value
	add := func(vs ...*Value) {
		for _, v := range vs {
			if v != nil {
				out = append(out, v)
			}
		}
	}
	add(s.Target.Endpoint.CA, s.Target.Password, s.Target.AdminLogin, s.Target.AdminPassword, s.Target.Token)
	if o := s.Target.OAuth2; o != nil {
		add(o.ClientID, o.ClientSecret)
	}
	if im := s.Source.IMAP; im != nil {
		add(im.Endpoint.CA, im.LoginFrom, im.Password, im.Token)
	}
	return out
}
