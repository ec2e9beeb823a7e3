package installer

import (
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestProductVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v0.3.0": "0.3.99", "v0.3.0-rc.1": "0.3.1", "v0.3.0-rc.98": "0.3.98", "v0.3.1": "0.3.199",
		"v0.0.0-test": "0.0.0", "v1.2.3-beta.4": "1.2.300", "v255.255.654": "255.255.65499",
	} {
		if got, err := ProductVersion(in); err != nil || got != want {
			t.Errorf("ProductVersion(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"0.3.0", "v0.3", "v256.0.0", "v0.256.0", "v0.0.655", "v0.3.0-rc.99", "v0.3.0+meta", ""} {
		if got, err := ProductVersion(bad); err == nil {
			t.Errorf("ProductVersion(%q) = %q, want an error", bad, got)
		}
	}
	// Each release must sort after the one before it, as Windows Installer compares versions.
	order := []string{"v0.2.9", "v0.3.0-alpha", "v0.3.0-rc.1", "v0.3.0-rc.2", "v0.3.0-rc.10", "v0.3.0", "v0.3.1-rc.1", "v0.3.1", "v0.4.0", "v1.0.0"}
	var prev []int
	for _, v := range order {
		mv, err := ProductVersion(v)
		if err != nil {
			t.Fatal(err)
		}
		var cur []int
		for _, f := range strings.Split(mv, ".") {
			n, _ := strconv.Atoi(f)
			cur = append(cur, n)
		}
		if prev != nil && slices.Compare(prev, cur) >= 0 {
			t.Errorf("%s (%s) does not sort after the release before it (%v)", v, mv, prev)
		}
		prev = cur
	}
}

func TestProductCode(t *testing.T) {
	a, _ := ProductCode("amd64", "v0.3.0")
	again, _ := ProductCode("amd64", "v0.3.0")
	next, _ := ProductCode("amd64", "v0.3.1")
	x86, _ := ProductCode("386", "v0.3.0")
	if a != again || a == next || a == x86 || len(a) != 38 || a[15] != '5' || strings.ToUpper(a) != a {
		t.Errorf("product codes %s %s %s %s: want one stable uppercase braced UUID per version and architecture", a, again, next, x86)
	}
	if _, err := ProductCode("arm64", "v0.3.0"); err == nil {
		t.Error("a product code for arm64")
	}
}

func TestRenderIsWellFormed(t *testing.T) {
	for _, arch := range []string{"amd64", "386"} {
		wxs, err := Render("v0.3.0-rc.1", arch)
		if err != nil {
			t.Fatal(err)
		}
		dec := xml.NewDecoder(strings.NewReader(string(wxs)))
		for {
			if _, err := dec.Token(); err != nil {
				if err.Error() != "EOF" {
					t.Errorf("%s: the WiX source is not well-formed XML: %v", arch, err)
				}
				break
			}
		}
		if strings.Contains(string(wxs), "{{") || strings.Contains(string(wxs), "<no value>") {
			t.Errorf("%s: unfilled template:\n%s", arch, wxs)
		}
	}
	if _, err := Render("v0.3.0", "arm64"); err == nil {
		t.Error("rendered a package for arm64")
	}
}

// TestBuild builds both packages with wixl around a stand-in DLL and reads them back with msiinfo.
func TestBuild(t *testing.T) {
	for _, tool := range []string{"wixl", "msibuild", "msiinfo"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed: run hack/install-deps.sh wine", tool)
		}
	}
	dir := t.TempDir()
	dll := filepath.Join(dir, "stand-in.dll")
	if err := os.WriteFile(dll, []byte("MZ stand-in"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for arch, want := range map[string]struct {
		folder, dllAttrs, rememberAttrs, locatorType string
	}{
		// msidbComponentAttributes64bit 256, msidbComponentAttributesRegistryKeyPath 4; msidbLocatorTypeRawValue
		// 2, msidbLocatorType64bit 16.
		"amd64": {"ProgramFiles64Folder", "256", "260", "18"},
		"386":   {"ProgramFilesFolder", "0", "4", "2"},
	} {
		t.Run(arch, func(t *testing.T) {
			msi := filepath.Join(dir, arch+".msi")
			if err := Build(ctx, "v0.3.0", arch, dll, msi); err != nil {
				t.Fatal(err)
			}
			if err := CheckPackage(ctx, msi, "v0.3.0", arch, int64(len("MZ stand-in"))); err != nil {
				t.Error(err)
			}
			if err := CheckPackage(ctx, msi, "v0.3.1", arch, 1); err == nil {
				t.Error("CheckPackage took the package for another version with another DLL")
			}
			table := func(name string) []map[string]string {
				rows, err := ReadTable(ctx, msi, name)
				if err != nil {
					t.Fatal(err)
				}
				return rows
			}
			dirs := map[string]map[string]string{}
			for _, r := range table("Directory") {
				dirs[r["Directory"]] = r
			}
			if dirs["INSTALLFOLDER"]["DefaultDir"] != "Outlook Connector" || dirs["VendorFolder"]["DefaultDir"] != "mailshift" ||
				dirs["VendorFolder"]["Directory_Parent"] != want.folder {
				t.Errorf("directories %v, want %s\\mailshift\\Outlook Connector", dirs, want.folder)
			}
			components := map[string]string{}
			for _, c := range table("Component") {
				components[c["Component"]] = c["Attributes"]
			}
			if len(components) != 2 || components["ConnectorDLL"] != want.dllAttrs || components["RememberInstallFolder"] != want.rememberAttrs {
				t.Errorf("component attributes %v, want ConnectorDLL %s and RememberInstallFolder %s", components, want.dllAttrs, want.rememberAttrs)
			}
			search, locator := table("AppSearch"), table("RegLocator")
			if len(search) != 1 || search[0]["Property"] != "INSTALLFOLDER" || len(locator) != 1 ||
				locator[0]["Signature_"] != search[0]["Signature_"] || locator[0]["Key"] != RegistryKey ||
				locator[0]["Name"] != "InstallFolder" || locator[0]["Root"] != "2" || locator[0]["Type"] != want.locatorType {
				t.Errorf("AppSearch %v, RegLocator %v: want INSTALLFOLDER read from HKLM\\%s InstallFolder, type %s", search, locator, RegistryKey, want.locatorType)
			}
			seq := map[string]int{}
			for _, r := range table("InstallExecuteSequence") {
				seq[r["Action"]], _ = strconv.Atoi(r["Sequence"])
			}
			for _, order := range [][2]string{
				{"InstallValidate", "RemoveExistingProducts"}, {"RemoveExistingProducts", "InstallInitialize"},
				{"SelfUnregModules", "RemoveFiles"}, {"InstallFiles", "SelfRegModules"}, {"SelfRegModules", "InstallFinalize"},
			} {
				if seq[order[0]] == 0 || seq[order[1]] == 0 || seq[order[0]] >= seq[order[1]] {
					t.Errorf("InstallExecuteSequence: %s (%d) must run before %s (%d)", order[0], seq[order[0]], order[1], seq[order[1]])
				}
			}
			up := table("Upgrade")
			if len(up) != 2 {
				t.Errorf("Upgrade rows %v, want the detection of older (to replace) and newer (to refuse) versions", up)
			}
		})
	}
}
