// Package signtest makes throwaway code-signing certificates for tests, with openssl, as a person would make
// one to try a release.
package signtest

import (
	"os/exec"
	"path/filepath"
	"testing"
)

// SelfSigned writes a self-signed code-signing certificate and its unencrypted key, valid for two days, into a
// temporary directory of the test and returns their paths. The certificate is its own CA: osslsigncode
// verify accepts a signature made with it when -CAfile names it.
func SelfSigned(t testing.TB) (cert, key string) {
	t.Helper()
	dir := t.TempDir()
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	out, err := exec.Command("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
		"-subj", "/CN=mailshift test code signing", "-addext", "extendedKeyUsage=codeSigning",
		"-keyout", key, "-out", cert).CombinedOutput()
	if err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	return cert, key
}
