// Package installer builds the Outlook connector's Windows Installer package, one per architecture, with wixl
// (msitools): it renders connector.wxs.tmpl for a release version and architecture, compiles it, and adds
// the SelfReg table, which wixl does not write, so that msiexec registers the service in MAPISVC.INF after
// installing the DLL and unregisters it before removing it.
package installer

import (
	"bytes"
	"context"
	"crypto/sha1"
	_ "embed"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
)

//go:embed connector.wxs.tmpl
var wxsTemplate string

// ProductName is what Windows lists among installed programs, with the bitness after it.
const ProductName = "mailshift Outlook Connector"

// InstallFolder is the folder under Program Files (Program Files (x86) for the x86 package on 64-bit
// Windows) that holds mailshift32.dll.
const InstallFolder = `mailshift\Outlook Connector`

// FileID is the DLL's key in the File and SelfReg tables.
const FileID = "ConnectorDLL"

// RegistryKey is where a package keeps its install folder, under HKEY_LOCAL_MACHINE in the registry view of
// its architecture, so that the two packages keep theirs apart.
const RegistryKey = `SOFTWARE\mailshift\Outlook Connector`

// packageArch is what differs between the two packages. The upgrade codes and component GUIDs never change:
// the upgrade code is how a newer package finds the older one to replace, and the component GUID is how
// Windows Installer knows the DLL of one version is the DLL of the next. 64-bit and 32-bit Outlook cannot share
// a DLL, and both packages may be installed side by side on one machine, so each has its own.
type packageArch struct {
	wixl          string // wixl -a
	bits          int
	programFiles  string
	win64         string
	upgradeCode   string
	componentGUID string // the DLL's component
	rememberGUID  string // the component of the registry value that keeps the install folder
}

var arches = map[string]packageArch{
	"amd64": {wixl: "x64", bits: 64, programFiles: "ProgramFiles64Folder", win64: "yes",
		upgradeCode:   "{16619476-0E04-42DF-B886-EA8DDB5B4E9D}",
		componentGUID: "{DB7FFF0F-16B2-4513-8E41-43B4BCDA16AB}",
		rememberGUID:  "{68BD0635-E7EB-4004-9CB0-AE49C587DA8A}"},
	"386": {wixl: "x86", bits: 32, programFiles: "ProgramFilesFolder", win64: "no",
		upgradeCode:   "{BCB23466-CA49-40FD-9009-5FCB39FD4AE5}",
		componentGUID: "{458892CB-0029-46A1-9F87-7D9ECAFA5CC4}",
		rememberGUID:  "{CAB608E4-D738-497C-B560-090FFCE6A6E7}"},
}

// UpgradeCode is the package's upgrade code for a GOARCH ("amd64" or "386").
func UpgradeCode(arch string) (string, error) {
	a, ok := arches[arch]
	if !ok {
		return "", fmt.Errorf("installer: no package for GOARCH %q (amd64 or 386)", arch)
	}
	return a.upgradeCode, nil
}

var releaseVersion = regexp.MustCompile(`^v(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(?:-([0-9A-Za-z.-]+))?$`)
var releaseCandidate = regexp.MustCompile(`^rc\.([1-9][0-9]?)$`)

// ProductVersion maps a release version to the MSI ProductVersion, MAJOR.MINOR.BUILD (Windows Installer
// compares only those three fields, and BUILD is at most 65535), so that every release sorts after the ones
// before it: BUILD = PATCH×100 + R, with R = 99 for a final release, N for a release candidate -rc.N (1 to
// 98), and 0 for any other pre-release. v0.3.0-rc.1 is 0.3.1, v0.3.0-rc.2 is 0.3.2, v0.3.0 is 0.3.99, v0.3.1
// is 0.3.199. Two other pre-releases of one patch get the same version: the second does not replace the
// first, which has to be uninstalled.
func ProductVersion(version string) (string, error) {
	m := releaseVersion.FindStringSubmatch(version)
	if m == nil {
		return "", fmt.Errorf("installer: version %q is not vMAJOR.MINOR.PATCH[-pre]", version)
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	patch, _ := strconv.Atoi(m[3])
	if major > 255 || minor > 255 || patch > 654 {
		return "", fmt.Errorf("installer: version %q does not fit an MSI version (major and minor at most 255, patch at most 654)", version)
	}
	r := 99
	if pre := m[4]; pre != "" {
		r = 0
		if c := releaseCandidate.FindStringSubmatch(pre); c != nil {
			n, _ := strconv.Atoi(c[1])
			if n > 98 {
				return "", fmt.Errorf("installer: %s: at most 98 release candidates fit an MSI version", version)
			}
			r = n
		}
	}
	return fmt.Sprintf("%d.%d.%d", major, minor, patch*100+r), nil
}

// ProductCode is the package's product code: new for every version and architecture, and the same each time
// one version is built, so that a release is rebuilt with the codes it was published with. It is a name-based
// UUID (version 5 layout) of the upgrade code and the version.
func ProductCode(arch, version string) (string, error) {
	upgrade, err := UpgradeCode(arch)
	if err != nil {
		return "", err
	}
	sum := sha1.Sum([]byte("mailshift-connector-msi\x00" + upgrade + "\x00" + version))
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x50
	u[8] = u[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("{%x-%x-%x-%x-%x}", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])), nil
}

