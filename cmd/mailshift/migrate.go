package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/mailshift/mailshift/internal/convert"
	"github.com/mailshift/mailshift/internal/foldermap"
	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/worker"
)

const migrateUsage = `Usage:
  mailshift migrate --from pst:FILE --to imap://USER@HOST:PORT [flags]
  mailshift migrate --from imap://USER@HOST:PORT --to imap://USER@HOST:PORT [flags]

Copies every folder and message of the source into the target account. A re-run copies nothing that is
already there; a run that was stopped resumes where it was (the checkpoint is kept in --checkpoint, by
default under $XDG_CACHE_HOME/mailshift/checkpoints/). Passwords come from --from-password-file /
--to-password-file or MAILSHIFT_FROM_PASSWORD / MAILSHIFT_TO_PASSWORD, never from the command line. Exchange
Online and Gmail take only OAuth2: --from-auth xoauth2|oauthbearer with --from-token-file (or
MAILSHIFT_FROM_TOKEN). Against an IMAP source a re-run is a delta pass: new messages are copied and flag
changes carried over.

Exit codes: 0 everything copied; 1 some items failed (listed in the summary and in --report) or the run
stopped (the message says why); 2 bad usage; 3 another run is using the same checkpoint (nothing was done).
With -o json the summary on stdout is the JSON report (the document --report writes) instead of the table.

Flags:
`

// migrateMemoryLimit is the default soft memory limit of `mailshift migrate`.
const migrateMemoryLimit = 80 << 20

// stringList is a repeatable flag.
type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

