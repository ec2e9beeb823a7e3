package imapconn

import (
	"context"
	"net"
	"strconv"
	"time"

	"github.com/mailshift/mailshift/internal/egress"
)

// TLSMode is how the connection is protected.
type TLSMode string

// TLS modes.
const (
	TLSImplicit TLSMode = "Implicit" // TLS from the first byte (port 993)
	TLSStartTLS TLSMode = "STARTTLS" // plain connection upgraded with STARTTLS (port 143); the default
	TLSNone     TLSMode = "None"     // no TLS at all; only when asked for explicitly
)

// DefaultDialTimeout bounds Dial and Probe (connect, TLS, greeting and authentication) when
// Endpoint.DialTimeout is zero.
const DefaultDialTimeout = 30 * time.Second

// Endpoint says where a server is and how to reach it.
type Endpoint struct {
	Host string
	Port int // 0: 993 for Implicit, 143 otherwise
	TLS  TLSMode
	// CAPEM is a PEM bundle of CA certificates to trust instead of the system roots. Empty: system roots.
	CAPEM []byte
	// ServerName is the name to verify the certificate against (and send as SNI). Empty: Host.
	ServerName string
	// InsecureSkipVerify disables certificate verification. Never the default.
	InsecureSkipVerify bool
	// DialTimeout bounds connect + TLS + greeting + authentication. Zero: DefaultDialTimeout.
	DialTimeout time.Duration
	// Allowed limits the hosts that may be connected to (names, and the addresses connected to, checked
	// as the connection is made). nil: any.
	Allowed *egress.AllowList
}

// Mode returns the TLS mode, STARTTLS when none was set.
func (ep Endpoint) Mode() TLSMode {
	if ep.TLS == "" {
		return TLSStartTLS
	}
	return ep.TLS
}

// Address returns host:port with the default port filled in.
func (ep Endpoint) Address() string {
	port := ep.Port
	if port == 0 {
		if ep.Mode() == TLSImplicit {
			port = 993
		} else {
			port = 143
		}
	}
	return net.JoinHostPort(ep.Host, strconv.Itoa(port))
}

// Validate checks the endpoint before anything is dialled.
func (ep Endpoint) Validate() error {
	switch ep.Mode() {
	case TLSImplicit, TLSStartTLS, TLSNone:
	default:
		return Errorf(ProtocolError, "connect", "unknown TLS mode %q (want Implicit, STARTTLS or None)", ep.TLS)
	}
	if ep.Host == "" {
		return Errorf(ProtocolError, "connect", "no host")
	}
	if ep.Port < 0 || ep.Port > 65535 {
		return Errorf(ProtocolError, "connect", "bad port %d", ep.Port)
	}
	return nil
}

// WithDialTimeout returns ctx bounded by ep.DialTimeout (DefaultDialTimeout when zero).
func (ep Endpoint) WithDialTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	d := ep.DialTimeout
	if d <= 0 {
		d = DefaultDialTimeout
	}
	return context.WithTimeout(ctx, d)
}
