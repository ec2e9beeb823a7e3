package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mailshift/mailshift/internal/convert"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/pst"
	"github.com/mailshift/mailshift/internal/pst/ndb"
)

// Exit codes of "mailshift pst".
const (
	pstExitOK       = 0
	pstExitFailure  = 1
	pstExitUsage    = 2
	pstExitNotPST   = 3
	pstUsageMessage = `Usage:
  mailshift pst inspect FILE [--json] [--codepage N]
      Print the folder tree of the PST with the number of items of each message class and of hidden
      folder-associated (FAI) items. --json prints {"folders":[{"path":"Inbox/Sub","items":{"IPM.Note":3},"fai":2}]}
      with paths "/"-separated below the top of the PST ("" is the top itself), folders in depth-first order.
  mailshift pst export FILE --to DIR [--format eml|mbox] [--groupware kolab3|ical|kolab2] [--force]
                        [--codepage N] [--jobs N]
      Write every normal item as an RFC 5322 message: DIR/<folder path>/<n>.eml, or one mbox per folder,
      DIR/<folder path>/folder.mbox. Mail keeps its headers, bodies (RTF decompressed) and attachments;
      calendar items, contacts, lists, tasks, notes and journal entries become groupware objects: Kolab v3
      (default), plain iCalendar/vCard (ical) or Kolab v2 XML (kolab2). What could not be carried over
      exactly is reported as a warning on stderr. Files are written atomically; existing files are refused
      unless --force. --jobs N folders are exported in parallel (default: the number of CPUs).
  --codepage N: Windows code page for ANSI strings of a file that records none (old Outlook 97-2002 files
      written on a non-Western Windows, e.g. 932 for Japanese); default 1252.

Exit codes:
  0  success
  1  failure: some folders or items could not be read or written (each is listed on stderr; the rest were
     still read or exported)
  2  bad usage
  3  FILE cannot be read as a PST: missing, unreadable, not a PST file, truncated or damaged beyond use
`
)

func pstCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, pstUsageMessage)
		return pstExitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, pstUsageMessage)
		return pstExitOK
	case "inspect":
		return pstInspect(args[1:], stdout, stderr)
	case "export":
		return pstExport(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "mailshift pst: unknown subcommand %q\n\n%s", args[0], pstUsageMessage)
	return pstExitUsage
}

// parseInterspersed parses flags that may come before or after the positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// openPST opens FILE and reads its store, so that every "cannot read this as a PST" problem shows here.
func openPST(path string, codepage int, stderr io.Writer) (*pst.File, int) {
	f, err := pst.OpenPath(path)
	if err == nil {
		f.DefaultCodePage = codepage
		_, err = f.Root()
		if err != nil {
			f.Close()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailshift pst: %s\n", describeOpenError(path, err))
		return nil, pstExitNotPST
	}
	return f, pstExitOK
}

func describeOpenError(path string, err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s: no such file", path)
	case pst.IsNotPST(err):
		return fmt.Sprintf("%s: not a PST file (%v)", path, err)
	case pst.IsTruncated(err):
		return fmt.Sprintf("%s: the PST file is truncated (%v)", path, err)
	case pst.IsCorrupt(err):
		return fmt.Sprintf("%s: the PST file is damaged (%v)", path, err)
	}
	return fmt.Sprintf("%s: cannot read as a PST file: %v", path, err)
}

type inspectFolder struct {
	Path  string         `json:"path"`
	Items map[string]int `json:"items"`
	FAI   int            `json:"fai"`

	name  string
	depth int
}