func migrate(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fromSide := addSideFlags(fs, "from", "source", "source: pst:FILE or imap://USER@HOST:PORT (imaps:// for implicit TLS)")
	toSide := addSideFlags(fs, "to", "target", "target: imap://USER@HOST:PORT (imaps:// for implicit TLS)")
	from, to := fromSide.url, toSide.url
	conn := addConnFlags(fs)
	reportFile := fs.String("report", "", "write the JSON report (every failed item with folder, identity and reason) to FILE")
	parallel := fs.Int("parallel", 4, "folders (or segments of large folders) copied at once, one connection each")
	keepOrder := fs.Bool("keep-order", false, "copy each folder over one connection in source order, so the target's UIDs follow it (large folders are then not cut into segments copied at once, which is slower)")
	checkpoint := fs.String("checkpoint", "", "checkpoint file (default: one per source and target in the user cache)")
	gwFormat := fs.String("groupware", "kolab3", "format of calendar, contact, task, note and journal items: kolab3, ical or kolab2")
	var include, exclude stringList
	fs.Var(&include, "include", "copy only folders matching this pattern (\"Inbox/**\"); repeatable")
	fs.Var(&exclude, "exclude", "leave out folders matching this pattern; repeatable")
	root := fs.String("root", "", "put the copied folders under this target folder")
	skipOutbox := fs.Bool("skip-outbox", false, "leave the Outbox's unsent messages out (reported as skipped); by default they are copied into Drafts as drafts, never sent")
	maxSize := fs.Int64("max-size", 0, "messages larger than this many bytes are not copied (see --too-big); the server's APPENDLIMIT applies too")
	tooBig := fs.String("too-big", "skip", "what a message over the size limit does: skip (reported, exit 0) or fail (reported, exit 1)")
	timeout := fs.Duration("timeout", 0, "give up after this long (0: no limit)")
	codepage := fs.Int("codepage", 0, "code page of an old (ANSI) PST's 8-bit strings, e.g. 932; by default found from the file's properties and bytes")
	output := outputFlag(fs)
	fs.Usage = func() { fmt.Fprint(fs.Output(), migrateUsage); fs.PrintDefaults() }
	if code, stop := parseFlags(fs, stdout, stderr, func() error { return fs.Parse(args) }); stop {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "mailshift migrate: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if *from == "" || *to == "" {
		return usageErr("need --from and --to (see mailshift migrate -h)")
	}
	if *tooBig != "skip" && *tooBig != "fail" {
		return usageErr("--too-big must be skip or fail, not %q", *tooBig)
	}
	if *parallel < 1 {
		return usageErr("--parallel must be at least 1 (connections at once), not %d", *parallel)
	}
	if *maxSize < 0 {
		return usageErr("--max-size must be 0 (no limit) or a number of bytes, not %d", *maxSize)
	}
	if *timeout < 0 {
		return usageErr("--timeout must be 0 (no limit) or a positive duration, not %v", *timeout)
	}
	format, ok := groupwareFormats[*gwFormat]
	if !ok {
		return usageErr("--groupware must be kolab3, ical or kolab2, not %q", *gwFormat)
	}
	tEP, cred, err := conn.resolve(toSide)
	if err != nil {
		return usageErr("%v", err)
	}

	var src worker.Source
	switch {
	case fromSide.isIMAP():
		fEP, fCred, err := conn.resolve(fromSide)
		if err != nil {
			return usageErr("%v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		is, err := worker.OpenIMAP(ctx, fEP, fCred)
		cancel()
		if err != nil {
			fmt.Fprintf(stderr, "mailshift migrate: source: %s: %v\n", imapconn.KindOf(err), err)
			return 1
		}
		src = is
	case strings.HasPrefix(*from, "pst:"):
		path := strings.TrimPrefix(*from, "pst:")
		ps, err := worker.OpenPST(path, *codepage, convert.Options{Format: format, Owner: groupware.Person{Email: cred.Login}})
		if err != nil {
			fmt.Fprintf(stderr, "mailshift migrate: %s\n", describeOpenError(path, err))
			return 1
		}
		src = ps
	default:
		return usageErr("--from must be pst:FILE or imap://USER@HOST:PORT, not %q", *from)
	}
	defer src.Close()

	cpPath := *checkpoint
	if cpPath == "" {
		cpPath = defaultCheckpointPath(src.Describe(), tEP.Address(), cred.Login)
	}
	job := worker.Job{
		Source:         src,
		Target:         worker.TargetSpec{Endpoint: tEP, Credentials: cred, Annotate: true},
		Rules:          foldermap.Rules{Include: include, Exclude: exclude, Root: *root, MigrateOutbox: !*skipOutbox},
		Parallel:       *parallel,
		KeepOrder:      *keepOrder,
		MaxMessageSize: *maxSize,
		FailOnTooBig:   *tooBig == "fail",
		Checkpoints:    worker.FileCheckpoint{Path: cpPath},
	}
	bar := newProgressPrinter(stderr)
	job.OnProgress = bar.print

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		// A migration streams: what it holds at once is bounded (batches, spools, prefetched bodies), but the
		// garbage between collections is not, and by default the heap may grow to twice what is live. A soft
		// limit makes the collector keep the process near what it needs; GOMEMLIMIT overrides it.
		debug.SetMemoryLimit(migrateMemoryLimit)
	}
	rep, runErr := worker.Run(ctx, job)
	if errors.Is(runErr, worker.ErrCheckpointInUse) {
		// Two runs on one checkpoint would each copy what the other is copying: the second does not start.
		fmt.Fprintf(stderr, "mailshift migrate: %v\n", runErr)
		return 3
	}
	bar.done()
	if *output == "json" {
		// The same document as --report: a script reads the totals and the failed items from stdout.
		if err := rep.WriteJSON(stdout); err != nil {
			fmt.Fprintf(stderr, "mailshift migrate: %v\n", err)
			return 1
		}
	} else {
		printSummary(stdout, rep)
	}
	if *reportFile != "" {
		if err := writeReport(*reportFile, rep); err != nil {
			fmt.Fprintf(stderr, "mailshift migrate: report: %v\n", err)
			return 1
		}
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "mailshift migrate: %s: %v\n", imapconn.KindOf(runErr), runErr)
		if errors.Is(runErr, context.Canceled) {
			fmt.Fprintln(stderr, "mailshift migrate: stopped; run the same command again to resume")
		}
		return 1
	}
	if rep.Totals.Failed > 0 {
		return 1
	}
	return 0
}

