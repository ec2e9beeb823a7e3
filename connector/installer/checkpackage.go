package installer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
)

// CheckPackage reads back the rows of a package Build wrote that say what it installs and how it upgrades
// (its version and codes, the DLL file and its SelfReg row, the registry value that keeps the install folder)
// and reports each that is not as Build writes it;
// the tests of the installer and of the release check their packages with it.
func CheckPackage(ctx context.Context, msi, version, arch string, dllSize int64) error {
	tables, err := Tables(ctx, msi)
	if err != nil {
		return err
	}
	var problems []error
	for _, want := range []string{"File", "Registry", "SelfReg", "Property", "Upgrade", "InstallExecuteSequence"} {
		if !slices.Contains(tables, want) {
			problems = append(problems, fmt.Errorf("%s has no %s table (tables: %v)", msi, want, tables))
		}
	}
	rows, err := ReadTable(ctx, msi, "Property")
	if err != nil {
		return err
	}
	props := map[string]string{}
	for _, r := range rows {
		props[r["Property"]] = r["Value"]
	}
	msiVersion, err := ProductVersion(version)
	if err != nil {
		return err
	}
	upgrade, err := UpgradeCode(arch)
	if err != nil {
		return err
	}
	product, err := ProductCode(arch, version)
	if err != nil {
		return err
	}
	for _, kv := range [][2]string{
		{"ProductVersion", msiVersion}, {"UpgradeCode", upgrade}, {"ProductCode", product}, {"ALLUSERS", "1"}, {"Manufacturer", "mailshift"},
	} {
		if props[kv[0]] != kv[1] {
			problems = append(problems, fmt.Errorf("%s: Property %s = %q, want %q", msi, kv[0], props[kv[0]], kv[1]))
		}
	}
	files, err := ReadTable(ctx, msi, "File")
	if err != nil {
		return err
	}
	if len(files) != 1 || files[0]["File"] != FileID || files[0]["FileName"] != "mailshift32.dll" ||
		files[0]["FileSize"] != strconv.FormatInt(dllSize, 10) {
		problems = append(problems, fmt.Errorf("%s: File rows %v, want %s: mailshift32.dll of %d bytes", msi, files, FileID, dllSize))
	}
	reg, err := ReadTable(ctx, msi, "Registry")
	if err != nil {
		return err
	}
	if len(reg) != 1 || reg[0]["Root"] != "2" || reg[0]["Key"] != RegistryKey || reg[0]["Name"] != "InstallFolder" ||
		reg[0]["Value"] != "[INSTALLFOLDER]" {
		problems = append(problems, fmt.Errorf("%s: Registry rows %v, want HKLM\\%s InstallFolder = [INSTALLFOLDER]", msi, reg, RegistryKey))
	}
	selfReg, err := ReadTable(ctx, msi, "SelfReg")
	if err != nil {
		return err
	}
	if len(selfReg) != 1 || selfReg[0]["File_"] != FileID {
		problems = append(problems, fmt.Errorf("%s: SelfReg rows %v, want %s", msi, selfReg, FileID))
	}
	return errors.Join(problems...)
}
