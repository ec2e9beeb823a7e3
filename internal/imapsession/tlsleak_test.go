package imapsession

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"github.com/mailshift/mailshift/internal/imapconn"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// internalTLSService is a TLS listener on 127.0.0.1 standing for some other internal service: its
// certificate names internal hosts and an internal CA. It returns the endpoint and the CA's PEM.
func internalTLSService(t *testing.T) (imapconn.Endpoint, []byte) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Corp Internal Root CA", Organization: []string{"Corp Internal"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "internal-admin.corp"},
		DNSNames:  []string{"internal-admin.corp", "internal-db.corp"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "HTTP/1.1 400 Bad Request\r\nServer: internal-admin\r\n\r\n")
				io.Copy(io.Discard, c)
			}()
		}
	}()
	return imapconn.Endpoint{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, TLS: imapconn.TLSImplicit, DialTimeout: 2 * time.Second},
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

// TestCertificateNamesStayOut: a TLS service that is not the mail server shows its certificate in the
// handshake; neither its names nor its issuer appear in the error (which becomes status), and the error
// still says what to fix.
func TestCertificateNamesStayOut(t *testing.T) {
	ep, caPEM := internalTLSService(t)
	trusted := ep
	trusted.CAPEM, trusted.ServerName = caPEM, "mail.example.test"
	// The name matches (Go checks it before the chain), the authority is unknown.
	untrusted := ep
	untrusted.ServerName = "internal-db.corp"
	for _, tc := range []struct {
		name string
		ep   imapconn.Endpoint
		want string
	}{
		{"unknown authority", untrusted, "not signed by a trusted authority"},
		{"name mismatch", trusted, `not valid for "mail.example.test"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, op := range []string{"Dial", "Probe"} {
				var err error
				if op == "Dial" {
					_, err = Dial(context.Background(), tc.ep, imapconn.Credentials{Login: "alice", Password: "a-longer-password"})
				} else {
					_, err = imapconn.Probe(context.Background(), tc.ep)
				}
				if imapconn.KindOf(err) != imapconn.TLSFailed {
					t.Fatalf("%s: %v, want TLSFailed", op, err)
				}
				if msg := err.Error(); strings.Contains(msg, "internal-admin") || strings.Contains(msg, "Corp") {
					t.Errorf("%s: the other service's certificate shows in %q", op, msg)
				}
				if !strings.Contains(err.Error(), tc.want) {
					t.Errorf("%s: %q does not say %q", op, err, tc.want)
				}
			}
		})
	}
}