func tlsFlag(v string, allowPlain, implicit bool) (imapconn.TLSMode, error) {
	switch strings.ToLower(v) {
	case "", "starttls":
		if implicit {
			return imapconn.TLSImplicit, nil
		}
		return imapconn.TLSStartTLS, nil
	case "implicit":
		return imapconn.TLSImplicit, nil
	case "none":
		if !allowPlain {
			return "", errors.New("--tls none sends passwords in clear text; add --allow-plaintext to allow it")
		}
		return imapconn.TLSNone, nil
	}
	return "", fmt.Errorf("--tls must be starttls, implicit or none, not %q", v)
}

func defaultCheckpointPath(source, target, login string) string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, filepath.Base(source)+"-"+login+"@"+target)
	return filepath.Join(dir, "mailshift", "checkpoints", name+".json")
}

func writeReport(path string, rep *worker.Report) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if err := rep.WriteJSON(f); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, path)
}

// printSummary writes the final table: one row per folder and the totals, then the failed items.
func printSummary(w io.Writer, rep *worker.Report) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "folder\ttarget\titems\tcopied\tpresent\tfailed\tskipped\t")
	for _, f := range rep.Folders {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t\n", terminalSafe(f.Source), terminalSafe(f.Target), f.Items, f.Copied, f.Duplicates, f.Failed, f.Skipped)
	}
	t := rep.Totals
	fmt.Fprintf(tw, "total\t\t%d\t%d\t%d\t%d\t%d\t\n", t.Items, t.Copied, t.Duplicates, t.Failed, t.Skipped)
	tw.Flush()
	d := rep.Finished.Sub(rep.Started)
	rate := 0.0
	if d > 0 {
		rate = float64(t.Copied) / d.Seconds()
	}
	fmt.Fprintf(w, "%d messages (%s) copied in %s, %.0f msg/s; %d already there\n", t.Copied, humanBytes(t.Bytes), d.Round(time.Millisecond), rate, t.Duplicates)
	if t.Skipped > 0 {
		fmt.Fprintf(w, "%d messages not copied on purpose: the size policy, or another message under the same Message-ID on the target (listed below as not copied)\n", t.Skipped)
	}
	if t.OutboxToDrafts > 0 {
		fmt.Fprintf(w, "%d unsent messages of the Outbox are in Drafts, flagged \\Draft (not sent)\n", t.OutboxToDrafts)
	}
	if t.OutboxSkipped > 0 {
		fmt.Fprintf(w, "%d unsent messages of the Outbox skipped (--skip-outbox)\n", t.OutboxSkipped)
	}
	for _, f := range rep.Failed {
		fmt.Fprintf(w, "not copied: %s: %s: %s\n", terminalSafe(f.Folder), terminalSafe(f.Identity), terminalSafe(f.Reason))
	}
}

// progressPrinter shows progress as a bar that redraws itself on a terminal, and as plain lines elsewhere.
type progressPrinter struct {
	w    io.Writer
	tty  bool
	used bool
}

func newProgressPrinter(w io.Writer) *progressPrinter {
	p := &progressPrinter{w: w}
	if f, ok := w.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progressPrinter) print(pr worker.Progress) {
	done, total := pr.Done(), pr.ItemsTotal
	pct := 100.0
	if total > 0 {
		pct = 100 * float64(done) / float64(total)
	}
	eta := ""
	if pr.ETA > 0 {
		eta = " ETA " + pr.ETA.String()
	}
	line := fmt.Sprintf("%d/%d items (%.0f%%), %d copied, %d present, %d failed, %s, %.0f msg/s, folders %d/%d%s",
		done, total, pct, pr.Copied, pr.Duplicates, pr.Failed, humanBytes(pr.Bytes), pr.ItemsPerSecond, pr.FoldersDone, pr.FoldersTotal, eta)
	if !p.tty {
		fmt.Fprintln(p.w, "progress:", line)
		return
	}
	const width = 30
	filled := int(pct / 100 * width)
	fmt.Fprintf(p.w, "\r\x1b[K[%s%s] %s", strings.Repeat("#", filled), strings.Repeat(".", width-filled), line)
	p.used = true
}

func (p *progressPrinter) done() {
	if p.tty && p.used {
		fmt.Fprintln(p.w)
	}
}
