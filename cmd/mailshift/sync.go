package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/mailshift/mailshift/internal/atomicfile"
	"github.com/mailshift/mailshift/internal/imapconn"
	"github.com/mailshift/mailshift/internal/mailsync"
	"github.com/mailshift/mailshift/internal/syncstate"
)

const syncUsage = `Usage:
  mailshift sync --from imap://USER@HOST:PORT --to imap://USER@HOST:PORT --state DIR [flags]

Keeps the mail, calendars and contacts of two IMAP accounts in step: one-way (the target follows the
source; what the target's user changes in synced items is put back) or two-way (changes on either side go
to the other; flags are merged flag by flag). Messages are matched by Message-ID, groupware objects
(Kolab v3 and v2, iCalendar and vCard messages in folders with a Kolab folder-type) by their UID, so
nothing is copied twice, also after an interrupted cycle or a rebuilt folder (another UIDVALIDITY). A
changed object's new version replaces the old one on the other side. What each cycle found is kept in
--state DIR (one file per pair of accounts), so that a cycle reads only what changed. Without --folder
every folder of --items is synced: special folders paired by role (Sent with Sent, whatever each server
calls it), the default calendar and address book with the other side's.

Passwords come from --from-password-file / --to-password-file or MAILSHIFT_FROM_PASSWORD /
MAILSHIFT_TO_PASSWORD, tokens (--from-auth / --to-auth xoauth2|oauthbearer) from --from-token-file /
--to-token-file or MAILSHIFT_FROM_TOKEN / MAILSHIFT_TO_TOKEN, never from the command line.

Without --interval, one cycle, then exit: 0 in step, 1 some items or folders failed (listed; the next
cycle tries them again) or the cycle could not run, 2 bad usage, 3 another sync is using the same state.
With --interval, a cycle every interval (from the start of the one before) until interrupted; the exit code
is the last cycle's.

Flags:
`

func syncCmd(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sync", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fromSide := addSideFlags(fs, "from", "source", "source: imap://USER@HOST:PORT (imaps:// for implicit TLS)")
	toSide := addSideFlags(fs, "to", "target", "target: imap://USER@HOST:PORT (imaps:// for implicit TLS)")
	conn := addConnFlags(fs)
	stateDir := fs.String("state", "", "directory that keeps the sync's state between cycles (created if missing)")
	direction := fs.String("direction", "one-way", "one-way (the target follows the source) or two-way")
	deletions := fs.String("deletions", "ignore", "a deletion on one side: propagate (deleted on the other), ignore (kept there) or move-to-trash (moved to the other's trash)")
	conflicts := fs.String("conflicts", "keep-both", "an item changed on both sides, or deleted on one and changed on the other: source-wins, target-wins, newest (the higher SEQUENCE, then the later modification) or keep-both (the change wins; an object's other version is kept as a copy with a new UID)")
	items := fs.String("items", "mail,calendar,contacts", "what to sync without --folder, comma separated: mail, calendar, contacts, tasks, notes, journal")
	calendar := fs.String("calendar", "default", "where the source's default calendar goes: default (the target's default calendar) or separate:NAME (a calendar folder NAME of its own)")
	var folders stringList
	fs.Var(&folders, "folder", "sync this folder: SOURCE, or SOURCE=TARGET for another name on the target; repeatable (default: every mail folder)")
	parallel := fs.Int("parallel", 4, "changed folders brought in step at once against a distant server (a NOOP's round trip of 2 ms or more), each over a connection of its own to each side; a cycle that finds at most one folder changed uses one connection per side")
	interval := fs.Duration("interval", 0, "run a cycle every interval (e.g. 5m) until interrupted; 0: one cycle")
	reportFile := fs.String("report", "", "write the cycle's JSON report (per folder: what was done each way, conflicts, failed items) to FILE")
	fs.Usage = func() { fmt.Fprint(fs.Output(), syncUsage); fs.PrintDefaults() }
	if code, stop := parseFlags(fs, stdout, stderr, func() error { return fs.Parse(args) }); stop {
		return code
	}
	usageErr := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "mailshift sync: "+format+"\n", a...)
		return 2
	}
	if fs.NArg() > 0 {
		return usageErr("unexpected argument %q", fs.Arg(0))
	}
	if *fromSide.url == "" || *toSide.url == "" || *stateDir == "" {
		return usageErr("need --from, --to and --state (see mailshift sync -h)")
	}
	var o mailsync.Options
	var ok bool
	if o.Direction, ok = map[string]mailsync.Direction{"one-way": mailsync.OneWay, "two-way": mailsync.TwoWay}[*direction]; !ok {
		return usageErr("--direction must be one-way or two-way, not %q", *direction)
	}
	if o.Deletions, ok = map[string]mailsync.Deletions{"propagate": mailsync.DeletePropagate, "ignore": mailsync.DeleteIgnore, "move-to-trash": mailsync.DeleteMoveToTrash}[*deletions]; !ok {
		return usageErr("--deletions must be propagate, ignore or move-to-trash, not %q", *deletions)
	}
	if o.Conflicts, ok = map[string]mailsync.Conflicts{"keep-both": mailsync.KeepBoth, "source-wins": mailsync.SourceWins, "target-wins": mailsync.TargetWins, "newest": mailsync.Newest}[*conflicts]; !ok {
		return usageErr("--conflicts must be source-wins, target-wins, newest or keep-both, not %q", *conflicts)
	}
	if *parallel < 1 || *parallel > 32 {
		return usageErr("--parallel must be from 1 to 32, not %d", *parallel)
	}
	if *interval < 0 || (*interval > 0 && *interval < time.Second) {
		return usageErr("--interval must be at least 1s (or 0 for one cycle), not %v", *interval)
	}
	kinds, err := parseItems(*items)
	if err != nil {
		return usageErr("--items: %v", err)
	}
	var cal mailsync.Calendar
	switch name, ok := strings.CutPrefix(*calendar, "separate:"); {
	case *calendar == "default":
	case ok && strings.TrimSpace(name) != "" && !strings.ContainsAny(name, "\r\n\x00*%"):
		cal = mailsync.Calendar{Separate: true, Name: name}
	default:
		return usageErr("--calendar must be default or separate:NAME, not %q", *calendar)
	}
	var pairs []mailsync.FolderPair
	for _, f := range folders {
		src, dst, _ := strings.Cut(f, "=")
		if strings.TrimSpace(src) == "" || strings.ContainsAny(f, "\r\n\x00") {
			return usageErr("--folder %q: write SOURCE or SOURCE=TARGET", f)
		}
		pairs = append(pairs, mailsync.FolderPair{A: src, B: dst})
	}
	if !fromSide.isIMAP() {
		return usageErr("--from must be imap://USER@HOST:PORT or imaps://USER@HOST:PORT, not %q", *fromSide.url)
	}
	aEP, aCred, err := conn.resolve(fromSide)
	if err != nil {
		return usageErr("%v", err)
	}
	bEP, bCred, err := conn.resolve(toSide)
	if err != nil {
		return usageErr("%v", err)
	}
	statePath := filepath.Join(*stateDir, stateName(aEP, aCred, bEP, bCred))
	unlock, err := atomicfile.Lock(statePath)
	if le := (*atomicfile.LockedError)(nil); errors.As(err, &le) {
		fmt.Fprintf(stderr, "mailshift sync: the state of this pair of accounts is in use by %s; wait for that sync to end or stop it\n", le.Holder)
		return 3
	}
	if err != nil {
		fmt.Fprintf(stderr, "mailshift sync: state: %v\n", err)
		return 1
	}
	defer unlock()
	s := &mailsync.Sync{
		A: mailsync.Server{Endpoint: aEP, Credentials: aCred}, B: mailsync.Server{Endpoint: bEP, Credentials: bCred},
		Folders: pairs, Kinds: kinds, Calendar: cal, Options: o, State: syncstate.File{Path: statePath}, Parallel: *parallel,
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := 0
	for {
		started := time.Now()
		code = syncCycle(ctx, s, *reportFile, stdout, stderr)
		if *interval == 0 || ctx.Err() != nil {
			return code
		}
		next := started.Add(*interval)
		fmt.Fprintf(stdout, "next cycle at %s\n", next.Format(time.TimeOnly))
		select {
		case <-ctx.Done():
			return code
		case <-time.After(time.Until(next)):
		}
	}
}

