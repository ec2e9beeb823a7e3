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
	"runtime/debug"
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
  mailshift pst inspect FILE [-o json] [--codepage N]
      Print the folder tree of the PST with the number of items of each message class and of hidden
      folder-associated (FAI) items. -o json (--output json, or the older --json) prints
      {"codePage":{"codePage":932,"source":"messages","detail":"..."},
      "folders":[{"path":"Inbox/Sub","items":{"IPM.Note":3},"fai":2}]} with paths "/"-separated below the
      top of the PST ("" is the top itself), folders in depth-first order. codePage says which code page decodes
      the file's 8-bit names and why: explicit (--codepage), store, folders, messages (their code page and
      locale properties), bytes (guessed: the names are not plausible Windows-1252) or default (1252).
  mailshift pst export FILE --to DIR [--format eml|mbox] [--groupware kolab3|ical|kolab2] [--force]
                        [--codepage N] [--jobs N] [-o json]
      Write every normal item as an RFC 5322 message: DIR/<folder path>/<n>.eml, or one mbox per folder,
      DIR/<folder path>/folder.mbox. Mail keeps its headers, bodies (RTF decompressed) and attachments;
      calendar items, contacts, lists, tasks, notes and journal entries become groupware objects: Kolab v3
      (default), plain iCalendar/vCard (ical) or Kolab v2 XML (kolab2). What could not be carried over
      exactly is reported as a warning on stderr. Files are synced to disk once, at the end; an item that
      fails leaves no file, and an export that fails or is cut short is rerun whole, with --force (which
      replaces each existing file atomically); existing files are refused unless --force. --jobs N: items
      (eml) or folders (mbox) exported in parallel (default: the number of CPUs). -o json prints the final
      summary as {"items":N,"folders":N,"dir":DIR,"warnings":N,"problems":N}.
  --codepage N: Windows code page of the 8-bit strings of an old (ANSI, Outlook 97-2002) file, e.g. 932 for
      Japanese. Not needed as a rule: the code page is found from the file's properties and bytes.

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