func pstInspect(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("mailshift pst inspect", flag.ContinueOnError)
	fset.SetOutput(stderr)
	asJSON := fset.Bool("json", false, "print JSON")
	codepage := fset.Int("codepage", 0, "code page of ANSI strings when the file records none")
	fset.Usage = func() { fmt.Fprint(stderr, pstUsageMessage) }
	pos, err := parseInterspersed(fset, args)
	if err != nil {
		return pstExitUsage
	}
	if len(pos) != 1 {
		fmt.Fprintf(stderr, "mailshift pst inspect: need exactly one FILE\n\n%s", pstUsageMessage)
		return pstExitUsage
	}
	f, code := openPST(pos[0], *codepage, stderr)
	if f == nil {
		return code
	}
	defer f.Close()
	folders, problems := inspectFolders(f)
	for _, p := range problems {
		fmt.Fprintf(stderr, "mailshift pst: %s\n", p)
	}
	if *asJSON {
		out := struct {
			Folders []inspectFolder `json:"folders"`
		}{Folders: folders}
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "mailshift pst: %v\n", err)
			return pstExitFailure
		}
	} else {
		if s, err := f.Store(); err == nil {
			fmt.Fprintf(stdout, "Store: %s (%s, crypt %s", s.DisplayName, f.NDB().Format(), f.NDB().Crypt())
			if s.PasswordCRC != 0 {
				fmt.Fprintf(stdout, ", password CRC %#08x", s.PasswordCRC)
			}
			fmt.Fprintln(stdout, ")")
		}
		for _, fo := range folders {
			name := fo.name
			if fo.Path == "" {
				name = "/ (" + fo.name + ")"
			}
			var parts []string
			classes := make([]string, 0, len(fo.Items))
			for c := range fo.Items {
				classes = append(classes, c)
			}
			sort.Strings(classes)
			for _, c := range classes {
				parts = append(parts, fmt.Sprintf("%s %d", c, fo.Items[c]))
			}
			if fo.FAI > 0 {
				parts = append(parts, fmt.Sprintf("FAI %d", fo.FAI))
			}
			line := strings.Repeat("  ", fo.depth) + name
			if len(parts) > 0 {
				line += "  [" + strings.Join(parts, ", ") + "]"
			}
			fmt.Fprintln(stdout, line)
		}
	}
	if len(problems) > 0 {
		return pstExitFailure
	}
	return pstExitOK
}

// inspectFolders counts the items of every folder by message class.
func inspectFolders(f *pst.File) ([]inspectFolder, []string) {
	var out []inspectFolder
	var problems []string
	err := f.Folders(func(fo *pst.Folder) error {
		inf := inspectFolder{Path: fo.Path, Items: map[string]int{}, name: fo.Name}
		if fo.Path != "" {
			inf.depth = strings.Count(fo.Path, "/") + 1
		}
		nids, err := fo.MessageNIDs()
		if err != nil {
			problems = append(problems, err.Error())
		}
		for _, nid := range nids {
			m, err := f.Message(nid)
			if err != nil {
				problems = append(problems, fmt.Sprintf("folder %q: %v", fo.Path, err))
				continue
			}
			inf.Items[m.Class]++
		}
		fai, err := fo.AssociatedNIDs()
		if err != nil {
			problems = append(problems, err.Error())
		}
		inf.FAI = len(fai)
		out = append(out, inf)
		return nil
	})
	if err != nil {
		var ie pst.ItemErrors
		if errors.As(err, &ie) {
			for _, e := range ie {
				problems = append(problems, e.Error())
			}
		} else {
			problems = append(problems, err.Error())
		}
	}
	return out, problems
}

