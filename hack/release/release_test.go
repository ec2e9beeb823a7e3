package main

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/mailshift/mailshift/connector/installer"
	"github.com/mailshift/mailshift/hack/release/internal/authenticode"
	"github.com/mailshift/mailshift/hack/release/internal/authenticode/signtest"
	"github.com/mailshift/mailshift/internal/mapisvc"
	"github.com/mailshift/mailshift/internal/testenv"
)

// The throwaway version the test releases; nothing is published.
const testVersion = "v0.0.0-test"

// testEpoch is the SOURCE_DATE_EPOCH of the test release (2026-01-02T03:04:05Z): set explicitly so that the
// test can check every date in the release against it.
const testEpoch = 1767323045

type platform struct{ os, arch string }

var cliPlatforms = []platform{
	{"darwin", "amd64"}, {"darwin", "arm64"}, {"linux", "amd64"}, {"linux", "arm64"}, {"windows", "amd64"}, {"windows", "arm64"},
}

func archiveName(p platform) string {
	if p.os == "windows" {
		return "mailshift_" + testVersion + "_windows_" + p.arch + ".zip"
	}
	return "mailshift_" + testVersion + "_" + p.os + "_" + p.arch + ".tar.gz"
}

// TestRelease runs the whole release, as `make release` does, with a throwaway version into a temporary
// directory and checks what it wrote: the checksums, the archives and their binaries, the image, the chart,
// install.yaml, the krew manifest and the SBOM.
func TestRelease(t *testing.T) {
	root := testenv.RepoRoot()
	kubectl := filepath.Join(testenv.BinDir(), "kubectl")
	out := filepath.Join(t.TempDir(), "dist")
	t.Setenv("SOURCE_DATE_EPOCH", "1767323045")

	docs := map[string][]byte{}
	for _, name := range []string{"LICENSE", "README.md"} {
		data, err := os.ReadFile(filepath.Join(root, name))
		if err != nil {
			t.Fatal(err)
		}
		docs[name] = data
	}

	// The connector's files are signed with a throwaway certificate, whatever signing the environment sets up.
	cert, key := signtest.SelfSigned(t)
	for _, v := range []string{authenticode.EnvCertPEM, authenticode.EnvKeyPEM, authenticode.EnvKeyPassword, authenticode.EnvTimestampURL} {
		t.Setenv(v, "")
	}
	t.Setenv(authenticode.EnvCertFile, cert)
	t.Setenv(authenticode.EnvKeyFile, key)

	start := time.Now()
	var log bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if code := run(ctx, []string{"--version", testVersion, "--out", out, "--repo", root, "--kubectl", kubectl}, &log); code != 0 {
		t.Fatalf("release exited %d:\n%s", code, log.String())
	}
	t.Logf("release %s took %s", testVersion, time.Since(start).Round(time.Second))

	sums := checkSHA256SUMS(t, out)
	expected := []string{
		"SHA256SUMS", "install.yaml", "image-digest.txt", "mailshift.krew.yaml",
		"mailshift-image_" + testVersion + ".oci.tar", "mailshift_" + testVersion + ".spdx.json",
		"mailshift-0.0.0-test.tgz", "image/index.json", "image/oci-layout",
	}
	for _, p := range cliPlatforms {
		expected = append(expected, archiveName(p))
	}
	for _, arch := range []string{"x64", "x86"} {
		expected = append(expected, "mailshift-connector-"+testVersion+"-"+arch+".dll", "mailshift-connector-"+testVersion+"-"+arch+".msi")
	}
	expected = append(expected, "mailshift-connector-"+testVersion+".mapisvc.inf")
	for _, name := range expected {
		if _, listed := sums[name]; !listed && name != "SHA256SUMS" {
			t.Errorf("%s is not listed in SHA256SUMS", name)
		}
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("expected artifact: %v", err)
		}
	}

	binaries := map[platform]map[string][]byte{}
	for _, p := range cliPlatforms {
		binaries[p] = checkCLIArchive(t, filepath.Join(out, archiveName(p)), p, root, docs)
	}
	checkRunsVersion(t, binaries)
	digest := checkImage(t, out)
	checkInstallYAML(t, filepath.Join(out, "install.yaml"), root, "ghcr.io/mailshift/mailshift:"+testVersion+"@"+digest)
	checkKrew(t, filepath.Join(out, "mailshift.krew.yaml"), sums)
	dlls := checkConnector(t, out, cert)
	checkSBOM(t, filepath.Join(out, "mailshift_"+testVersion+".spdx.json"), binaries, append(imageBinaries(t, filepath.Join(out, "image")), dlls...))
	checkChart(t, filepath.Join(out, "mailshift-0.0.0-test.tgz"))
}

