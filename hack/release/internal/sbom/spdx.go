// Package sbom writes the release's software bill of materials: an SPDX 2.3 JSON document
// (https://spdx.github.io/spdx-spec/v2.3/) naming each released binary with its SHA-256, the main module,
// the Go standard library and every module linked into the binaries, as the Go linker recorded them in the
// binaries' build information. The binaries themselves are the source, not go.mod: a module that is
// required but not linked is not in them, and a module linked only on one platform is said to be contained
// only in that platform's binary.
//
// The document is deterministic: packages and relationships are sorted, the creation time is given by the
// caller (the release's SOURCE_DATE_EPOCH), and the document namespace is derived from the version and the
// binaries' digests, so the same release always yields the same bytes and a different one a new namespace.
package sbom

import (
	"bytes"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/mailshift/mailshift/hack/release/internal/checksums"
)

// Binary is one released executable.
type Binary struct {
	Path             string // on disk, to read its build information and digest
	FileName         string // as released, e.g. "mailshift_v0.2.0_linux_amd64.tar.gz:mailshift"
	GOOS, GOARCH     string
	DownloadLocation string // where a user downloads it from (the release archive's URL)
}

// Options describe the document.
type Options struct {
	Name          string    // document name, e.g. "mailshift-v0.2.0"
	Version       string    // the release version, given to the main module (its build info says "(devel)")
	Created       time.Time // SOURCE_DATE_EPOCH of the release
	NamespaceBase string    // e.g. "https://github.com/mailshift/mailshift/spdx"
	SourceRepo    string    // e.g. "https://github.com/mailshift/mailshift", for the main module's download location
	License       string    // SPDX licence identifier of the main module, e.g. "Apache-2.0"
	Creator       string    // e.g. "Tool: mailshift-release"
}

// Document is the subset of SPDX 2.3 JSON the release writes.
type Document struct {
	SPDXVersion       string         `json:"spdxVersion"`
	DataLicense       string         `json:"dataLicense"`
	SPDXID            string         `json:"SPDXID"`
	Name              string         `json:"name"`
	DocumentNamespace string         `json:"documentNamespace"`
	CreationInfo      CreationInfo   `json:"creationInfo"`
	Packages          []Package      `json:"packages"`
	Relationships     []Relationship `json:"relationships"`
}

type CreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type Package struct {
	SPDXID                string        `json:"SPDXID"`
	Name                  string        `json:"name"`
	VersionInfo           string        `json:"versionInfo,omitempty"`
	PackageFileName       string        `json:"packageFileName,omitempty"`
	DownloadLocation      string        `json:"downloadLocation"`
	FilesAnalyzed         bool          `json:"filesAnalyzed"`
	Checksums             []Checksum    `json:"checksums,omitempty"`
	LicenseConcluded      string        `json:"licenseConcluded"`
	LicenseDeclared       string        `json:"licenseDeclared"`
	CopyrightText         string        `json:"copyrightText"`
	PrimaryPackagePurpose string        `json:"primaryPackagePurpose,omitempty"`
	Comment               string        `json:"comment,omitempty"`
	ExternalRefs          []ExternalRef `json:"externalRefs,omitempty"`
}

type Checksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type ExternalRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type Relationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

const noAssertion = "NOASSERTION"

