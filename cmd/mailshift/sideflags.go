package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/mailshift/mailshift/internal/imapconn"
)

// sideFlags are the flags that say how to log in to one side of a copy or a sync, --from or --to:
// the account's URL, and its password, admin or OAuth2 token, each from a file or the environment, never
// from the command line.
type sideFlags struct {
	name, env                       string // "from", "FROM"
	url, pwFile, admin, adminPwFile *string
	auth, tokenFile                 *string
}

// addSideFlags adds --NAME (helped by urlHelp) and its secrets' flags; what names the side in help texts.
func addSideFlags(fs *flag.FlagSet, name, what, urlHelp string) *sideFlags {
	env := strings.ToUpper(name)
	return &sideFlags{
		name: name, env: env,
		url:         fs.String(name, "", urlHelp),
		pwFile:      fs.String(name+"-password-file", "", "file whose first line is the "+what+" password (else $MAILSHIFT_"+env+"_PASSWORD)"),
		admin:       fs.String(name+"-admin", "", "log in to the "+what+" as this admin and act as USER"),
		adminPwFile: fs.String(name+"-admin-password-file", "", "file with the "+what+" admin's password (else $MAILSHIFT_"+env+"_ADMIN_PASSWORD)"),
		auth:        fs.String(name+"-auth", "", what+" login: password (default), xoauth2 or oauthbearer"),
		tokenFile:   fs.String(name+"-token-file", "", "file with the "+what+"'s OAuth2 bearer token (else $MAILSHIFT_"+env+"_TOKEN)"),
	}
}

// isIMAP says whether the side's URL names an IMAP account.
func (s *sideFlags) isIMAP() bool {
	return strings.HasPrefix(*s.url, "imap://") || strings.HasPrefix(*s.url, "imaps://")
}

// resolve reads the side's URL and secrets. Its errors are usage errors.
func (s *sideFlags) resolve(tlsMode string, allowPlain bool, caPEM []byte) (imapconn.Endpoint, imapconn.Credentials, error) {
	t, err := parseIMAPURL(*s.url)
	if err != nil {
		return imapconn.Endpoint{}, imapconn.Credentials{}, fmt.Errorf("--%s: %v", s.name, err)
	}
	if t.endpoint.TLS, err = tlsFlag(tlsMode, allowPlain, strings.HasPrefix(*s.url, "imaps://")); err != nil {
		return imapconn.Endpoint{}, imapconn.Credentials{}, err
	}
	t.endpoint.CAPEM = caPEM
	cred := imapconn.Credentials{Login: t.login}
	switch strings.ToLower(*s.auth) {
	case "", "password":
		if *s.admin != "" {
			cred.AdminLogin = *s.admin
			if cred.AdminPassword, err = readPassword(*s.adminPwFile, "MAILSHIFT_"+s.env+"_ADMIN_PASSWORD"); err != nil {
				return t.endpoint, cred, err
			}
		} else if cred.Password, err = readPassword(*s.pwFile, "MAILSHIFT_"+s.env+"_PASSWORD"); err != nil {
			return t.endpoint, cred, fmt.Errorf("%s", strings.ReplaceAll(err.Error(), "--password-file", "--"+s.name+"-password-file"))
		}
	case "xoauth2", "oauthbearer":
		cred.Mechanism = strings.ToUpper(*s.auth)
		if cred.Token, err = readPassword(*s.tokenFile, "MAILSHIFT_"+s.env+"_TOKEN"); err != nil {
			return t.endpoint, cred, fmt.Errorf("no token: use --%s-token-file or set MAILSHIFT_%s_TOKEN", s.name, s.env)
		}
	default:
		return t.endpoint, cred, fmt.Errorf("--%s-auth must be password, xoauth2 or oauthbearer, not %q", s.name, *s.auth)
	}
	return t.endpoint, cred, nil
}

// connFlags are how both sides are reached: --tls, --allow-plaintext, --ca-file.
type connFlags struct {
	tls        *string
	allowPlain *bool
	caFile     *string
}

func addConnFlags(fs *flag.FlagSet) *connFlags {
	return &connFlags{
		tls:        fs.String("tls", "starttls", "starttls, implicit or none (none needs --allow-plaintext)"),
		allowPlain: fs.Bool("allow-plaintext", false, "allow --tls none, which sends passwords in clear text (for loopback tests)"),
		caFile:     fs.String("ca-file", "", "PEM file of CAs that sign the servers' certificates"),
	}
}

// resolve resolves side with these flags. Its errors are usage errors.
func (c *connFlags) resolve(side *sideFlags) (imapconn.Endpoint, imapconn.Credentials, error) {
	var caPEM []byte
	if *c.caFile != "" {
		var err error
		if caPEM, err = os.ReadFile(*c.caFile); err != nil {
			return imapconn.Endpoint{}, imapconn.Credentials{}, fmt.Errorf("CA file: %v", err)
		}
	}
	return side.resolve(*c.tls, *c.allowPlain, caPEM)
}
