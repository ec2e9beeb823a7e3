// Package authenticode signs the release's Windows files (the connector's DLLs and MSI packages) with
// Authenticode signatures, using osslsigncode, with a certificate and key given as PEM files or as PEM in
// environment variables.
package authenticode

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The environment variables LoadSigner reads. A certificate and key are given either as files or as PEM text
// (for CI secrets); the password is that of an encrypted key; signatures get a timestamp only when a
// timestamp server is named, since asking one needs the network.
const (
	EnvCertFile     = "SIGN_CERT"
	EnvKeyFile      = "SIGN_KEY"
	EnvCertPEM      = "SIGN_CERT_PEM"
	EnvKeyPEM       = "SIGN_KEY_PEM"
	EnvKeyPassword  = "SIGN_KEY_PASSWORD"
	EnvTimestampURL = "SIGN_TIMESTAMP_URL"
)

// Signer signs files with one certificate.
type Signer struct {
	Cert, Key    []byte // PEM: the certificate (with any intermediates after it) and its private key
	KeyPassword  string
	TimestampURL string // an RFC 3161 time-stamping server; "" for none
	Description  string // the program name Windows shows in its prompts (osslsigncode -n)
	URL          string // where to read about it (osslsigncode -i)
}

// ErrNoCertificate is LoadSigner's error when the environment names no certificate at all.
var ErrNoCertificate = errors.New("no code-signing certificate: set " + EnvCertFile + " and " + EnvKeyFile +
	" (PEM files) or " + EnvCertPEM + " and " + EnvKeyPEM + " (PEM text)")

// LoadSigner reads the certificate and key the environment names, and checks that they are a certificate
// and the key of that certificate before anything is built with them.
func LoadSigner(getenv func(string) string) (*Signer, error) {
	var s Signer
	var err error
	if s.Cert, err = pemFrom(getenv, EnvCertFile, EnvCertPEM); err != nil {
		return nil, err
	}
	if s.Key, err = pemFrom(getenv, EnvKeyFile, EnvKeyPEM); err != nil {
		return nil, err
	}
	switch {
	case s.Cert == nil && s.Key == nil:
		return nil, ErrNoCertificate
	case s.Cert == nil:
		return nil, fmt.Errorf("a signing key is set but no certificate: set %s or %s", EnvCertFile, EnvCertPEM)
	case s.Key == nil:
		return nil, fmt.Errorf("a signing certificate is set but no key: set %s or %s", EnvKeyFile, EnvKeyPEM)
	}
	s.KeyPassword = getenv(EnvKeyPassword)
	s.TimestampURL = getenv(EnvTimestampURL)
	block, _ := pem.Decode(s.Cert)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("the signing certificate is not a PEM CERTIFICATE")
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return nil, fmt.Errorf("the signing certificate: %w", err)
	}
	// An encrypted key is only read by osslsigncode, with its password; a plain one is checked here.
	if s.KeyPassword == "" {
		if _, err := tls.X509KeyPair(s.Cert, s.Key); err != nil {
			return nil, fmt.Errorf("the signing certificate and key do not go together: %w", err)
		}
	}
	return &s, nil
}

func pemFrom(getenv func(string) string, fileVar, pemVar string) ([]byte, error) {
	file, text := getenv(fileVar), getenv(pemVar)
	switch {
	case file != "" && text != "":
		return nil, fmt.Errorf("both %s and %s are set; set one", fileVar, pemVar)
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", fileVar, err)
		}
		return b, nil
	case text != "":
		return []byte(text), nil
	}
	return nil, nil
}

// Sign signs the PE file or MSI package at path in place, with a SHA-256 digest.
func (s *Signer) Sign(ctx context.Context, path string) error {
	// osslsigncode reads the key from a file; a private directory holds it only while it runs.
	dir, err := os.MkdirTemp("", "authenticode-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	files := map[string][]byte{"cert.pem": s.Cert, "key.pem": s.Key}
	if s.KeyPassword != "" {
		files["pass"] = []byte(s.KeyPassword)
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	signed := filepath.Join(dir, "signed")
	args := []string{"sign", "-certs", filepath.Join(dir, "cert.pem"), "-key", filepath.Join(dir, "key.pem"), "-h", "sha256"}
	if s.KeyPassword != "" {
		args = append(args, "-readpass", filepath.Join(dir, "pass"))
	}
	if s.Description != "" {
		args = append(args, "-n", s.Description)
	}
	if s.URL != "" {
		args = append(args, "-i", s.URL)
	}
	if s.TimestampURL != "" {
		args = append(args, "-ts", s.TimestampURL)
	}
	args = append(args, "-in", path, "-out", signed)
	if _, err := osslsigncode(ctx, args...); err != nil {
		return fmt.Errorf("sign %s: %w", filepath.Base(path), err)
	}
	data, err := os.ReadFile(signed)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// Verify checks the signature of the file at path against the certificates of caFile (for a self-signed
// certificate, the certificate itself) and returns osslsigncode's report.
func Verify(ctx context.Context, path, caFile string) (string, error) {
	return osslsigncode(ctx, "verify", "-CAfile", caFile, "-in", path)
}

func osslsigncode(ctx context.Context, args ...string) (string, error) {
	if _, err := exec.LookPath("osslsigncode"); err != nil {
		return "", errors.New("osslsigncode is not installed (Debian: osslsigncode; hack/install-deps.sh wine)")
	}
	cmd := exec.CommandContext(ctx, "osslsigncode", args...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	report := strings.TrimSpace(out.String())
	if err != nil {
		return report, fmt.Errorf("osslsigncode %s: %w\n%s", args[0], err, report)
	}
	return report, nil
}
