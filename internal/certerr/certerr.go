// Package certerr tells why a server's certificate was refused, in words of its own. crypto/x509's
// messages quote the certificate: the names it is valid for, its issuer. When the peer is not the server
// meant (an internal service a tenant pointed a MailServer or an FTP target at), those are bytes of
// whatever answered, and they would land in status and Events.
package certerr

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
)

// Describe returns what went wrong with the handshake to the server expected as name, and true, when err
// is a certificate or TLS-protocol failure whose own message could carry the peer's bytes; "" and false
// for anything else (timeouts, closed connections), whose messages are the caller's to keep.
func Describe(err error, name string) (string, bool) {
	var (
		he    x509.HostnameError
		uae   x509.UnknownAuthorityError
		ce    x509.CertificateInvalidError
		rhe   tls.RecordHeaderError
		alert tls.AlertError
	)
	switch {
	case errors.As(err, &he):
		return fmt.Sprintf("the server's certificate is not valid for %q (fix the certificate, or set the name it is valid for as the server name)", name), true
	case errors.As(err, &uae):
		return "the server's certificate is not signed by a trusted authority (give its CA in the CA bundle)", true
	case errors.As(err, &ce) && ce.Reason == x509.Expired:
		return "the server's certificate has expired or is not valid yet", true
	case errors.As(err, &ce):
		return "the server's certificate cannot be used for this server", true
	case errors.As(err, &rhe):
		return "the server did not answer with TLS (wrong port, or TLS from the first byte where the server expects it later)", true
	case errors.As(err, &alert):
		return "the server refused the TLS handshake: " + alert.Error(), true
	}
	return "", false
}