// Render is the WiX source of the package for a release version and a GOARCH. It names the DLL
// mailshift32.dll in the source's own directory.
func Render(version, arch string) ([]byte, error) {
	a, ok := arches[arch]
	if !ok {
		return nil, fmt.Errorf("installer: no package for GOARCH %q (amd64 or 386)", arch)
	}
	msiVersion, err := ProductVersion(version)
	if err != nil {
		return nil, err
	}
	product, err := ProductCode(arch, version)
	if err != nil {
		return nil, err
	}
	data := map[string]any{
		"ProductCode":        product,
		"ProductName":        fmt.Sprintf("%s (%d-bit)", ProductName, a.bits),
		"MSIVersion":         msiVersion,
		"Version":            version,
		"Bits":               a.bits,
		"UpgradeCode":        a.upgradeCode,
		"ComponentGUID":      a.componentGUID,
		"ProgramFilesFolder": a.programFiles,
		"Win64":              a.win64,
		"FileID":             FileID,
		"RememberGUID":       a.rememberGUID,
		"RegistryKey":        RegistryKey,
	}
	for k, v := range data {
		if s, ok := v.(string); ok {
			var b bytes.Buffer
			if err := xml.EscapeText(&b, []byte(s)); err != nil {
				return nil, err
			}
			data[k] = b.String()
		}
	}
	t, err := template.New("connector.wxs").Option("missingkey=error").Parse(wxsTemplate)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := t.Execute(&out, data); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// selfRegSQL adds the SelfReg table with the DLL in it; Cost 0 because registration writes only a few lines.
var selfRegSQL = []string{
	"CREATE TABLE `SelfReg` (`File_` CHAR(72) NOT NULL, `Cost` SHORT PRIMARY KEY `File_`)",
	"INSERT INTO `SelfReg` (`File_`, `Cost`) VALUES ('" + FileID + "', 0)",
}

// Build writes the package for version and arch ("amd64" or "386") holding dll to out.
func Build(ctx context.Context, version, arch, dll, out string) error {
	wxs, err := Render(version, arch)
	if err != nil {
		return err
	}
	for _, tool := range []string{"wixl", "msibuild"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("installer: %s is not installed (Debian: wixl and msitools; hack/install-deps.sh wine)", tool)
		}
	}
	tmp, err := os.MkdirTemp("", "connector-msi-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	data, err := os.ReadFile(dll)
	if err != nil {
		return fmt.Errorf("installer: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, "mailshift32.dll"), data, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(tmp, "connector.wxs"), wxs, 0o644); err != nil {
		return err
	}
	msi := filepath.Join(tmp, "connector.msi")
	if err := run(ctx, tmp, "wixl", "-a", arches[arch].wixl, "-o", msi, "connector.wxs"); err != nil {
		return err
	}
	args := []string{msi}
	for _, q := range selfRegSQL {
		args = append(args, "-q", q)
	}
	if err := run(ctx, tmp, "msibuild", args...); err != nil {
		return err
	}
	b, err := os.ReadFile(msi)
	if err != nil {
		return err
	}
	return os.WriteFile(out, b, 0o644)
}

func run(ctx context.Context, dir, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("installer: %s: %w\n%s", name, err, bytes.TrimSpace(out.Bytes()))
	}
	// wixl reports some problems as warnings and still writes a package; they are errors here.
	if s := out.String(); strings.Contains(strings.ToLower(s), "warning") {
		return errors.New("installer: " + name + ": " + strings.TrimSpace(s))
	}
	return nil
}