// checkSHA256SUMS verifies every line of SHA256SUMS against the file it names, and that every file of the
// release is listed. It reads the file with its own parser, and with sha256sum -c too when coreutils is
// there, so a fault shared by the release's writer and reader does not go unnoticed.
func checkSHA256SUMS(t *testing.T, dir string) map[string]string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^([0-9a-f]{64})  ([^\s].*)$`)
	sums := map[string]string{}
	for i, l := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		m := line.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("SHA256SUMS line %d %q is not \"<sha256>  <file>\"", i+1, l)
		}
		if _, dup := sums[m[2]]; dup {
			t.Errorf("SHA256SUMS lists %s twice", m[2])
		}
		sums[m[2]] = m[1]
		content, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(m[2])))
		if err != nil {
			t.Errorf("SHA256SUMS line %d: %v", i+1, err)
			continue
		}
		if got := sha256.Sum256(content); hex.EncodeToString(got[:]) != m[1] {
			t.Errorf("SHA256SUMS line %d: %s has sha256 %x, the file says %s", i+1, m[2], got, m[1])
		}
	}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if rel = filepath.ToSlash(rel); rel != "SHA256SUMS" && sums[rel] == "" {
			t.Errorf("%s is in the release but not in SHA256SUMS", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if sha256sum, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(sha256sum, "--check", "--strict", "--quiet", "SHA256SUMS")
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum --check: %v\n%s", err, out)
		}
	}
	return sums
}

// cliCommands are the binaries of every CLI archive: mailshift and the kubectl plugin kubectl-mailshift.
var cliCommands = []string{"mailshift", "kubectl-mailshift"}

// exeName is command's file name on the platform.
func exeName(command string, p platform) string {
	if p.os == "windows" {
		return command + ".exe"
	}
	return command
}

// checkCLIArchive checks one CLI archive's entries (both binaries, LICENSE, README.md, sorted, dated
// SOURCE_DATE_EPOCH) and that each binary is an executable for the archive's platform; it returns the
// binaries by command name.
func checkCLIArchive(t *testing.T, path string, p platform, root string, docs map[string][]byte) map[string][]byte {
	t.Helper()
	type entry struct {
		name    string
		mode    fs.FileMode
		modTime time.Time
		data    []byte
	}
	var entries []entry
	if p.os == "windows" {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatalf("%s: %s: %v", path, f.Name, err)
			}
			data, err := io.ReadAll(io.LimitReader(rc, 256<<20))
			rc.Close()
			if err != nil {
				t.Fatalf("%s: %s: %v", path, f.Name, err)
			}
			entries = append(entries, entry{f.Name, f.Mode(), f.Modified, data})
		}
	} else {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		gz, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			data, err := io.ReadAll(io.LimitReader(tr, 256<<20))
			if err != nil {
				t.Fatalf("%s: %s: %v", path, h.Name, err)
			}
			if h.Uid != 0 || h.Gid != 0 || h.Uname != "" || h.Gname != "" {
				t.Errorf("%s: %s carries an owner (%d:%d %q:%q)", path, h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
			}
			entries = append(entries, entry{h.Name, h.FileInfo().Mode(), h.ModTime, data})
		}
	}
	want := []string{"LICENSE", "README.md"}
	commandOf := map[string]string{}
	for _, c := range cliCommands {
		want = append(want, exeName(c, p))
		commandOf[exeName(c, p)] = c
	}
	sort.Strings(want)
	var names []string
	binaries := map[string][]byte{}
	for _, e := range entries {
		names = append(names, e.name)
		if !e.modTime.Equal(time.Unix(testEpoch, 0)) {
			t.Errorf("%s: %s dated %s, want SOURCE_DATE_EPOCH %s", path, e.name, e.modTime.UTC(), time.Unix(testEpoch, 0).UTC())
		}
		switch {
		case commandOf[e.name] != "":
			binaries[commandOf[e.name]] = e.data
			if e.mode.Perm() != 0o755 {
				t.Errorf("%s: %s has mode %v, want 0755", path, e.name, e.mode.Perm())
			}
		case e.name == "LICENSE" || e.name == "README.md":
			// The file as it was when the release started, or as it is now: the work tree may be edited
			// while the release runs.
			now, err := os.ReadFile(filepath.Join(root, e.name))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(docs[e.name], e.data) && !bytes.Equal(now, e.data) {
				t.Errorf("%s: %s differs from the repository's", path, e.name)
			}
		}
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Fatalf("%s holds %q, want %q in this order", path, names, want)
	}
	for command, binary := range binaries {
		if got := executableFormat(binary); got != p {
			t.Errorf("%s: %s is an executable for %s/%s, want %s/%s", path, exeName(command, p), got.os, got.arch, p.os, p.arch)
		}
	}
	return binaries
}

// executableFormat reads the platform an executable was built for from its ELF, Mach-O or PE header.
func executableFormat(b []byte) platform {
	r := bytes.NewReader(b)
	if f, err := elf.NewFile(r); err == nil {
		switch f.Machine {
		case elf.EM_X86_64:
			return platform{"linux", "amd64"}
		case elf.EM_AARCH64:
			return platform{"linux", "arm64"}
		}
		return platform{"linux", f.Machine.String()}
	}
	if f, err := macho.NewFile(r); err == nil {
		switch f.Cpu {
		case macho.CpuAmd64:
			return platform{"darwin", "amd64"}
		case macho.CpuArm64:
			return platform{"darwin", "arm64"}
		}
		return platform{"darwin", f.Cpu.String()}
	}
	if f, err := pe.NewFile(r); err == nil {
		switch f.Machine {
		case pe.IMAGE_FILE_MACHINE_AMD64:
			return platform{"windows", "amd64"}
		case pe.IMAGE_FILE_MACHINE_ARM64:
			return platform{"windows", "arm64"}
		}
		return platform{"windows", "unknown"}
	}
	return platform{"unknown", "unknown"}
}

// checkRunsVersion unpacks the binaries built for this machine side by side, as a user unpacks the
// archive, and checks that each says the release's version and that mailshift runs kubectl-mailshift, next
// to it, for the cluster commands.
func checkRunsVersion(t *testing.T, binaries map[platform]map[string][]byte) {
	t.Helper()
	host := platform{runtime.GOOS, runtime.GOARCH}
	bins, ok := binaries[host]
	if !ok {
		t.Logf("no CLI for %s/%s in the release; not run", host.os, host.arch)
		return
	}
	dir := t.TempDir()
	for _, command := range cliCommands {
		if err := os.WriteFile(filepath.Join(dir, exeName(command, host)), bins[command], 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, command := range cliCommands {
		out, err := exec.Command(filepath.Join(dir, exeName(command, host)), "version").CombinedOutput()
		if err != nil {
			t.Fatalf("%s version: %v\n%s", command, err, out)
		}
		if !strings.Contains(string(out), testVersion) {
			t.Errorf("%s version printed %q, want it to name %s", command, out, testVersion)
		}
		if !strings.Contains(string(out), "2026-01-02T03:04:05Z") {
			t.Errorf("%s version printed %q, want the build date SOURCE_DATE_EPOCH 2026-01-02T03:04:05Z", command, out)
		}
	}
	cmd := exec.Command(filepath.Join(dir, exeName("mailshift", host)), "status", "--help")
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir())
	out, err := cmd.Output()
	if err != nil || !strings.Contains(string(out), "mailshift status [flags]") || !strings.Contains(string(out), "--all-namespaces") {
		t.Errorf("mailshift status --help (kubectl-mailshift's help): %v\n%s", err, out)
	}
}

// checkImage checks that image-digest.txt names the index of the OCI layout, and that the tarball holds
// that layout; it returns the digest.
func checkImage(t *testing.T, dir string) string {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, "image-digest.txt"))
	if err != nil {
		t.Fatal(err)
	}
	digest := strings.TrimSpace(string(raw))
	if !regexp.MustCompile(`^sha256:[0-9a-f]{64}$`).MatchString(digest) {
		t.Fatalf("image-digest.txt holds %q, want sha256:<hex>", raw)
	}
	blob, err := os.ReadFile(filepath.Join(dir, "image", "blobs", "sha256", strings.TrimPrefix(digest, "sha256:")))
	if err != nil {
		t.Fatalf("the image digest is not a blob of the layout: %v", err)
	}
	if sum := sha256.Sum256(blob); "sha256:"+hex.EncodeToString(sum[:]) != digest {
		t.Errorf("blob %s has digest sha256:%x", digest, sum)
	}
	var index struct {
		MediaType string `json:"mediaType"`
		Manifests []struct {
			Platform *struct{ OS, Architecture string } `json:"platform"`
		} `json:"manifests"`
	}
	if err := json.Unmarshal(blob, &index); err != nil {
		t.Fatalf("the image's index: %v", err)
	}
	var platforms []string
	for _, m := range index.Manifests {
		if m.Platform != nil {
			platforms = append(platforms, m.Platform.OS+"/"+m.Platform.Architecture)
		}
	}
	sort.Strings(platforms)
	if strings.Join(platforms, ",") != "linux/amd64,linux/arm64" {
		t.Errorf("the image index %s has platforms %q, want linux/amd64 and linux/arm64", digest, platforms)
	}
	f, err := os.Open(filepath.Join(dir, "mailshift-image_"+testVersion+".oci.tar"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	found := map[string]bool{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("image tarball: %v", err)
		}
		found[strings.TrimPrefix(h.Name, "./")] = true
	}
	for _, name := range []string{"oci-layout", "index.json", "blobs/sha256/" + strings.TrimPrefix(digest, "sha256:")} {
		if !found[name] {
			t.Errorf("the image tarball has no %s", name)
		}
	}
	return digest
}

// checkInstallYAML checks that install.yaml is YAML documents holding every CRD of config/crd/bases and the
// manager Deployment running image.
func checkInstallYAML(t *testing.T, path, root, image string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	wantCRDs := map[string]bool{}
	bases, err := filepath.Glob(filepath.Join(root, "config", "crd", "bases", "mailshift.io_*.yaml"))
	if err != nil || len(bases) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	for _, b := range bases {
		plural := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(b), "mailshift.io_"), ".yaml")
		wantCRDs[plural+".mailshift.io"] = true
	}
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	deployments := 0
	kinds := map[string]int{}
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("install.yaml: %v", err)
		}
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			t.Fatalf("install.yaml document %q: %v", doc, err)
		}
		if meta.Kind == "" {
			continue // the header comment
		}
		kinds[meta.Kind]++
		switch meta.Kind {
		case "CustomResourceDefinition":
			var crd apiextensionsv1.CustomResourceDefinition
			if err := yaml.UnmarshalStrict(doc, &crd); err != nil {
				t.Errorf("install.yaml CRD %s: %v", meta.Metadata.Name, err)
			}
			delete(wantCRDs, crd.Name)
		case "Deployment":
			var d appsv1.Deployment
			if err := yaml.UnmarshalStrict(doc, &d); err != nil {
				t.Fatalf("install.yaml Deployment %s: %v", meta.Metadata.Name, err)
			}
			deployments++
			for _, c := range d.Spec.Template.Spec.Containers {
				if c.Image != image {
					t.Errorf("install.yaml Deployment %s container %s runs %s, want %s", d.Name, c.Name, c.Image, image)
				}
			}
		}
	}
	for name := range wantCRDs {
		t.Errorf("install.yaml lacks the CRD %s", name)
	}
	if deployments != 1 {
		t.Errorf("install.yaml has %d Deployments, want the manager's", deployments)
	}
	for _, kind := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"} {
		if kinds[kind] == 0 {
			t.Errorf("install.yaml has no %s (kinds: %v)", kind, kinds)
		}
	}
}

// checkKrew checks the krew manifest names the release's version and, for every CLI platform, the
// archive's download URL and its sha256 from SHA256SUMS.
func checkKrew(t *testing.T, path string, sums map[string]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Version   string `json:"version"`
			Platforms []struct {
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
	if err := yaml.Unmarshal(data, &m); err != nil {
		t.Fatalf("krew manifest: %v", err)
	}
	if m.Kind != "Plugin" || m.Metadata.Name != "mailshift" || m.Spec.Version != testVersion {
		t.Errorf("krew manifest: kind %q name %q version %q, want Plugin mailshift %s", m.Kind, m.Metadata.Name, m.Spec.Version, testVersion)
	}
	seen := map[platform]bool{}
	for _, p := range m.Spec.Platforms {
		pl := platform{p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]}
		seen[pl] = true
		name := archiveName(pl)
		if want := "https://github.com/mailshift/mailshift/releases/download/" + testVersion + "/" + name; p.URI != want {
			t.Errorf("krew %s/%s: uri %s, want %s", pl.os, pl.arch, p.URI, want)
		}
		if p.SHA256 == "" || p.SHA256 != sums[name] {
			t.Errorf("krew %s/%s: sha256 %q, SHA256SUMS says %q for %s", pl.os, pl.arch, p.SHA256, sums[name], name)
		}
		// The plugin is kubectl-mailshift; krew takes it (and the LICENSE) out of the archive, which
		// checkCLIArchive found holding it.
		plugin := exeName("kubectl-mailshift", pl)
		var from []string
		for _, f := range p.Files {
			from = append(from, f.From)
		}
		if p.Bin != plugin || !slices.Contains(from, plugin) {
			t.Errorf("krew %s/%s: bin %q, files from %q; want bin %s, and files: to select it", pl.os, pl.arch, p.Bin, from, plugin)
		}
	}
	// krew users are on these at least; each listed platform was checked above against the release.
	for _, p := range []platform{{"linux", "amd64"}, {"linux", "arm64"}, {"darwin", "amd64"}, {"darwin", "arm64"}, {"windows", "amd64"}} {
		if !seen[p] {
			t.Errorf("krew manifest has no platform %s/%s", p.os, p.arch)
		}
	}
}

// checkSBOM checks the SPDX document: its version, the main module, one described package per binary (both
// of every archive, and the others: the image's, the connector's DLLs) with the binary's sha256, and
// relationships between packages that exist.
func checkSBOM(t *testing.T, path string, binaries map[platform]map[string][]byte, others [][]byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		SPDXVersion  string `json:"spdxVersion"`
		Namespace    string `json:"documentNamespace"`
		CreationInfo struct {
			Created string `json:"created"`
		} `json:"creationInfo"`
		Packages []struct {
			SPDXID       string                                      `json:"SPDXID"`
			Name         string                                      `json:"name"`
			VersionInfo  string                                      `json:"versionInfo"`
			Checksums    []struct{ Algorithm, ChecksumValue string } `json:"checksums"`
			ExternalRefs []struct {
				ReferenceType    string `json:"referenceType"`
				ReferenceLocator string `json:"referenceLocator"`
			} `json:"externalRefs"`
		} `json:"packages"`
		RawRelationships []map[string]string `json:"relationships"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("SBOM: %v", err)
	}
	if doc.SPDXVersion != "SPDX-2.3" {
		t.Errorf("SBOM spdxVersion %q", doc.SPDXVersion)
	}
	if doc.CreationInfo.Created != "2026-01-02T03:04:05Z" {
		t.Errorf("SBOM created %q, want SOURCE_DATE_EPOCH", doc.CreationInfo.Created)
	}
	if !strings.HasPrefix(doc.Namespace, "https://") || !strings.Contains(doc.Namespace, testVersion) {
		t.Errorf("SBOM documentNamespace %q", doc.Namespace)
	}
	ids := map[string]bool{"SPDXRef-DOCUMENT": true}
	binarySums := map[string]bool{}
	for _, bins := range binaries {
		for _, b := range bins {
			sum := sha256.Sum256(b)
			binarySums[hex.EncodeToString(sum[:])] = true
		}
	}
	for _, b := range others {
		sum := sha256.Sum256(b)
		binarySums[hex.EncodeToString(sum[:])] = true
	}
	// A binary is one package however often it is released: the image's linux /mailshift is the very file
	// of the linux CLI archives.
	distinct := len(binarySums)
	mainModule, modules := false, 0
	for _, p := range doc.Packages {
		ids[p.SPDXID] = true
		purl := ""
		for _, r := range p.ExternalRefs {
			if r.ReferenceType == "purl" {
				purl = r.ReferenceLocator
			}
		}
		if !strings.HasPrefix(purl, "pkg:golang/") {
			t.Errorf("SBOM package %s %s has purl %q", p.Name, p.VersionInfo, purl)
		}
		if p.Name == "github.com/mailshift/mailshift" && p.VersionInfo == testVersion && purl == "pkg:golang/github.com/mailshift/mailshift@"+testVersion {
			mainModule = true
		}
		if strings.Contains(p.Name, ".") && p.Name != "github.com/mailshift/mailshift" {
			modules++
		}
		for _, c := range p.Checksums {
			if c.Algorithm == "SHA256" {
				delete(binarySums, c.ChecksumValue)
			}
		}
	}
	if !mainModule {
		t.Error("SBOM does not name the main module github.com/mailshift/mailshift at the release version")
	}
	if modules == 0 {
		t.Error("SBOM names no dependency module")
	}
	for sum := range binarySums {
		t.Errorf("SBOM has no package with the sha256 %s of a released binary", sum)
	}
	types := map[string]int{}
	for _, r := range doc.RawRelationships {
		types[r["relationshipType"]]++
		if !ids[r["spdxElementId"]] || !ids[r["relatedSpdxElement"]] {
			t.Errorf("SBOM relationship %v names an element that is not in the document", r)
		}
	}
	if want := distinct; types["DESCRIBES"] != want || types["CONTAINS"] == 0 || types["DEPENDS_ON"] == 0 {
		t.Errorf("SBOM relationships by type %v, want %d DESCRIBES and some CONTAINS and DEPENDS_ON", types, want)
	}
}

