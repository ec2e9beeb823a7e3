package release

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mailshift/mailshift/connector/installer"
	"github.com/mailshift/mailshift/hack/release/internal/sbom"
	"github.com/mailshift/mailshift/internal/connectorbuild"
	"github.com/mailshift/mailshift/internal/mapisvc"
)

// connectorArches are the Outlook connector's architectures: GOARCH and the name Windows and Office use.
var connectorArches = []struct{ goarch, name string }{{"amd64", "x64"}, {"386", "x86"}}

// ConnectorDLLName is the release file name of the connector DLL for a GOARCH ("amd64" or "386").
func ConnectorDLLName(version, arch string) string {
	return "mailshift-connector-" + version + "-" + windowsArch(arch) + ".dll"
}

// ConnectorMSIName is the release file name of the connector's installer for a GOARCH.
func ConnectorMSIName(version, arch string) string {
	return "mailshift-connector-" + version + "-" + windowsArch(arch) + ".msi"
}

// ConnectorFragmentName is the release file name of the connector's MAPISVC.INF fragment.
func ConnectorFragmentName(version string) string {
	return "mailshift-connector-" + version + ".mapisvc.inf"
}

func windowsArch(goarch string) string {
	for _, a := range connectorArches {
		if a.goarch == goarch {
			return a.name
		}
	}
	return goarch
}

// connectorTools are the programs building the connector needs beyond Go; the signature adds osslsigncode.
var connectorTools = []string{
	"x86_64-w64-mingw32-gcc", "x86_64-w64-mingw32-windres", "i686-w64-mingw32-gcc", "i686-w64-mingw32-windres",
	"wixl", "msibuild",
}

// buildConnector builds the Outlook connector's DLL for each architecture, signs it, packs the signed DLL into
// that architecture's MSI and signs the MSI, and writes the MAPISVC.INF fragment. It returns the released
// DLLs for the SBOM.
func (b *build) buildConnector(ctx context.Context) ([]sbom.Binary, error) {
	var bins []sbom.Binary
	for _, a := range connectorArches {
		start := time.Now()
		dll := filepath.Join(b.work, "connector", a.goarch, "mailshift32.dll")
		if err := os.MkdirAll(filepath.Dir(dll), 0o755); err != nil {
			return nil, err
		}
		if err := connectorbuild.Build(ctx, a.goarch, dll, b.Version); err != nil {
			return nil, fmt.Errorf("build the connector for %s: %w", a.name, err)
		}
		if err := b.sign(ctx, dll); err != nil {
			return nil, err
		}
		dllName := ConnectorDLLName(b.Version, a.goarch)
		if err := copyFile(dll, filepath.Join(b.OutDir, dllName)); err != nil {
			return nil, err
		}
		msi := filepath.Join(b.work, "connector", a.goarch, "connector.msi")
		if err := installer.Build(ctx, b.Version, a.goarch, dll, msi); err != nil {
			return nil, err
		}
		if err := b.sign(ctx, msi); err != nil {
			return nil, err
		}
		if err := copyFile(msi, filepath.Join(b.OutDir, ConnectorMSIName(b.Version, a.goarch))); err != nil {
			return nil, err
		}
		bins = append(bins, sbom.Binary{
			Path:             filepath.Join(b.OutDir, dllName),
			FileName:         dllName,
			GOOS:             "windows",
			GOARCH:           a.goarch,
			DownloadLocation: DownloadBase + "/" + b.Version + "/" + dllName,
		})
		b.logf("connector %s: %s, %s (%s)", a.name, dllName, ConnectorMSIName(b.Version, a.goarch), time.Since(start).Round(100*time.Millisecond))
	}
	fragment, err := connectorFragment(b.Version)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(b.OutDir, ConnectorFragmentName(b.Version)), fragment, 0o644); err != nil {
		return nil, err
	}
	return bins, nil
}

// sign gives a file its Authenticode signature, or leaves it unsigned in a release built with Unsigned.
func (b *build) sign(ctx context.Context, path string) error {
	if b.Signer == nil {
		return nil
	}
	s := *b.Signer
	s.Description = installer.ProductName
	s.URL = SourceRepo
	return s.Sign(ctx, path)
}

// DefaultConnectorDLL is where the x64 package installs the DLL, as MAPISVC.INF names it (without MAPI's "32").
const DefaultConnectorDLL = `C:\Program Files\` + installer.InstallFolder + `\mailshift.dll`

// connectorFragment is the MAPISVC.INF fragment of the release: what the DLL's DllRegisterServer writes, for
// those who deploy the DLL without the MSI, with comments saying where the DLL must be for the path it names.
func connectorFragment(version string) ([]byte, error) {
	frag := mapisvc.Fragment{DLLPath: DefaultConnectorDLL}
	if err := frag.Validate(); err != nil {
		return nil, err
	}
	comments := []string{
		"; " + installer.ProductName + " " + version + ": its entries in MAPISVC.INF.",
		"; The MSI packages write them on installation (the DLL's DllRegisterServer); this file is for deploying",
		"; the DLL without them. MAPI inserts \"32\" before the first period of PR_SERVICE_DLL_NAME and loads that",
		"; file, here " + strings.TrimSuffix(DefaultConnectorDLL, ".dll") + "32.dll, where the x64 package installs it.",
		"; 32-bit Outlook on 64-bit Windows loads the x86 DLL; its package installs it in",
		"; C:\\Program Files (x86)\\" + installer.InstallFolder + ". No folder of the path may contain a period.",
		"",
	}
	return append([]byte(strings.Join(comments, "\r\n")+"\r\n"), frag.File()...), nil
}
