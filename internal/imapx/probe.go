package imapx

import (
	"context"
	"crypto/tls"
	"sort"
	"time"

	"github.com/emersion/go-imap/v2"
)

// ProbeResult is what a server shows before login.
type ProbeResult struct {
	// Greeting is the server's first line without the trailing CRLF, e.g.
	// "* OK [CAPABILITY ...] Dovecot ready.".
	Greeting string
	// Capabilities are the pre-authentication capabilities, after STARTTLS
	// when that was used, sorted. go-imap upper-cases them.
	Capabilities []string
	// AuthMechanisms are the AUTH= mechanisms offered, sorted.
	AuthMechanisms []string
	// LoginDisabled is true when the server refuses LOGIN (LOGINDISABLED).
	LoginDisabled bool
	// TLSVersion is "TLS 1.3" etc., "" when TLS mode None.
	TLSVersion string
	// CertificateNotAfter is the server certificate's expiry (zero without
	// TLS).
	CertificateNotAfter time.Time
	// CertificateSubject is the server certificate's subject.
	CertificateSubject string
	// Elapsed is how long the probe took.
	Elapsed time.Duration
}

// Probe connects and secures the connection like Dial, reads the greeting
// and the capabilities, and logs out without logging in: the health check of
// a MailServer that has no admin credentials (the connector's "Ping
// Server").
func Probe(ctx context.Context, ep Endpoint) (*ProbeResult, error) {
	if err := ep.validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := withDialTimeout(ctx, ep)
	defer cancel()

	c, err := connect(ctx, ep)
	if err != nil {
		return nil, err
	}
	defer c.client.Close()
	// A probe needs a few kilobytes; whatever answers on the port gets no
	// more than MaxProbeBytes of the manager's memory.
	c.wire.bound.setBudget(MaxProbeBytes)
	abort := context.AfterFunc(ctx, func() { c.raw.Close() })
	caps, err := c.client.Capability().Wait()
	if !abort() {
		return nil, wrap("CAPABILITY", phaseCommand, ctx.Err())
	}
	if err != nil {
		return nil, c.wire.explain("CAPABILITY", wrap("CAPABILITY", phaseCommand, err))
	}
	done := make(chan struct{})
	go func() {
		_ = c.client.Logout().Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}

	res := &ProbeResult{
		Greeting:      c.greeting,
		Capabilities:  sortedCaps(caps),
		LoginDisabled: caps.Has(imap.CapLoginDisabled),
		Elapsed:       time.Since(start),
	}
	res.AuthMechanisms = caps.AuthMechanisms()
	sort.Strings(res.AuthMechanisms)
	if st := c.tlsState; st != nil {
		res.TLSVersion = tls.VersionName(st.Version)
		if len(st.PeerCertificates) > 0 {
			res.CertificateNotAfter = st.PeerCertificates[0].NotAfter
			res.CertificateSubject = st.PeerCertificates[0].Subject.String()
		}
	}
	return res, nil
}

func sortedCaps(caps imap.CapSet) []string {
	out := make([]string, 0, len(caps))
	for c := range caps {
		out = append(out, string(c))
	}
	sort.Strings(out)
	return out
}