// checkConnector checks the Outlook connector's files: each DLL is a DLL for its architecture; each DLL and
// MSI carries an Authenticode signature that osslsigncode verifies against the test's certificate; each MSI
// installs its architecture's released DLL, byte for byte, registers it through its SelfReg table and carries
// the release's version and upgrade code; and the MAPISVC.INF fragment names the DLL where the x64 package
// installs it. It returns the DLLs.
func checkConnector(t *testing.T, dir, cert string) [][]byte {
	t.Helper()
	ctx := context.Background()
	var dlls [][]byte
	for _, a := range []struct {
		goarch, name string
		machine      uint16
	}{{"amd64", "x64", pe.IMAGE_FILE_MACHINE_AMD64}, {"386", "x86", pe.IMAGE_FILE_MACHINE_I386}} {
		dllPath := filepath.Join(dir, "mailshift-connector-"+testVersion+"-"+a.name+".dll")
		msiPath := filepath.Join(dir, "mailshift-connector-"+testVersion+"-"+a.name+".msi")
		dll, err := os.ReadFile(dllPath)
		if err != nil {
			t.Fatal(err)
		}
		dlls = append(dlls, dll)
		if f, err := pe.NewFile(bytes.NewReader(dll)); err != nil {
			t.Errorf("%s: %v", dllPath, err)
		} else if f.Machine != a.machine || f.Characteristics&pe.IMAGE_FILE_DLL == 0 {
			t.Errorf("%s: machine %#x, characteristics %#x: want a DLL for machine %#x", dllPath, f.Machine, f.Characteristics, a.machine)
		}
		for _, p := range []string{dllPath, msiPath} {
			if report, err := authenticode.Verify(ctx, p, cert); err != nil {
				t.Errorf("osslsigncode verify %s: %v", filepath.Base(p), err)
			} else if !strings.Contains(report, "mailshift test code signing") {
				t.Errorf("osslsigncode verify %s does not name the test certificate:\n%s", filepath.Base(p), report)
			}
		}
		if err := installer.CheckPackage(ctx, msiPath, testVersion, a.goarch, int64(len(dll))); err != nil {
			t.Error(err)
		}
		extracted := t.TempDir()
		if out, err := exec.Command("msiextract", "-C", extracted, msiPath).CombinedOutput(); err != nil {
			t.Fatalf("msiextract %s: %v\n%s", msiPath, err, out)
		}
		// msiextract names the Program Files folders its own way ("Program Files" for x86, nothing for x64):
		// what matters is the one file and the folders below them.
		var files []string
		err = filepath.WalkDir(extracted, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, p)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 1 || !strings.HasSuffix(filepath.ToSlash(files[0]), "/mailshift/Outlook Connector/mailshift32.dll") {
			t.Errorf("%s installs %q, want mailshift\\Outlook Connector\\mailshift32.dll", filepath.Base(msiPath), files)
		} else if inMSI, err := os.ReadFile(files[0]); err != nil || !bytes.Equal(inMSI, dll) {
			t.Errorf("%s does not install %s byte for byte (%v)", filepath.Base(msiPath), filepath.Base(dllPath), err)
		}
	}
	fragment, err := os.ReadFile(filepath.Join(dir, "mailshift-connector-"+testVersion+".mapisvc.inf"))
	if err != nil {
		t.Fatal(err)
	}
	entries := mapisvc.Fragment{DLLPath: `C:\Program Files\mailshift\Outlook Connector\mailshift.dll`}.File()
	comments, found := bytes.CutSuffix(fragment, entries)
	if !found {
		t.Errorf("the MAPISVC.INF fragment does not end with the service's entries for the x64 package's path:\n%s", fragment)
	}
	for _, l := range strings.Split(strings.TrimSuffix(string(comments), "\r\n"), "\r\n") {
		if l != "" && !strings.HasPrefix(l, ";") {
			t.Errorf("the MAPISVC.INF fragment has %q before the entries, which is not a comment", l)
		}
	}
	return dlls
}

