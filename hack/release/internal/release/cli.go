package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/mailshift/mailshift/hack/release/internal/archive"
	"github.com/mailshift/mailshift/internal/version"
)

// cliCommands are the commands every CLI archive holds: mailshift, and the kubectl plugin kubectl-mailshift
// that has the cluster commands (mailshift runs it for them, found next to itself).
var cliCommands = []string{"mailshift", "kubectl-mailshift"}

// cliArchive is one platform's CLI archive and the binaries built into it.
type cliArchive struct {
	Platform
	Binaries []string // the binaries in the scratch directory, one per cliCommands entry, in its order
	Archive  string   // the archive's file name in the release
}

// buildCLI cross-compiles the CLI commands for every platform and packs them with LICENSE and README.md.
func (b *build) buildCLI(ctx context.Context) ([]cliArchive, error) {
	ldflags := "-s -w " + version.LDFlags(b.Version, b.commit, b.created.Format(time.RFC3339))
	// Every archive packs the same LICENSE and README.md: copies taken once, before the first build.
	docs := filepath.Join(b.work, "docs")
	if err := os.MkdirAll(docs, 0o755); err != nil {
		return nil, err
	}
	for _, name := range []string{"LICENSE", "README.md"} {
		if err := copyFile(filepath.Join(b.RepoRoot, name), filepath.Join(docs, name)); err != nil {
			return nil, err
		}
	}
	var out []cliArchive
	for _, p := range CLIPlatforms {
		start := time.Now()
		files := []archive.File{
			{Name: "LICENSE", Source: filepath.Join(docs, "LICENSE"), Mode: 0o644},
			{Name: "README.md", Source: filepath.Join(docs, "README.md"), Mode: 0o644},
		}
		var bins []string
		for _, command := range cliCommands {
			name := command
			if p.OS == "windows" {
				name += ".exe"
			}
			bin := filepath.Join(b.work, "cli", p.OS+"_"+p.Arch, name)
			env := []string{"CGO_ENABLED=0", "GOOS=" + p.OS, "GOARCH=" + p.Arch, "GOWORK=off"}
			if err := b.run(ctx, b.RepoRoot, env, b.Go, "build", "-trimpath", "-buildvcs=false",
				"-ldflags", ldflags, "-o", bin, "./cmd/"+command); err != nil {
				return nil, fmt.Errorf("build %s for %s: %w", command, p, err)
			}
			files = append(files, archive.File{Name: name, Source: bin, Mode: 0o755})
			bins = append(bins, bin)
		}
		arc := ArchiveName(b.Version, p)
		write := archive.WriteTarGz
		if p.OS == "windows" {
			write = archive.WriteZip
		}
		if err := write(filepath.Join(b.OutDir, arc), files, b.created); err != nil {
			return nil, err
		}
		b.logf("CLI %s: %s (%s)", p, arc, time.Since(start).Round(100*time.Millisecond))
		out = append(out, cliArchive{Platform: p, Binaries: bins, Archive: arc})
	}
	return out, nil
}

// copyFile copies a regular file (the scratch directory may be on another file system than the release).
func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