// describeOpenError says why path cannot be read as a PST, naming path once: the reader's own error often
// starts with the path too.
func describeOpenError(path string, err error) string {
	detail := strings.TrimPrefix(err.Error(), path+": ")
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Sprintf("%s: no such file", path)
	case pst.IsNotPST(err):
		return fmt.Sprintf("%s: not a PST file (%s)", path, detail)
	case pst.IsTruncated(err):
		return fmt.Sprintf("%s: the PST file is truncated (%s)", path, detail)
	case pst.IsCorrupt(err):
		return fmt.Sprintf("%s: the PST file is damaged (%s)", path, detail)
	}
	return fmt.Sprintf("%s: cannot read as a PST file: %s", path, detail)
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
	asJSON := fset.Bool("json", false, "print JSON (the same as --output json)")
	output := outputFlag(fset)
	codepage := fset.Int("codepage", 0, "code page of an old (ANSI) file's 8-bit strings; by default found from the file")
	fset.Usage = func() { fmt.Fprint(fset.Output(), pstUsageMessage) }
	var pos []string
	if code, stop := parseFlags(fset, stdout, stderr, func() (err error) { pos, err = parseInterspersed(fset, args); return err }); stop {
		return code
	}
	if *output == "json" {
		*asJSON = true
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
		cp, _ := f.CodePage()
		out := struct {
			CodePage pst.CodePageChoice `json:"codePage"`
			Folders  []inspectFolder    `json:"folders"`
		}{CodePage: cp, Folders: folders}
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "mailshift pst: %v\n", err)
			return pstExitFailure
		}
	} else {
		if s, err := f.Store(); err == nil {
			fmt.Fprintf(stdout, "Store: %s (%s, crypt %s", terminalSafe(s.DisplayName), f.NDB().Format(), f.NDB().Crypt())
			if s.PasswordCRC != 0 {
				fmt.Fprintf(stdout, ", password CRC %#08x", s.PasswordCRC)
			}
			fmt.Fprintln(stdout, ")")
		}
		if cp, err := f.CodePage(); err == nil && f.NDB().Format() == ndb.FormatANSI {
			// ANSI files store names in a code page; which one was used, and why, explains the names below.
			fmt.Fprintf(stdout, "Code page: %d (%s: %s)\n", cp.CodePage, cp.Source, cp.Detail)
		}
		for _, fo := range folders {
			name := terminalSafe(fo.name)
			if fo.Path == "" {
				name = "/ (" + name + ")"
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
	codepage := fset.Int("codepage", 0, "code page of an old (ANSI) file's 8-bit strings; by default found from the file")
	jobs := fset.Int("jobs", runtime.NumCPU(), "folders exported in parallel")
	gwFormat := fset.String("groupware", "kolab3", "format of groupware items: kolab3, ical or kolab2")
	output := outputFlag(fset)
	fset.Usage = func() { fmt.Fprint(fset.Output(), pstUsageMessage) }
	var pos []string
	if code, stop := parseFlags(fset, stdout, stderr, func() (err error) { pos, err = parseInterspersed(fset, args); return err }); stop {
		return code
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
	tuneExportGC()
	f, code := openPST(pos[0], *codepage, stderr)
	if f == nil {
		return code
	}
	defer f.Close()
	conv, err := convert.New(f, convert.Options{Format: gw, Addresses: convert.ScanAddresses(f)})
	if err != nil {
		fmt.Fprintf(stderr, "mailshift pst: %s\n", describeOpenError(pos[0], err))
		return pstExitNotPST
	}
	out, err := openExportOutput(*to, *force)
	if err != nil {
		fmt.Fprintf(stderr, "mailshift pst: %v\n", err)
		return pstExitFailure
	}
	defer out.close()
	ex := &exporter{f: f, conv: conv, dir: *to, mbox: *format == "mbox", out: out,
		jobs: max(1, *jobs), converting: make(chan struct{}, max(1, *jobs))}
	// Read the tree first, then export in parallel: a File is safe for concurrent use, and each folder's
	// items are numbered in contents-table order whatever the scheduling.
	var folders []*pst.Folder
	walkErr := f.Folders(func(fo *pst.Folder) error {
		folders = append(folders, fo)
		return nil
	})
	var listed []listedFolder
	for _, fo := range folders {
		if dir, nids := ex.openFolder(fo); len(nids) > 0 {
			listed = append(listed, listedFolder{fo: fo, dir: dir, nids: nids})
		}
	}
	ex.run(listed)
	if err := out.sync(); err != nil {
		ex.problem("the exported files may not be on disk: %v", err)
	}
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
	if *output == "json" {
		// The summary line as a document; warnings and problems are on stderr either way.
		sum := struct {
			Items    int    `json:"items"`
			Folders  int    `json:"folders"`
			Dir      string `json:"dir"`
			Warnings int    `json:"warnings"`
			Problems int    `json:"problems"`
		}{ex.items, ex.folders, ex.dir, len(ex.warnings), len(ex.problems)}
		if err := writeJSON(stdout, sum); err != nil || len(ex.problems) > 0 {
			return pstExitFailure
		}
		return pstExitOK
	}
	fmt.Fprintf(stdout, "exported %d items from %d folders to %s", ex.items, ex.folders, ex.dir)
	if len(ex.problems) > 0 {
		fmt.Fprintf(stdout, "; %d problems (listed on stderr)\n", len(ex.problems))
		return pstExitFailure
	}
	fmt.Fprintln(stdout)
	return pstExitOK
}

// exportMemoryLimit caps the heap of `mailshift pst export` when the collector is tuned by tuneExportGC.
const exportMemoryLimit = 256 << 20

// tuneExportGC lets an export's heap grow to five times what is live before a collection instead of twice,
// under a soft limit of exportMemoryLimit; GOGC or GOMEMLIMIT in the environment override it. What an
// export holds at once is small and bounded (one item per converter, mboxItemInMemory at most), but it
// allocates its size in garbage many times over, so with the default setting collecting that small heap
// is a fifth of the export's CPU time.
func tuneExportGC() {
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		debug.SetGCPercent(400)
		debug.SetMemoryLimit(exportMemoryLimit)
	}
}

type exporter struct {
	mu   sync.Mutex // guards items, folders, problems
	f    *pst.File
	conv *convert.Converter
	dir  string
	mbox bool
	out  *exportOutput
	jobs int // items converted at once by one mbox's writer
	// converting holds a token for every mbox item being converted, so that folders written at the same
	// time convert no more than --jobs items together.
	converting chan struct{}
	items      int
	folders    int
	listed     int // items of all folders listed so far (by one goroutine, before the export starts)
	problems   []string
	warnings   []string
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

// listedFolder is a folder whose items are listed and whose directory is made.
type listedFolder struct {
	fo   *pst.Folder
	dir  string
	nids []ndb.NID
}

// inlineItems is the size of an export (in items) done by one goroutine, without workers: most PSTs
// people export hold a few items, and for those handing work between threads costs more than it gains.
const inlineItems = 32

// exportWorkers is how many workers an export of items items in tasks tasks runs with --jobs jobs.
func exportWorkers(jobs, tasks, items int) int {
	if items <= inlineItems {
		return 1
	}
	return max(1, min(jobs, tasks))
}

// run exports the folders with up to ex.jobs workers, never more than there are tasks, and with none when
// the export is small. An mbox is written by one worker, in order, so each folder is a task; .eml files
// are independent, so each item is a task of its own (a PST often keeps most of its items in one folder).
// Tasks are made as the workers take them, so the memory they need does not grow with the item count.
func (ex *exporter) run(folders []listedFolder) {
	tasks := len(folders)
	if !ex.mbox {
		tasks = ex.listed
	}
	each := func(do func(task func())) {
		for _, lf := range folders {
			if ex.mbox {
				do(func() { ex.folderMbox(lf.fo, lf.nids, filepath.Join(lf.dir, "folder.mbox")) })
				continue
			}
			for i, nid := range lf.nids {
				do(func() { ex.emlItem(lf.fo.Path, lf.dir, i+1, nid) })
			}
		}
	}
	ex.runTasks(tasks, each)
}

// runTasks runs the tasks each makes, of which there are n, on workers sized by exportWorkers, or on this
// goroutine.
func (ex *exporter) runTasks(n int, each func(do func(task func()))) {
	workers := exportWorkers(ex.jobs, n, ex.listed)
	if ex.listed <= inlineItems {
		ex.jobs = 1 // a small export's mbox converts its items one by one too
	}
	if workers <= 1 {
		// One folder (or a small export) on this goroutine; an mbox still converts up to ex.jobs of its
		// items at once, so a PST that keeps everything in one folder uses every CPU it was given.
		each(func(task func()) { task() })
		return
	}
	work := make(chan func())
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for task := range work {
				task()
			}
		}()
	}
	each(func(task func()) { work <- task })
	close(work)
	wg.Wait()
}

// openFolder lists a folder's items and makes its directory when it has any.
func (ex *exporter) openFolder(fo *pst.Folder) (string, []ndb.NID) {
	nids, err := fo.MessageNIDs()
	if err != nil {
		ex.problem("%v", err)
	}
	ex.count(0, 1)
	if len(nids) == 0 {
		return "", nil
	}
	ex.listed += len(nids)
	dir := ex.folderDir(fo.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		ex.problem("folder %q: %v", fo.Path, err)
		return "", nil
	}
	return dir, nids
}

// emlItem writes item n of the folder at path as dir/<n>.eml.
func (ex *exporter) emlItem(path, dir string, n int, nid ndb.NID) {
	target := filepath.Join(dir, fmt.Sprintf("%d.eml", n))
	err := ex.out.write(target, func(w io.Writer) error {
		_, err := ex.convert(w, path, n, nid)
		return err
	})
	if err != nil {
		ex.problem("folder %q item %d (NID %#x): %v", path, n, uint32(nid), err)
		return
	}
	ex.count(1, 0)
}

func (ex *exporter) folderMbox(fo *pst.Folder, nids []ndb.NID, target string) {
	n := 0
	err := ex.out.write(target, func(w io.Writer) error {
		bw := bufio.NewWriterSize(w, 64<<10)
		appendItem := func(i int, sl *mboxSlot) error {
			if sl.err != nil {
				ex.problem("folder %q item %d (NID %#x): %v", fo.Path, i+1, uint32(nids[i]), sl.err)
				return nil
			}
			fmt.Fprintf(bw, "From mailshift@pst.invalid %s\n", sl.date.UTC().Format(time.ANSIC))
			if _, err := sl.file.WriteTo(bw); err != nil {
				return err
			}
			bw.WriteString("\n")
			n++
			return nil
		}
		if err := ex.mboxItems(fo.Path, nids, filepath.Dir(target), appendItem); err != nil {
			return err
		}
		return bw.Flush()
	})
	if err != nil {
		ex.problem("folder %q: %v", fo.Path, err)
		return
	}
	ex.count(n, 0)
}

// mboxItems converts the items of one folder and hands each to appendItem in order. Each message is
// converted into a buffer of its own first (memory up to mboxItemInMemory, then a scratch file in dir), so
// an item that fails halfway leaves no partial message in the mbox, and memory stays bounded. With
// ex.jobs > 1 up to ex.jobs items are converted at once and the next ones start while earlier ones are
// appended: a pipeline, not batches, so one large item does not hold the others up and appending overlaps
// converting.
func (ex *exporter) mboxItems(path string, nids []ndb.NID, dir string, appendItem func(int, *mboxSlot) error) error {
	newSlot := func() *mboxSlot {
		sb := &spillBuffer{dir: dir, limit: mboxItemInMemory}
		// A large buffer, reused for every item of the slot.
		return &mboxSlot{file: sb, buf: bufio.NewWriterSize(sb, 64<<10)}
	}
	if ex.jobs <= 1 || len(nids) <= 1 {
		sl := newSlot()
		defer sl.file.close()
		for i, nid := range nids {
			sl.date, sl.err = ex.mboxItem(sl.file, sl.buf, path, i+1, nid)
			if err := appendItem(i, sl); err != nil {
				return err
			}
		}
		return nil
	}
	// One slot more than there are converters, so the writer appends one while the others convert.
	slots := make([]*mboxSlot, min(ex.jobs+1, len(nids)))
	free := make(chan *mboxSlot, len(slots))
	for i := range slots {
		slots[i] = newSlot()
		free <- slots[i]
	}
	type pending struct {
		slot *mboxSlot
		done chan struct{}
	}
	queue := make(chan pending, len(slots))
	stop := make(chan struct{})
	var converters sync.WaitGroup
	go func() {
		defer close(queue)
		for i, nid := range nids {
			var sl *mboxSlot
			select {
			case sl = <-free:
			case <-stop:
				return
			}
			p := pending{slot: sl, done: make(chan struct{})}
			queue <- p // never blocks: there are as many places in the queue as slots
			converters.Add(1)
			go func() {
				defer converters.Done()
				defer close(p.done)
				ex.converting <- struct{}{} // folders written at the same time share the --jobs budget
				defer func() { <-ex.converting }()
				sl.date, sl.err = ex.mboxItem(sl.file, sl.buf, path, i+1, nid)
			}()
		}
	}()
	defer func() {
		close(stop)
		for range queue { // let the producer see stop, then wait for conversions still running
		}
		converters.Wait()
		for _, sl := range slots {
			sl.file.close()
		}
	}()
	i := 0
	for p := range queue {
		<-p.done
		if err := appendItem(i, p.slot); err != nil {
			return err
		}
		i++
		free <- p.slot
	}
	return nil
}

// mboxItemInMemory is how much of one mbox item is held in memory while it is converted; the rest goes to
// a scratch file. Nearly every message fits.
const mboxItemInMemory = 4 << 20

// mboxSlot is a buffer that one item at a time is converted into, and what came of it.
type mboxSlot struct {
	file *spillBuffer
	buf  *bufio.Writer
	date time.Time
	err  error
}

// mboxItem converts one item into scratch (emptied first) through its buffer bw in mbox form and returns
// its date for the "From " line.
func (ex *exporter) mboxItem(scratch *spillBuffer, bw *bufio.Writer, path string, n int, nid ndb.NID) (time.Time, error) {
	if err := scratch.reset(); err != nil {
		return time.Time{}, err
	}
	bw.Reset(scratch) // nothing of an item that failed before
	mw := &mboxrdWriter{w: bw}
	res, err := ex.convert(mw, path, n, nid)
	if err != nil {
		return time.Time{}, err
	}
	date := res.InternalDate
	if date.IsZero() {
		date = time.Unix(0, 0)
	}
	return date, mw.Close()
}

// writeAtomic writes target through a temporary file in the same directory, synced, then moves it into
// place. An existing target is refused unless force is set; without force the final step cannot replace a
// file that appeared meanwhile.
func writeAtomic(target string, force bool, write func(io.Writer) error) error {
	return placeAtomic(target, force, true, write)
}

// placeAtomic is writeAtomic with the sync of the file left to the caller when syncFile is false (an
// export syncs all its files at once at the end).
func placeAtomic(target string, force, syncFile bool, write func(io.Writer) error) (err error) {
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
	if syncFile {
		if err = fsyncFile(tmp); err != nil {
			return err
		}
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
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
