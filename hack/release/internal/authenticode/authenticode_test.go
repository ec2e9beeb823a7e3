package authenticode

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mailshift/mailshift/connector/installer"
	"github.com/mailshift/mailshift/hack/release/internal/authenticode/signtest"
)

func envOf(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadSigner(t *testing.T) {
	cert, key := signtest.SelfSigned(t)
	otherCert, _ := signtest.SelfSigned(t)
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	for name, env := range map[string]map[string]string{
		"files": {EnvCertFile: cert, EnvKeyFile: key},
		"PEM":   {EnvCertPEM: read(cert), EnvKeyPEM: read(key), EnvTimestampURL: "http://timestamp.example"},
		"mixed": {EnvCertFile: cert, EnvKeyPEM: read(key)},
	} {
		s, err := LoadSigner(envOf(env))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if string(s.Cert) != read(cert) || string(s.Key) != read(key) || s.TimestampURL != env[EnvTimestampURL] {
			t.Errorf("%s: loaded %+v", name, s)
		}
	}
	if _, err := LoadSigner(envOf(nil)); !errors.Is(err, ErrNoCertificate) {
		t.Errorf("nothing set: %v, want ErrNoCertificate", err)
	}
	for name, env := range map[string]map[string]string{
		"no key":         {EnvCertFile: cert},
		"no certificate": {EnvKeyFile: key},
		"both forms":     {EnvCertFile: cert, EnvCertPEM: read(cert), EnvKeyFile: key},
		"missing file":   {EnvCertFile: cert + ".missing", EnvKeyFile: key},
		"key of another": {EnvCertFile: otherCert, EnvKeyFile: key},
		"key as cert":    {EnvCertFile: key, EnvKeyFile: key},
		"not PEM at all": {EnvCertPEM: "hello", EnvKeyPEM: "world"},
	} {
		if _, err := LoadSigner(envOf(env)); err == nil || errors.Is(err, ErrNoCertificate) {
			t.Errorf("%s: %v, want an error saying what is wrong", name, err)
		}
	}
}

// TestSignAndVerify signs a PE executable and an MSI package with a throwaway certificate, as the release
// signs the connector's, checks them with osslsigncode verify, and checks that a changed byte or another CA
// fails verification.
func TestSignAndVerify(t *testing.T) {
	for _, tool := range []string{"osslsigncode", "openssl", "x86_64-w64-mingw32-gcc", "wixl", "msibuild"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run hack/install-deps.sh wine imap", tool)
		}
	}
	cert, key := signtest.SelfSigned(t)
	otherCert, _ := signtest.SelfSigned(t)
	s, err := LoadSigner(envOf(map[string]string{EnvCertFile: cert, EnvKeyFile: key}))
	if err != nil {
		t.Fatal(err)
	}
	s.Description, s.URL = "mailshift test", "https://example.org/mailshift"
	dir := t.TempDir()
	exe := filepath.Join(dir, "tiny.exe")
	src := filepath.Join(dir, "tiny.c")
	if err := os.WriteFile(src, []byte("int main(void) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("x86_64-w64-mingw32-gcc", "-o", exe, src).CombinedOutput(); err != nil {
		t.Fatalf("mingw gcc: %v\n%s", err, out)
	}
	ctx := context.Background()
	msi := filepath.Join(dir, "tiny.msi")
	if err := installer.Build(ctx, "v0.1.0", "amd64", exe, msi); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{exe, msi} {
		if _, err := Verify(ctx, p, cert); err == nil {
			t.Errorf("%s verified before it was signed", filepath.Base(p))
		}
		if err := s.Sign(ctx, p); err != nil {
			t.Fatal(err)
		}
		report, err := Verify(ctx, p, cert)
		if err != nil {
			t.Errorf("verify %s: %v", filepath.Base(p), err)
		} else if !strings.Contains(report, "mailshift test code signing") {
			t.Errorf("verify %s does not name the signer:\n%s", filepath.Base(p), report)
		}
		if _, err := Verify(ctx, p, otherCert); err == nil {
			t.Errorf("%s verified against a certificate that did not sign it", filepath.Base(p))
		}
	}
	// An encrypted key, read by osslsigncode with its password.
	encrypted := filepath.Join(dir, "encrypted.pem")
	if out, err := exec.Command("openssl", "pkcs8", "-topk8", "-in", key, "-out", encrypted, "-passout", "pass:s3cret").CombinedOutput(); err != nil {
		t.Fatalf("openssl pkcs8: %v\n%s", err, out)
	}
	enc, err := LoadSigner(envOf(map[string]string{EnvCertFile: cert, EnvKeyFile: encrypted, EnvKeyPassword: "s3cret"}))
	if err != nil {
		t.Fatal(err)
	}
	again := filepath.Join(dir, "again.exe")
	if out, err := exec.Command("x86_64-w64-mingw32-gcc", "-o", again, src).CombinedOutput(); err != nil {
		t.Fatalf("mingw gcc: %v\n%s", err, out)
	}
	if err := enc.Sign(ctx, again); err != nil {
		t.Fatalf("signing with an encrypted key: %v", err)
	}
	if _, err := Verify(ctx, again, cert); err != nil {
		t.Errorf("signed with the encrypted key: %v", err)
	}
	enc.KeyPassword = "wrong"
	if err := enc.Sign(ctx, again); err == nil {
		t.Error("signed with a wrong key password")
	}

	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	data[len(data)/3] ^= 0xff
	tampered := filepath.Join(dir, "tampered.exe")
	if err := os.WriteFile(tampered, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(ctx, tampered, cert); err == nil {
		t.Error("a changed executable still verified")
	}
}
