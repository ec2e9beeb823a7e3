package installer

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
)

// ReadTable reads a table of an MSI package with msiinfo (msitools): one map per row, from column name to
// value as msiinfo exports it. It is how the tests look into the packages Build writes.
func ReadTable(ctx context.Context, msi, table string) ([]map[string]string, error) {
	out, err := exec.CommandContext(ctx, "msiinfo", "export", msi, table).Output()
	if err != nil {
		return nil, fmt.Errorf("msiinfo export %s %s: %w", msi, table, err)
	}
	// The export is msidb's text format: column names, column types, the table name and its keys, then one
	// tab-separated line per row.
	lines := strings.Split(strings.TrimRight(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n"), "\n")
	if len(lines) < 3 {
		return nil, fmt.Errorf("msiinfo export %s %s: %d lines, not a table", msi, table, len(lines))
	}
	columns := strings.Split(lines[0], "\t")
	var rows []map[string]string
	for _, l := range lines[3:] {
		fields := strings.Split(l, "\t")
		if len(fields) != len(columns) {
			return nil, fmt.Errorf("msiinfo export %s %s: row %q has %d fields for %d columns", msi, table, l, len(fields), len(columns))
		}
		row := map[string]string{}
		for i, c := range columns {
			row[c] = fields[i]
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// Tables lists the tables of an MSI package (msiinfo tables).
func Tables(ctx context.Context, msi string) ([]string, error) {
	out, err := exec.CommandContext(ctx, "msiinfo", "tables", msi).Output()
	if err != nil {
		return nil, fmt.Errorf("msiinfo tables %s: %w", msi, err)
	}
	return strings.Fields(string(out)), nil
}
