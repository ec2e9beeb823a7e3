package imapconn

import (
	"context"
	"crypto/tls"
	"time"
)

// ProbeResult is what a server shows before login.
type ProbeResult struct {
	// Greeting is the server's first line without the trailing CRLF, e.g. "* OK [CAPABILITY ...] Dovecot
	// ready.".
	Greeting string
	// Capabilities are the pre-authentication capabilities, after STARTTLS when that was used, sorted.
	Capabilities []string
	// AuthMechanisms are the AUTH= mechanisms offered, sorted.
	AuthMechanisms []string
	// LoginDisabled is true when the server refuses LOGIN (LOGINDISABLED).
	LoginDisabled bool
	// TLSVersion is "TLS 1.3" etc., "" when TLS mode None.
	TLSVersion string
	// CertificateNotAfter is the server certificate's expiry (zero without TLS).
	CertificateNotAfter time.Time
	// CertificateSubject is the server certificate's subject.
	CertificateSubject string
	// Elapsed is how long the probe took.
	Elapsed time.Duration
}

// Probe connects and secures the connection like Dial, reads the greeting and the capabilities, and
// logs out without logging in: the health check of a MailServer that has no admin credentials.
// Whatever answers gets no more than MaxHandshakeBytes of the caller's memory.
func Probe(ctx context.Context, ep Endpoint) (*ProbeResult, error) {
	if err := ep.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := ep.WithDialTimeout(ctx)
	defer cancel()
	c, err := Connect(ctx, ep)
	if err != nil {
		return nil, err
	}
	defer c.raw.Close()
	if err := c.Capability(ctx); err != nil {
		return nil, err
	}
	c.Logout(ctx)
	res := &ProbeResult{
		Greeting:       c.greeting,
		Capabilities:   c.caps.List(),
		AuthMechanisms: c.caps.AuthMechanisms(),
		LoginDisabled:  c.caps.Has("LOGINDISABLED"),
		Elapsed:        time.Since(start),
	}
	if st := c.tlsState; st != nil {
		res.TLSVersion = tls.VersionName(st.Version)
		if len(st.PeerCertificates) > 0 {
			res.CertificateNotAfter = st.PeerCertificates[0].NotAfter
			res.CertificateSubject = st.PeerCertificates[0].Subject.String()
		}
	}
	return res, nil
}