func pstExport(args []string, stdout, stderr io.Writer) int {
	fset := flag.NewFlagSet("mailshift pst export", flag.ContinueOnError)
	fset.SetOutput(stderr)
	to := fset.String("to", "", "output directory (required)")
	format := fset.String("format", "eml", "eml (one file per item) or mbox (one file per folder)")
	force := fset.Bool("force", false, "replace files that already exist")
	codepage := fset.Int("codepage", 0, "code page of ANSI strings when the file records none")
	jobs := fset.Int("jobs", runtime.NumCPU(), "folders exported in parallel")
	gwFormat := fset.String("groupware", "kolab3", "format of groupware items: kolab3, ical or kolab2")
	fset.Usage = func() { fmt.Fprint(stderr, pstUsageMessage) }
	pos, err := parseInterspersed(fset, args)
	if err != nil {
		return pstExitUsage
	}
	if len(pos) != 1 || *to == "" || (*format != "eml" && *format != "mbox") {
		fmt.Fprintf(stderr, "mailshift pst export: need one FILE, --to DIR and --format eml or mbox\n\n%s", pstUsageMessage)
		return pstExitUsage
	}
	gw, ok := groupwareFormats[*gwFormat]
	if !ok {
		fmt.Fprintf(stderr, "mailshift pst export: --groupware must be kolab3, ical or kolab2, not %q\n\n%s", *gwFormat, pstUsageMessage)
		return pstExitUsage
	}
	f, code := openPST(pos[0], *codepage, stderr)
	if f == nil {
		return code
	}
	defer f.Close()
	conv, err := convert.New(f, convert.Options{Format: gw, Addresses: convert.ScanAddresses(f)})
	if err != nil {
		fmt.Fprintf(stderr, "mailshift pst: %s: %s\n", pos[0], describeOpenError(pos[0], err))
		return pstExitNotPST
	}
	if err := os.MkdirAll(*to, 0o755); err != nil {
		fmt.Fprintf(stderr, "mailshift pst: %v\n", err)
		return pstExitFailure
	}
	ex := &exporter{f: f, conv: conv, dir: *to, mbox: *format == "mbox", force: *force}
	// Read the tree first, then export folders in parallel: a File is safe for concurrent use, and each
	// folder's items are numbered in contents-table order whatever the scheduling.
	var folders []*pst.Folder
	walkErr := f.Folders(func(fo *pst.Folder) error {
		folders = append(folders, fo)
		return nil
	})
	work := make(chan *pst.Folder)
	var wg sync.WaitGroup
	for i := 0; i < max(1, min(*jobs, len(folders))); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for fo := range work {
				ex.folder(fo)
			}
		}()
	}
	for _, fo := range folders {
		work <- fo
	}
	close(work)
	wg.Wait()
	sort.Strings(ex.problems)
	if walkErr != nil {
		var ie pst.ItemErrors
		if errors.As(walkErr, &ie) {
			for _, e := range ie {
				ex.problems = append(ex.problems, e.Error())
			}
		} else {
			ex.problems = append(ex.problems, walkErr.Error())
		}
	}
	sort.Strings(ex.warnings)
	for _, w := range ex.warnings {
		fmt.Fprintf(stderr, "mailshift pst: warning: %s\n", w)
	}
	for _, p := range ex.problems {
		fmt.Fprintf(stderr, "mailshift pst: %s\n", p)
	}
	fmt.Fprintf(stdout, "exported %d items from %d folders to %s", ex.items, ex.folders, ex.dir)
	if len(ex.problems) > 0 {
		fmt.Fprintf(stdout, "; %d problems (listed on stderr)\n", len(ex.problems))
		return pstExitFailure
	}
	fmt.Fprintln(stdout)
	return pstExitOK
}

type exporter struct {
	mu       sync.Mutex // guards items, folders, problems
	f        *pst.File
	conv     *convert.Converter
	dir      string
	mbox     bool
	force    bool
	items    int
	folders  int
	problems []string
	warnings []string
}

var groupwareFormats = map[string]groupware.Format{"kolab3": groupware.FormatKolab3, "ical": groupware.FormatICal, "kolab2": groupware.FormatKolab2}

// convert writes one item and records its warnings, which name the item.
func (ex *exporter) convert(w io.Writer, path string, n int, nid ndb.NID) (*convert.Result, error) {
	m, err := ex.f.Message(nid)
	if err != nil {
		return nil, err
	}
	res, err := ex.conv.Convert(w, m)
	if err != nil {
		return nil, err
	}
	if len(res.Warnings) > 0 {
		ex.mu.Lock()
		for _, wn := range res.Warnings {
			ex.warnings = append(ex.warnings, fmt.Sprintf("folder %q item %d (NID %#x): %s", path, n, uint32(nid), wn))
		}
		ex.mu.Unlock()
	}
	return res, nil
}

// folderDir is the directory of a folder below the output directory. Each path element is made safe to use
// as a file name.
func (ex *exporter) folderDir(path string) string {
	if path == "" {
		return ex.dir
	}
	parts := strings.Split(path, "/")
	for i, p := range parts {
		parts[i] = safeName(p)
	}
	return filepath.Join(append([]string{ex.dir}, parts...)...)
}

func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '\\' {
			return '_'
		}
		return r
	}, s)
	switch s {
	case "", ".", "..":
		return strings.ReplaceAll(s, ".", "%2E") + "_"
	}
	return s
}

func (ex *exporter) problem(format string, args ...any) {
	ex.mu.Lock()
	ex.problems = append(ex.problems, fmt.Sprintf(format, args...))
	ex.mu.Unlock()
}

func (ex *exporter) count(items, folders int) {
	ex.mu.Lock()
	ex.items += items
	ex.folders += folders
	ex.mu.Unlock()
}

func (ex *exporter) folder(fo *pst.Folder) {
	nids, err := fo.MessageNIDs()
	if err != nil {
		ex.problem("%v", err)
	}
	ex.count(0, 1)
	if len(nids) == 0 {
		return
	}
	dir := ex.folderDir(fo.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		ex.problem("folder %q: %v", fo.Path, err)
		return
	}
	if ex.mbox {
		ex.folderMbox(fo, nids, filepath.Join(dir, "folder.mbox"))
		return
	}
	for i, nid := range nids {
		target := filepath.Join(dir, fmt.Sprintf("%d.eml", i+1))
		err := writeAtomic(target, ex.force, func(w io.Writer) error {
			_, err := ex.convert(w, fo.Path, i+1, nid)
			return err
		})
		if err != nil {
			ex.problem("folder %q item %d (NID %#x): %v", fo.Path, i+1, uint32(nid), err)
			continue
		}
		ex.count(1, 0)
	}
}