// Build reads the binaries' build information and returns the document.
func Build(opts Options, binaries []Binary) (*Document, error) {
	if len(binaries) == 0 {
		return nil, fmt.Errorf("sbom: no binaries")
	}
	ids := newIDs()
	var pkgs []Package
	var rels []Relationship
	mods := map[string]Package{} // SPDXID -> module package, deduplicated across binaries
	var mainID, mainPath string
	digests := make([]string, 0, len(binaries))

	for _, b := range binaries {
		bi, err := buildinfo.ReadFile(b.Path)
		if err != nil {
			return nil, fmt.Errorf("sbom: build information of %s: %w", b.Path, err)
		}
		if goos, goarch := setting(bi.Settings, "GOOS"), setting(bi.Settings, "GOARCH"); goos != b.GOOS || goarch != b.GOARCH {
			return nil, fmt.Errorf("sbom: %s was built for %s/%s, not %s/%s", b.Path, goos, goarch, b.GOOS, b.GOARCH)
		}
		if mainPath == "" {
			mainPath = bi.Main.Path
		} else if bi.Main.Path != mainPath {
			return nil, fmt.Errorf("sbom: %s belongs to module %s, the others to %s", b.Path, bi.Main.Path, mainPath)
		}
		sum, err := checksums.File(b.Path)
		if err != nil {
			return nil, fmt.Errorf("sbom: %w", err)
		}
		digests = append(digests, sum)

		// One platform's archive holds several binaries (mailshift and kubectl-mailshift): each its own package.
		binID := ids.get("Binary-" + lastElem(bi.Path) + "-" + b.GOOS + "-" + b.GOARCH)
		pkgs = append(pkgs, Package{
			SPDXID:                binID,
			Name:                  lastElem(bi.Path),
			VersionInfo:           opts.Version,
			PackageFileName:       b.FileName,
			DownloadLocation:      orNoAssertion(b.DownloadLocation),
			Checksums:             []Checksum{{Algorithm: "SHA256", Value: sum}},
			LicenseConcluded:      opts.License,
			LicenseDeclared:       opts.License,
			CopyrightText:         noAssertion,
			PrimaryPackagePurpose: "APPLICATION",
			Comment:               fmt.Sprintf("%s built for %s/%s with %s", bi.Path, b.GOOS, b.GOARCH, bi.GoVersion),
			ExternalRefs: []ExternalRef{purlRef(purl(bi.Path, opts.Version,
				"goarch="+url.QueryEscape(b.GOARCH)+"&goos="+url.QueryEscape(b.GOOS)))},
		})
		rels = append(rels, Relationship{"SPDXRef-DOCUMENT", "DESCRIBES", binID})

		mainVersion := bi.Main.Version
		if mainVersion == "" || mainVersion == "(devel)" {
			mainVersion = opts.Version
		}
		mainID = ids.get("Module-" + bi.Main.Path + "-" + mainVersion)
		mods[mainID] = Package{
			SPDXID:                mainID,
			Name:                  bi.Main.Path,
			VersionInfo:           mainVersion,
			DownloadLocation:      orNoAssertion(vcsLocation(opts.SourceRepo, mainVersion)),
			LicenseConcluded:      opts.License,
			LicenseDeclared:       opts.License,
			CopyrightText:         noAssertion,
			PrimaryPackagePurpose: "LIBRARY",
			ExternalRefs:          []ExternalRef{purlRef(purl(bi.Main.Path, mainVersion, ""))},
		}
		rels = append(rels, Relationship{binID, "CONTAINS", mainID})

		stdID := ids.get("Module-stdlib-" + bi.GoVersion)
		mods[stdID] = Package{
			SPDXID:                stdID,
			Name:                  "stdlib",
			VersionInfo:           bi.GoVersion,
			DownloadLocation:      "https://go.dev/dl/",
			LicenseConcluded:      noAssertion,
			LicenseDeclared:       "BSD-3-Clause",
			CopyrightText:         noAssertion,
			PrimaryPackagePurpose: "LIBRARY",
			Comment:               "the Go standard library and runtime linked into the binaries",
			// The form vulnerability scanners look up the standard library by: the version without "go".
			ExternalRefs: []ExternalRef{purlRef(purl("stdlib", strings.TrimPrefix(bi.GoVersion, "go"), ""))},
		}
		rels = append(rels, Relationship{binID, "CONTAINS", stdID})

		for _, dep := range bi.Deps {
			path, version, comment := dep.Path, dep.Version, ""
			if dep.Replace != nil {
				comment = "replaced by " + dep.Replace.Path + " " + dep.Replace.Version
				path, version = dep.Replace.Path, dep.Replace.Version
			}
			id := ids.get("Module-" + path + "-" + version)
			p := Package{
				SPDXID:                id,
				Name:                  path,
				VersionInfo:           version,
				DownloadLocation:      noAssertion,
				LicenseConcluded:      noAssertion,
				LicenseDeclared:       noAssertion,
				CopyrightText:         noAssertion,
				PrimaryPackagePurpose: "LIBRARY",
				Comment:               comment,
			}
			if version != "" {
				p.DownloadLocation = "https://proxy.golang.org/" + modEscape(path) + "/@v/" + modEscape(version) + ".zip"
				p.ExternalRefs = []ExternalRef{purlRef(purl(path, version, ""))}
			}
			mods[id] = p
			rels = append(rels, Relationship{binID, "CONTAINS", id})
		}
	}
	for id, p := range mods {
		pkgs = append(pkgs, p)
		if id != mainID && p.Name != "stdlib" {
			rels = append(rels, Relationship{mainID, "DEPENDS_ON", id})
		}
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].SPDXID < pkgs[j].SPDXID })
	sort.Slice(rels, func(i, j int) bool {
		a, b := rels[i], rels[j]
		if a.Element != b.Element {
			return a.Element < b.Element
		}
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.Related < b.Related
	})
	rels = dedupe(rels)

	sort.Strings(digests)
	h := sha256.Sum256([]byte(opts.Version + "\n" + strings.Join(digests, "\n")))
	return &Document{
		SPDXVersion:       "SPDX-2.3",
		DataLicense:       "CC0-1.0",
		SPDXID:            "SPDXRef-DOCUMENT",
		Name:              opts.Name,
		DocumentNamespace: strings.TrimSuffix(opts.NamespaceBase, "/") + "/" + opts.Name + "-" + hex.EncodeToString(h[:16]),
		CreationInfo: CreationInfo{
			Created:  opts.Created.UTC().Format(time.RFC3339),
			Creators: []string{opts.Creator},
		},
		Packages:      pkgs,
		Relationships: rels,
	}, nil
}