// syncCycle runs one cycle, prints its summary, writes its report, and returns its exit code.
func syncCycle(ctx context.Context, s *mailsync.Sync, reportFile string, stdout, stderr io.Writer) int {
	fmt.Fprintf(stdout, "cycle at %s\n", time.Now().Format(time.TimeOnly))
	rep, err := s.Cycle(ctx)
	rep.Print(stdout)
	if reportFile != "" {
		b, jerr := json.MarshalIndent(rep, "", "  ")
		if jerr == nil {
			jerr = atomicfile.Write(reportFile, append(b, '\n'), 0o600)
		}
		if jerr != nil {
			fmt.Fprintf(stderr, "mailshift sync: report: %v\n", jerr)
			return 1
		}
	}
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(stderr, "mailshift sync: interrupted; the next cycle takes up what this one left")
		return 1
	case err != nil:
		fmt.Fprintf(stderr, "mailshift sync: %s: %v\n", imapconn.KindOf(err), err)
		return 1
	case !rep.InStep():
		return 1
	}
	return 0
}

// itemKinds are the --items words and the kinds of folders they name.
var itemKinds = map[string]string{"mail": mailsync.KindMail, "calendar": mailsync.KindEvent, "contacts": mailsync.KindContact,
	"tasks": mailsync.KindTask, "notes": mailsync.KindNote, "journal": mailsync.KindJournal}

// parseItems reads --items.
func parseItems(s string) ([]string, error) {
	var kinds []string
	for _, w := range strings.Split(s, ",") {
		k, ok := itemKinds[strings.ToLower(strings.TrimSpace(w))]
		if !ok {
			return nil, fmt.Errorf("%q is none of mail, calendar, contacts, tasks, notes, journal", strings.TrimSpace(w))
		}
		if !slices.Contains(kinds, k) {
			kinds = append(kinds, k)
		}
	}
	return kinds, nil
}

// stateName names the state file of a pair of accounts: a hash of both, so that each pair has its own.
func stateName(aEP imapconn.Endpoint, a imapconn.Credentials, bEP imapconn.Endpoint, b imapconn.Credentials) string {
	sum := sha256.Sum256([]byte(aEP.Address() + "\x00" + a.Login + "\x00" + bEP.Address() + "\x00" + b.Login))
	return "sync-" + hex.EncodeToString(sum[:8]) + ".state"
}
