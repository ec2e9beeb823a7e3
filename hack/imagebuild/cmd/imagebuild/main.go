// Command imagebuild builds mailshift's OCI image index without a container engine and pushes it.
//
//	imagebuild build [--version V] [--commit C] [--out dist/image] [--tarball dist/x.oci.tar] [--platforms linux/amd64,linux/arm64]
//	imagebuild push --layout dist/image --image REGISTRY/NAME:TAG
//
// Both print the image index digest on standard output.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"time"

	"github.com/mailshift/mailshift/hack/imagebuild"
)

const usage = `usage:
  imagebuild build [--version V] [--commit C] [--out DIR] [--tarball FILE] [--platforms LIST] [--source URL] [--repo DIR]
  imagebuild push --layout DIR --image REGISTRY/NAME:TAG
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "imagebuild:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing subcommand: build or push")
	}
	switch args[0] {
	case "build":
		return build(ctx, args[1:], stdout, stderr)
	case "push":
		return push(ctx, args[1:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown subcommand %q: want build or push", args[0])
	}
}

func build(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("build", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		o         imagebuild.Options
		out       = fs.String("out", "dist/image", "directory to write the OCI image layout to (replaced)")
		tarball   = fs.String("tarball", "", "also write the layout as one tar file here")
		platforms = fs.String("platforms", strings.Join(imagebuild.DefaultPlatforms, ","), "comma-separated os/arch list")
	)
	fs.StringVar(&o.Version, "version", "", "version to stamp (default: git describe --tags --always --dirty, else dev)")
	fs.StringVar(&o.Commit, "commit", "", "Git revision to stamp (default: git rev-parse HEAD)")
	fs.StringVar(&o.Source, "source", imagebuild.DefaultSource, "org.opencontainers.image.source label")
	fs.StringVar(&o.RepoRoot, "repo", ".", "mailshift checkout to build")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("build: unexpected arguments %q", fs.Args())
	}
	if o.Version == "" {
		o.Version = gitOutput(o.RepoRoot, "describe", "--tags", "--always", "--dirty")
	}
	if o.Commit == "" {
		o.Commit = gitOutput(o.RepoRoot, "rev-parse", "HEAD")
	}
	for _, p := range strings.Split(*platforms, ",") {
		if p = strings.TrimSpace(p); p != "" {
			o.Platforms = append(o.Platforms, p)
		}
	}
	start := time.Now()
	idx, err := imagebuild.Build(ctx, o)
	if err != nil {
		return err
	}
	if err := imagebuild.WriteLayout(*out, idx); err != nil {
		return err
	}
	if *tarball != "" {
		if err := imagebuild.WriteTarball(*tarball, *out); err != nil {
			return err
		}
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "built mailshift %s for %s in %s: %s\n", orDev(o.Version), strings.Join(o.Platforms, ", "),
		time.Since(start).Round(time.Second), *out)
	fmt.Fprintln(stdout, digest)
	return nil
}

func push(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("layout", "dist/image", "OCI image layout written by build")
	ref := fs.String("image", "", "where to push, REGISTRY/NAME:TAG (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("push: unexpected arguments %q", fs.Args())
	}
	if *ref == "" {
		return errors.New("push: --image REGISTRY/NAME:TAG is required")
	}
	idx, err := imagebuild.ReadLayout(*dir)
	if err != nil {
		return err
	}
	if err := imagebuild.Push(ctx, idx, *ref); err != nil {
		return err
	}
	digest, err := idx.Digest()
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "pushed %s@%s\n", *ref, digest)
	fmt.Fprintln(stdout, digest)
	return nil
}

// gitOutput is the trimmed output of a git command in repo, or "" outside a Git checkout.
func gitOutput(repo string, args ...string) string {
	out, err := exec.Command("git", append([]string{"-C", repo}, args...)...).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func orDev(v string) string {
	if v == "" {
		return "dev"
	}
	return v
}
