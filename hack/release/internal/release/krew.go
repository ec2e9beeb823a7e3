package release

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/mailshift/mailshift/hack/release/internal/checksums"
)

// krewTemplate is the krew manifest with ${VERSION}, ${URI_<OS>_<ARCH>} and ${SHA256_<OS>_<ARCH>}
// placeholders (documented at its top).
const krewTemplate = "plugins/mailshift.yaml"

// writeKrew fills the krew manifest template with the version and each archive's URL and SHA-256.
func (b *build) writeKrew(archives []cliArchive) error {
	tmpl, err := os.ReadFile(filepath.Join(b.RepoRoot, krewTemplate))
	if err != nil {
		return fmt.Errorf("krew manifest: %w", err)
	}
	values := map[string]string{"VERSION": b.Version}
	for _, c := range archives {
		sum, err := checksums.File(filepath.Join(b.OutDir, c.Archive))
		if err != nil {
			return fmt.Errorf("krew manifest: %w", err)
		}
		key := strings.ToUpper(c.OS + "_" + c.Arch)
		values["URI_"+key] = DownloadBase + "/" + b.Version + "/" + c.Archive
		values["SHA256_"+key] = sum
	}
	manifest, err := fillPlaceholders(string(tmpl), values)
	if err != nil {
		return fmt.Errorf("krew manifest from %s: %w", krewTemplate, err)
	}
	if err := os.WriteFile(filepath.Join(b.OutDir, KrewName), []byte(manifest), 0o644); err != nil {
		return err
	}
	b.logf("krew manifest: %s", KrewName)
	return nil
}

// fillPlaceholders replaces ${NAME} (and $NAME, as os.Expand reads it) with values[NAME]; a placeholder
// without a value is an error, naming all of them, rather than an empty field in a published manifest.
func fillPlaceholders(tmpl string, values map[string]string) (string, error) {
	unknown := map[string]bool{}
	out := os.Expand(tmpl, func(name string) string {
		v, ok := values[name]
		if !ok {
			unknown[name] = true
		}
		return v
	})
	if len(unknown) > 0 {
		var names []string
		for n := range unknown {
			names = append(names, "${"+n+"}")
		}
		sort.Strings(names)
		return "", fmt.Errorf("no value for %s", strings.Join(names, ", "))
	}
	return out, nil
}