// imageBinaries reads /manager and /mailshift of every platform out of the release's image layout: the
// files a cluster runs, which the SBOM must describe too.
func imageBinaries(t *testing.T, layoutDir string) [][]byte {
	t.Helper()
	lp, err := layout.FromPath(layoutDir)
	if err != nil {
		t.Fatal(err)
	}
	outer, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	om, err := outer.IndexManifest()
	if err != nil || len(om.Manifests) != 1 {
		t.Fatalf("image layout: %d index entries (%v), want the one image index", len(om.Manifests), err)
	}
	idx, err := outer.ImageIndex(om.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	var bins [][]byte
	for _, desc := range im.Manifests {
		img, err := idx.Image(desc.Digest)
		if err != nil {
			t.Fatal(err)
		}
		found := 0
		tr := tar.NewReader(mutate.Extract(img))
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if name := strings.TrimPrefix(h.Name, "/"); name == "manager" || name == "mailshift" {
				b, err := io.ReadAll(tr)
				if err != nil {
					t.Fatal(err)
				}
				bins = append(bins, b)
				found++
			}
		}
		if found != 2 {
			t.Fatalf("image %s: %d of /manager and /mailshift found", desc.Platform, found)
		}
	}
	return bins
}

// checkChart checks the chart archive's Chart.yaml carries the release's version and appVersion.
func checkChart(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("chart: %v", err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatal("chart archive has no mailshift/Chart.yaml")
		}
		if err != nil {
			t.Fatalf("chart: %v", err)
		}
		if h.Name != "mailshift/Chart.yaml" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			t.Fatal(err)
		}
		var c struct{ Version, AppVersion string }
		if err := yaml.Unmarshal(data, &c); err != nil {
			t.Fatalf("chart Chart.yaml: %v", err)
		}
		if c.Version != "0.0.0-test" || c.AppVersion != testVersion {
			t.Errorf("chart version %q appVersion %q, want 0.0.0-test and %s", c.Version, c.AppVersion, testVersion)
		}
		return
	}
}
