package certerr

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// TestDescribeLeavesThePeerOut: for each certificate failure, x509's own message names the peer's
// certificate (the premise) and Describe's does not (the fix).
func TestDescribeLeavesThePeerOut(t *testing.T) {
	peer := &x509.Certificate{
		Subject:  pkix.Name{CommonName: "internal-admin.corp"},
		Issuer:   pkix.Name{CommonName: "Corp Internal Root CA"},
		DNSNames: []string{"internal-admin.corp", "internal-db.corp"},
	}
	for name, err := range map[string]error{
		"hostname":  &tls.CertificateVerificationError{Err: x509.HostnameError{Certificate: peer, Host: "mail.example.test"}},
		"authority": fmt.Errorf("handshake: %w", x509.UnknownAuthorityError{Cert: peer}),
		"expired":   x509.CertificateInvalidError{Cert: peer, Reason: x509.Expired, Detail: "internal-admin.corp expired"},
	} {
		if !strings.Contains(err.Error(), "internal") && name != "authority" {
			t.Fatalf("%s: premise: %q does not name the peer", name, err)
		}
		msg, ok := Describe(err, "mail.example.test")
		if !ok || strings.Contains(msg, "internal") || strings.Contains(msg, "Corp") {
			t.Errorf("%s: %q, %v", name, msg, ok)
		}
	}
	if _, ok := Describe(fmt.Errorf("read: %w", io.EOF), "x"); ok {
		t.Error("a closed connection is not a certificate failure")
	}
	if msg, ok := Describe(tls.AlertError(40), "x"); !ok || !strings.Contains(msg, "handshake failure") {
		t.Errorf("alert: %q", msg)
	}
	if _, ok := Describe(errors.New("tls: something"), "x"); ok {
		t.Error("unknown errors are the caller's")
	}
}
