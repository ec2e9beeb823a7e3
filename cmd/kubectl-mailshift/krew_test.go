package main

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/mailshift/mailshift/internal/testenv"
)

// krewPlugin is the part of krew's Plugin (krew.googlecontainertools.github.com/v1alpha2) that krew's
// index validation checks.
type krewPlugin struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Version          string `json:"version"`
		Homepage         string `json:"homepage"`
		ShortDescription string `json:"shortDescription"`
		Description      string `json:"description"`
		Caveats          string `json:"caveats"`
		Platforms        []struct {
			Selector struct {
				MatchLabels map[string]string `json:"matchLabels"`
			} `json:"selector"`
			URI    string `json:"uri"`
			SHA256 string `json:"sha256"`
			Files  []struct {
				From string `json:"from"`
				To   string `json:"to"`
			} `json:"files"`
			Bin string `json:"bin"`
		} `json:"platforms"`
	} `json:"spec"`
}

// TestKrewManifestTemplate: plugins/mailshift.yaml documents exactly the placeholders it uses, and filled in
// as the release fills it, it is a krew Plugin for the five CLI platforms whose bin is this command,
// kubectl-mailshift (kubectl-mailshift.exe on Windows), which krew links as the plugin kubectl-mailshift.
func TestKrewManifestTemplate(t *testing.T) {
	path := filepath.Join(testenv.RepoRoot(), "plugins", "mailshift.yaml")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	placeholder := regexp.MustCompile(`\$\{([A-Z0-9_<>]+)\}`)
	var header, body strings.Builder
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if strings.HasPrefix(line, "#") {
			header.WriteString(line)
		} else {
			body.WriteString(line)
		}
	}
	used := map[string]bool{}
	for _, m := range placeholder.FindAllStringSubmatch(body.String(), -1) {
		used[m[1]] = true
	}
	if strings.Contains(header.String(), "${") {
		t.Errorf("the comments hold a placeholder, which filling in would change")
	}
	platforms := map[string]string{"LINUX_AMD64": "tar.gz", "LINUX_ARM64": "tar.gz", "DARWIN_AMD64": "tar.gz", "DARWIN_ARM64": "tar.gz", "WINDOWS_AMD64": "zip", "WINDOWS_ARM64": "zip"}
	want := []string{"VERSION"}
	for p := range platforms {
		want = append(want, "URI_"+p, "SHA256_"+p)
		if !strings.Contains(header.String(), p) {
			t.Errorf("the header does not name the platform %s", p)
		}
	}
	var got []string
	for p := range used {
		got = append(got, p)
	}
	sort.Strings(want)
	sort.Strings(got)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("placeholders used: %v, want %v", got, want)
	}
	for _, p := range []string{"VERSION", "URI_<OS>_<ARCH>", "SHA256_<OS>_<ARCH>"} {
		if !strings.Contains(header.String(), "#   "+p+" ") {
			t.Errorf("placeholder %s is not documented at the top of %s", p, path)
		}
	}

	const version = "v0.2.0"
	filled := os.Expand(string(raw), func(name string) string {
		os, arch, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(name, "URI_"), "SHA256_"), "_")
		switch {
		case name == "VERSION":
			return version
		case strings.HasPrefix(name, "URI_"):
			return "https://github.com/mailshift/mailshift/releases/download/" + version + "/mailshift_" + version + "_" +
				strings.ToLower(os) + "_" + strings.ToLower(arch) + "." + platforms[os+"_"+arch]
		case strings.HasPrefix(name, "SHA256_"):
			return strings.Repeat("ab", 32)
		}
		return "${" + name + "}"
	})
	if strings.Contains(filled, "${") {
		t.Fatalf("placeholders left after filling in:\n%s", filled)
	}
	var m krewPlugin
	if err := yaml.Unmarshal([]byte(filled), &m); err != nil {
		t.Fatalf("the filled-in manifest is not YAML: %v", err)
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "mailshift" ||
		m.Spec.Version != version || m.Spec.ShortDescription == "" || !strings.HasPrefix(m.Spec.Homepage, "https://") {
		t.Errorf("manifest head: %+v", m)
	}
	seen := map[string]bool{}
	hex64 := regexp.MustCompile(`^[0-9a-f]{64}$`)
	for _, p := range m.Spec.Platforms {
		key := strings.ToUpper(p.Selector.MatchLabels["os"] + "_" + p.Selector.MatchLabels["arch"])
		seen[key] = true
		wantBin := "kubectl-mailshift"
		if p.Selector.MatchLabels["os"] == "windows" {
			wantBin = "kubectl-mailshift.exe"
		}
		// krew installs what files: selects from the archive (mailshift is there too): the binary and the
		// LICENSE, nothing more.
		var files []string
		for _, f := range p.Files {
			files = append(files, f.From+"->"+f.To)
		}
		if strings.Join(files, " ") != wantBin+"->. LICENSE->." {
			t.Errorf("platform %s: files %v, want the binary %s and LICENSE", key, files, wantBin)
		}
		if p.Bin != wantBin || !strings.HasPrefix(p.URI, "https://") || !strings.HasSuffix(p.URI, "."+platforms[key]) || !hex64.MatchString(p.SHA256) {
			t.Errorf("platform %s: bin %q uri %q sha256 %q", key, p.Bin, p.URI, p.SHA256)
		}
	}
	for p := range platforms {
		if !seen[p] {
			t.Errorf("no platform %s", p)
		}
	}
	if len(m.Spec.Platforms) != len(platforms) {
		t.Errorf("%d platforms, want %d", len(m.Spec.Platforms), len(platforms))
	}
}
