// Command release writes a mailshift release into one directory (`make release VERSION=v0.2.0` runs it):
//
//	go run ./hack/release --version v0.2.0 --out dist
//
// the CLI archives for Linux, macOS and Windows on amd64 and arm64, the image as an OCI layout and tarball
// with its digest, the Helm chart, install.yaml, the krew manifest, the Outlook connector's DLLs and MSIs and
// its MAPISVC.INF fragment, an SPDX SBOM and SHA256SUMS. Dates come from SOURCE_DATE_EPOCH, else the
// commit's time. kubectl (for `kubectl kustomize`) is taken from --kubectl, else
// $MAILSHIFT_CACHE/controlplane/bin/kubectl as `make controlplane` builds it.
//
// The connector's files are signed with the certificate and key of SIGN_CERT and SIGN_KEY (PEM files) or
// SIGN_CERT_PEM and SIGN_KEY_PEM (PEM text), SIGN_KEY_PASSWORD for an encrypted key, and timestamped only when
// SIGN_TIMESTAMP_URL names a time-stamping server. Without a certificate the release fails, unless --unsigned
// asks for one that is not to be published.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/mailshift/mailshift/hack/release/internal/authenticode"
	"github.com/mailshift/mailshift/hack/release/internal/release"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stderr))
}

func run(ctx context.Context, args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	version := fs.String("version", "", "release version, vMAJOR.MINOR.PATCH[-pre] (required)")
	out := fs.String("out", "dist", "directory to write the release into; must not exist or be empty")
	repo := fs.String("repo", ".", "the mailshift clone to release")
	kubectl := fs.String("kubectl", defaultKubectl(), "kubectl used for `kubectl kustomize`")
	unsigned := fs.Bool("unsigned", false, "leave the connector's DLLs and MSIs unsigned (a release not to be published)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "release: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *version == "" {
		fmt.Fprintln(stderr, "release: --version is required (e.g. --version v0.2.0)")
		return 2
	}
	if err := release.ValidateVersion(*version); err != nil {
		fmt.Fprintln(stderr, "release:", err)
		return 2
	}
	signer, err := authenticode.LoadSigner(os.Getenv)
	if err != nil && !errors.Is(err, authenticode.ErrNoCertificate) {
		fmt.Fprintln(stderr, "release:", err)
		return 2
	}
	err = release.Run(ctx, release.Options{RepoRoot: *repo, Version: *version, OutDir: *out, Kubectl: *kubectl, Log: stderr,
		Signer: signer, Unsigned: *unsigned})
	if err != nil {
		fmt.Fprintln(stderr, "release failed:", err)
		return 1
	}
	fmt.Fprintf(stderr, "release %s written to %s\n", *version, *out)
	return 0
}

// defaultKubectl is the kubectl `make controlplane` builds, or "" when MAILSHIFT_CACHE is not set.
func defaultKubectl() string {
	if cache := os.Getenv("MAILSHIFT_CACHE"); cache != "" {
		return filepath.Join(cache, "controlplane", "bin", "kubectl")
	}
	return ""
}
