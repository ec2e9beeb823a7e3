package imapconn

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/mailshift/mailshift/internal/certerr"
)

// TLS: the configuration every connection uses, STARTTLS (RFC 9051 §6.2.1) and handshake errors told
// without the peer's bytes.

// startTLS sends STARTTLS and waits for the tagged answer. Anything the server sent after its OK and
// before the handshake is refused (a plaintext injection would otherwise be read as if it came over
// TLS).
func (c *Conn) startTLS() error {
	if _, err := io.WriteString(c.raw, "S1 STARTTLS\r\n"); err != nil {
		return err
	}
	for {
		var size int64
		line, err := c.readLine(&size)
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "* ") {
			continue // untagged data (CAPABILITY, ...) before the answer
		}
		rest, ok := strings.CutPrefix(line, "S1 ")
		if !ok {
			return fmt.Errorf("unexpected line %s", ServerText(line))
		}
		if f := strings.Fields(rest); len(f) == 0 || !strings.EqualFold(f[0], "OK") {
			return fmt.Errorf("server refused STARTTLS: %s", ServerText(rest))
		}
		if c.br.Buffered() > 0 {
			return errors.New("server sent data after its STARTTLS response")
		}
		return nil
	}
}

func isTLSError(err error) bool {
	var (
		uae   x509.UnknownAuthorityError
		he    x509.HostnameError
		ce    x509.CertificateInvalidError
		cve   *tls.CertificateVerificationError
		rhe   tls.RecordHeaderError
		alert tls.AlertError
		ech   *tls.ECHRejectionError
	)
	return errors.As(err, &uae) || errors.As(err, &he) || errors.As(err, &ce) || errors.As(err, &cve) ||
		errors.As(err, &rhe) || errors.As(err, &alert) || errors.As(err, &ech) ||
		strings.HasPrefix(err.Error(), "tls: ")
}

// tlsError reports a failed handshake. Certificate errors are told in package certerr's words:
// crypto/x509's quote the peer's certificate, bytes of whatever answered at the address, which would
// otherwise land in status.
func tlsError(ep Endpoint, err error) error {
	name := ep.ServerName
	if name == "" {
		name = ep.Host
	}
	if msg, ok := certerr.Describe(err, name); ok {
		return &Error{Kind: TLSFailed, Op: "tls", Err: errors.New(msg)}
	}
	return Wrap("tls", PhaseTLS, err, nil)
}

// TLSConfig returns the tls.Config connections use: verification on unless InsecureSkipVerify, roots
// from CAPEM when given, TLS 1.2 or newer.
func (ep Endpoint) TLSConfig() (*tls.Config, error) {
	cfg := &tls.Config{
		ServerName:         ep.ServerName,
		InsecureSkipVerify: ep.InsecureSkipVerify, //nolint:gosec // only when the user asks for it
		MinVersion:         tls.VersionTLS12,
	}
	if cfg.ServerName == "" {
		cfg.ServerName = ep.Host
	}
	if len(ep.CAPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ep.CAPEM) {
			return nil, errors.New("no certificate found in the CA bundle")
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}