func (ex *exporter) folderMbox(fo *pst.Folder, nids []ndb.NID, target string) {
	n := 0
	err := writeAtomic(target, ex.force, func(w io.Writer) error {
		// Each message is converted into a scratch file first, so an item that fails halfway leaves no
		// partial message in the mbox, and memory stays bounded.
		scratch, err := os.CreateTemp(filepath.Dir(target), ".mbox-item-*")
		if err != nil {
			return err
		}
		defer os.Remove(scratch.Name())
		defer scratch.Close()
		bw := bufio.NewWriter(w)
		for i, nid := range nids {
			date, err := ex.mboxItem(scratch, fo.Path, i+1, nid)
			if err != nil {
				ex.problem("folder %q item %d (NID %#x): %v", fo.Path, i+1, uint32(nid), err)
				continue
			}
			fmt.Fprintf(bw, "From mailshift@pst.invalid %s\n", date.UTC().Format(time.ANSIC))
			if _, err := scratch.Seek(0, io.SeekStart); err != nil {
				return err
			}
			if _, err := io.Copy(bw, scratch); err != nil {
				return err
			}
			bw.WriteString("\n")
			n++
		}
		return bw.Flush()
	})
	if err != nil {
		ex.problem("folder %q: %v", fo.Path, err)
		return
	}
	ex.count(n, 0)
}

// mboxItem converts one item into scratch (emptied first) in mbox form and returns its date for the
// "From " line.
func (ex *exporter) mboxItem(scratch *os.File, path string, n int, nid ndb.NID) (time.Time, error) {
	if err := scratch.Truncate(0); err != nil {
		return time.Time{}, err
	}
	if _, err := scratch.Seek(0, io.SeekStart); err != nil {
		return time.Time{}, err
	}
	bw := bufio.NewWriter(scratch)
	mw := &mboxrdWriter{w: bw}
	res, err := ex.convert(mw, path, n, nid)
	if err != nil {
		return time.Time{}, err
	}
	date := res.InternalDate
	if date.IsZero() {
		date = time.Unix(0, 0)
	}
	if err := mw.Close(); err != nil {
		return date, err
	}
	return date, bw.Flush()
}

// mboxrdWriter writes a message into an mbox: CRLF becomes LF and lines starting with ">*From " get one more
// ">" (the mboxrd convention, reversible).
type mboxrdWriter struct {
	w    *bufio.Writer
	line []byte
}

func (m *mboxrdWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := strings.IndexByte(string(p), '\n')
		if i < 0 {
			m.line = append(m.line, p...)
			break
		}
		m.line = append(m.line, p[:i]...)
		if err := m.emit(); err != nil {
			return 0, err
		}
		p = p[i+1:]
	}
	return n, nil
}

func (m *mboxrdWriter) emit() error {
	l := m.line
	if len(l) > 0 && l[len(l)-1] == '\r' {
		l = l[:len(l)-1]
	}
	if strings.HasPrefix(strings.TrimLeft(string(l), ">"), "From ") {
		m.w.WriteByte('>')
	}
	m.w.Write(l)
	_, err := m.w.WriteString("\n")
	m.line = m.line[:0]
	return err
}

// Close writes a last line that had no line end.
func (m *mboxrdWriter) Close() error {
	if len(m.line) > 0 {
		return m.emit()
	}
	return nil
}

// writeAtomic writes target through a temporary file in the same directory, then moves it into place. An
// existing target is refused unless force is set; without force the final step cannot replace a file that
// appeared meanwhile.
func writeAtomic(target string, force bool, write func(io.Writer) error) (err error) {
	if !force {
		if _, err := os.Lstat(target); err == nil {
			return fmt.Errorf("%s already exists (use --force to replace it)", target)
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".tmp-*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err = write(tmp); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if force {
		return os.Rename(tmp.Name(), target)
	}
	if err = os.Link(tmp.Name(), target); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s already exists (use --force to replace it)", target)
		}
		return err
	}
	os.Remove(tmp.Name())
	return nil
}
