package release

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
)

// renderInstall renders config/default into install.yaml with the manager image pinned to the release's tag
// and digest, through an overlay in the scratch directory that sets the image with kustomize's `images:`,
// so the clone is never edited.
func (b *build) renderInstall(ctx context.Context, digest string) error {
	overlay := filepath.Join(b.work, "install")
	if err := os.MkdirAll(overlay, 0o755); err != nil {
		return err
	}
	// kustomize takes a directory resource by relative path (an absolute one renders nothing).
	base, err := filepath.Rel(overlay, filepath.Join(b.RepoRoot, "config", "default"))
	if err != nil {
		return fmt.Errorf("install.yaml: %w", err)
	}
	kustomization := fmt.Sprintf(`resources:
- %s
images:
- name: %s
  newTag: %s
  digest: %s
`, filepath.ToSlash(base), Image, b.Version, digest)
	if err := os.WriteFile(filepath.Join(overlay, "kustomization.yaml"), []byte(kustomization), 0o644); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, b.Kubectl, "kustomize", overlay)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	rendered, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("install.yaml: kubectl kustomize: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	ref := Image + ":" + b.Version + "@" + digest
	if err := checkImageRefs(rendered, ref); err != nil {
		return fmt.Errorf("install.yaml: %w", err)
	}
	header := fmt.Sprintf("# mailshift %s: the CRDs, RBAC and the manager (%s).\n"+
		"# kubectl apply --server-side -f install.yaml\n", b.Version, ref)
	if err := os.WriteFile(filepath.Join(b.OutDir, InstallName), append([]byte(header), rendered...), 0o644); err != nil {
		return err
	}
	b.logf("%s: manager image %s", InstallName, ref)
	return nil
}

var imageRefPattern = regexp.MustCompile(regexp.QuoteMeta(Image) + `[:@][^\s"',]*`)

// checkImageRefs makes sure the rendered manifests name the project's image only as ref: a reference the
// `images:` edit cannot reach (an environment variable, an argument) would install a release whose workers
// run another version than its manager.
func checkImageRefs(rendered []byte, ref string) error {
	found := 0
	for _, m := range imageRefPattern.FindAll(rendered, -1) {
		if string(m) != ref {
			return fmt.Errorf("the manifests still refer to %s, not to the release image %s", m, ref)
		}
		found++
	}
	if found == 0 {
		return fmt.Errorf("no container runs the release image %s", ref)
	}
	return nil
}