// JSON is the document as written to the release, indented for people who read it.
func (d *Document) JSON() ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // purl qualifiers keep their "&"
	enc.SetIndent("", "  ")
	if err := enc.Encode(d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func setting(settings []debug.BuildSetting, key string) string {
	for _, s := range settings {
		if s.Key == key {
			return s.Value
		}
	}
	return ""
}

func lastElem(path string) string { return path[strings.LastIndex(path, "/")+1:] }

func orNoAssertion(s string) string {
	if s == "" {
		return noAssertion
	}
	return s
}

func vcsLocation(repo, version string) string {
	if repo == "" {
		return ""
	}
	return "git+" + strings.TrimSuffix(repo, "/") + ".git@" + version
}

func purlRef(locator string) ExternalRef {
	return ExternalRef{Category: "PACKAGE-MANAGER", Type: "purl", Locator: locator}
}

// purl is a Package URL of type golang (https://github.com/package-url/purl-spec): the module or package
// path as namespace/name with each segment percent-encoded, the version percent-encoded ("+incompatible"
// becomes "%2Bincompatible"), qualifiers already encoded and sorted by the caller.
func purl(path, version, qualifiers string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		segs[i] = purlEscape(s)
	}
	p := "pkg:golang/" + strings.Join(segs, "/")
	if version != "" {
		p += "@" + purlEscape(version)
	}
	if qualifiers != "" {
		p += "?" + qualifiers
	}
	return p
}

func purlEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte(".-_~", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// modEscape is the module proxy's case encoding: an upper-case letter becomes "!" and the lower-case letter.
func modEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('!')
			b.WriteRune(r + 'a' - 'A')
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

func dedupe(rels []Relationship) []Relationship {
	out := rels[:0]
	for i, r := range rels {
		if i == 0 || r != rels[i-1] {
			out = append(out, r)
		}
	}
	return out
}

// ids turns names into SPDX identifiers ("SPDXRef-" followed by letters, digits, "." and "-"), giving the
// same name the same identifier and two names that read alike after the replacement different ones.
type ids struct {
	byName map[string]string
	taken  map[string]string
}

func newIDs() *ids { return &ids{byName: map[string]string{}, taken: map[string]string{}} }

var notIDChar = regexp.MustCompile(`[^A-Za-z0-9.-]+`)

func (x *ids) get(name string) string {
	if id, ok := x.byName[name]; ok {
		return id
	}
	id := "SPDXRef-" + notIDChar.ReplaceAllString(name, "-")
	if other, ok := x.taken[id]; ok && other != name {
		h := sha256.Sum256([]byte(name))
		id += "-" + hex.EncodeToString(h[:4])
	}
	x.byName[name], x.taken[id] = id, name
	return id
}
