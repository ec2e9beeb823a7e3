package release

import (
	"os"
	"path/filepath"

	"github.com/mailshift/mailshift/hack/release/internal/sbom"
)

// writeSBOM writes the SPDX document of the released binaries: every binary of every CLI archive, and the
// others (the image's binaries of every platform, the connector's DLLs).
func (b *build) writeSBOM(archives []cliArchive, others []sbom.Binary) error {
	bins := append([]sbom.Binary(nil), others...)
	for _, c := range archives {
		for _, path := range c.Binaries {
			bins = append(bins, sbom.Binary{
				Path:             path,
				FileName:         c.Archive + ":" + filepath.Base(path),
				GOOS:             c.OS,
				GOARCH:           c.Arch,
				DownloadLocation: DownloadBase + "/" + b.Version + "/" + c.Archive,
			})
		}
	}
	doc, err := sbom.Build(sbom.Options{
		Name:          "mailshift-" + b.Version,
		Version:       b.Version,
		Created:       b.created,
		NamespaceBase: SourceRepo + "/spdx",
		SourceRepo:    SourceRepo,
		License:       "Apache-2.0",
		Creator:       "Tool: mailshift-release",
	}, bins)
	if err != nil {
		return err
	}
	data, err := doc.JSON()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(b.OutDir, SBOMName(b.Version)), data, 0o644); err != nil {
		return err
	}
	b.logf("SBOM: %s (%d packages)", SBOMName(b.Version), len(doc.Packages))
	return nil
}
