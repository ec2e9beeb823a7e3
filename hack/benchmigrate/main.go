// Command benchmigrate is the helper of hack/bench-migrate.sh and hack/bench-sync.sh: it writes the benchmark corpus, loads it
// into an IMAP account with pipelined APPENDs, empties accounts and counts what a migration left on them.
//
//	benchmigrate gen   -n N -out DIR [-corpus C]          corpus as DIR/cur/NNNNN (what appendlimit -maildir reads); prints bytes
//	benchmigrate load  -addr H:P -user U -pass P -n N [-corpus C]  the first N corpus messages into their folders, with flags and dates
//
// C is the corpus: mime (default; realistic sizes and MIME structures) or plain (short text/plain messages).
//
//	benchmigrate empty -addr H:P -user U -pass P          delete every folder but INBOX, expunge INBOX
//	benchmigrate count -addr H:P -user U -pass P [-n N]   messages per folder; with -n, fail unless they match the corpus
//	benchmigrate report FILE                              "items copied present failed skipped bytes" of a mailshift --report
//	benchmigrate ports K                                  K free loopback TCP ports
//	benchmigrate admin -addr H:P -user U -pass P CMD...   raw IMAP commands after LOGIN, each must answer OK
//	benchmigrate mutate -addr H:P -user U -pass P [-seed S -tag T -new N -flags N -delete N]  a user's changes
//	benchmigrate digest -addr H:P -user U -pass P         per folder: count and a hash of Message-IDs and system flags
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"bytes"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"github.com/mailshift/mailshift/internal/imapbulk"
	"github.com/mailshift/mailshift/internal/imapconn"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch cmd, args := os.Args[1], os.Args[2:]; cmd {
	case "gen":
		err = cmdGen(args)
	case "load":
		err = cmdLoad(args)
	case "empty":
		err = cmdEmpty(args)
	case "count":
		err = cmdCount(args)
	case "warm":
		err = cmdWarm(args)
	case "report":
		err = cmdReport(args)
	case "ports":
		err = cmdPorts(args)
	case "admin":
		err = cmdAdmin(args)
	case "mutate":
		err = cmdMutate(args)
	case "digest":
		err = cmdDigest(args)
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchmigrate %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: benchmigrate gen|load|empty|count|warm|report|ports|admin|mutate|digest ... (see the source)")
	os.Exit(2)
}

type account struct {
	addr, user, pass string
}

func accountFlags(fs *flag.FlagSet) *account {
	a := &account{}
	fs.StringVar(&a.addr, "addr", "127.0.0.1:143", "IMAP server host:port (plaintext)")
	fs.StringVar(&a.user, "user", "", "login")
	fs.StringVar(&a.pass, "pass", "", "password")
	return a
}

func (a *account) dial(ctx context.Context) (*imapbulk.Conn, error) {
	host, port, err := net.SplitHostPort(a.addr)
	if err != nil {
		return nil, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, err
	}
	ep := imapconn.Endpoint{Host: host, Port: p, TLS: imapconn.TLSNone}
	return imapbulk.Dial(ctx, ep, imapconn.Credentials{Login: a.user, Password: a.pass})
}

func cmdGen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	n := fs.Int("n", 5000, "messages")
	out := fs.String("out", "", "directory (messages go to DIR/cur)")
	kind := fs.String("corpus", string(MIME), "corpus: mime or plain")
	_ = fs.Parse(args) // ExitOnError: a bad flag exits
	if *out == "" {
		return errors.New("need -out")
	}
	c, err := ParseCorpus(*kind)
	if err != nil {
		return err
	}
	dir := filepath.Join(*out, "cur")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var total int64
	for i := 0; i < *n; i++ {
		it := Message(i, c)
		total += int64(len(it.Body))
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("%05d", i)), it.Body, 0o644); err != nil {
			return err
		}
	}
	fmt.Println(total)
	return nil
}

// cmdLoad appends the first n corpus messages, one connection per folder (parallelism pays per folder on
// Dovecot), each with its folder SELECTed and a window of pipelined LITERAL+ APPENDs.
func cmdLoad(args []string) error {
	fs := flag.NewFlagSet("load", flag.ExitOnError)
	a := accountFlags(fs)
	n := fs.Int("n", 5000, "messages")
	kind := fs.String("corpus", string(MIME), "corpus: mime or plain")
	_ = fs.Parse(args) // ExitOnError: a bad flag exits
	c, err := ParseCorpus(*kind)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()

	queues := map[string]chan Item{}
	for _, f := range folders {
		queues[f.Name] = make(chan Item, 64)
	}
	start := time.Now()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		stored   int
	)
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
			cancel()
		}
		mu.Unlock()
	}
	for _, f := range folders {
		wg.Add(1)
		go func(name string, q chan Item) {
			defer wg.Done()
			defer func() {
				for range q { // keep the producer going after a failure
				}
			}()
			c, err := a.dial(ctx)
			if err != nil {
				fail(err)
				return
			}
			defer c.Close()
			c.SetAppendOptions(imapbulk.AppendOptions{Window: 64})
			if name != "INBOX" {
				if err := c.Create(ctx, name, ""); err != nil {
					fail(err)
					return
				}
			}
			if _, err := c.Select(ctx, name, false); err != nil {
				fail(err)
				return
			}
			const batch = 200
			var msgs []imapbulk.Message
			flush := func() bool {
				if len(msgs) == 0 {
					return true
				}
				res, err := c.Append(ctx, name, msgs)
				if err != nil {
					fail(fmt.Errorf("%s: %w", name, err))
					return false
				}
				for _, r := range res {
					if r.Err != nil {
						fail(fmt.Errorf("%s: %w", name, r.Err))
						return false
					}
				}
				mu.Lock()
				stored += len(msgs)
				mu.Unlock()
				msgs = msgs[:0]
				return true
			}
			for it := range q {
				msgs = append(msgs, imapbulk.Message{Flags: it.Flags, Date: it.Date, Size: int64(len(it.Body)), Body: bytes.NewReader(it.Body)})
				if len(msgs) == batch && !flush() {
					return
				}
			}
			if flush() {
				_ = c.Logout(ctx) // the batch is in; a failed LOGOUT changes nothing measured
			}
		}(f.Name, queues[f.Name])
	}
	var total int64
	for i := 0; i < *n; i++ {
		it := Message(i, c)
		total += int64(len(it.Body))
		queues[it.Folder] <- it
	}
	for _, q := range queues {
		close(q)
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	el := time.Since(start).Seconds()
	fmt.Fprintf(os.Stderr, "benchmigrate load: %d messages (%.1f MiB) into %s@%s in %.1fs (%.0f msg/s)\n",
		stored, float64(total)/(1<<20), a.user, a.addr, el, float64(stored)/el)
	return nil
}

// personal lists the account's own folders (not the shared namespace).
func personal(ctx context.Context, c *imapbulk.Conn) ([]imapconn.Folder, error) {
	all, err := c.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []imapconn.Folder
	for _, f := range all {
		if f.Name == "shared" || strings.HasPrefix(f.Name, "shared/") {
			continue
		}
		out = append(out, f)
	}
	return out, nil
}

// session is an account opened by a subcommand: its connection and its personal folders.
type session struct {
	ctx    context.Context
	cancel context.CancelFunc
	a      *account
	c      *imapbulk.Conn
	list   []imapconn.Folder
}

// open parses the account flags (fs may carry more), logs in and lists the personal folders.
func open(fs *flag.FlagSet, args []string, timeout time.Duration) (*session, error) {
	a := accountFlags(fs)
	_ = fs.Parse(args) // ExitOnError: a bad flag exits
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	c, err := a.dial(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	list, err := personal(ctx, c)
	if err != nil {
		c.Close()
		cancel()
		return nil, err
	}
	return &session{ctx: ctx, cancel: cancel, a: a, c: c, list: list}, nil
}

func (s *session) close() {
	s.c.Close()
	s.cancel()
}

func cmdEmpty(args []string) error {
	s, err := open(flag.NewFlagSet("empty", flag.ExitOnError), args, 10*time.Minute)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, a, c, list := s.ctx, s.a, s.c, s.list
	// Children before parents: reverse name order.
	for i := len(list) - 1; i >= 0; i-- {
		f := list[i]
		if strings.EqualFold(f.Name, "INBOX") {
			continue
		}
		if err := c.Delete(ctx, f.Name); err != nil && f.Selectable() {
			return err
		}
	}
	if err := expungeInbox(a); err != nil {
		return err
	}
	left, err := personal(ctx, c)
	if err != nil {
		return err
	}
	for _, f := range left {
		if !f.Selectable() {
			continue
		}
		st, err := c.Status(ctx, f.Name)
		if err != nil {
			return err
		}
		if !strings.EqualFold(f.Name, "INBOX") || st.Exists != 0 {
			return fmt.Errorf("%s still has %q with %d messages", a.user, f.Name, st.Exists)
		}
	}
	return c.Logout(ctx)
}

// expungeInbox removes every message of INBOX (imapbulk has no EXPUNGE; go-imap's client does).
func expungeInbox(a *account) error {
	c, err := imapclient.DialInsecure(a.addr, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(a.user, a.pass).Wait(); err != nil {
		return err
	}
	sel, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		return err
	}
	if sel.NumMessages > 0 {
		set := imap.SeqSet{}
		set.AddRange(1, 0) // 1:*
		if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}, nil).Close(); err != nil {
			return err
		}
		if err := c.Expunge().Close(); err != nil {
			return err
		}
	}
	return c.Logout().Wait()
}

func cmdCount(args []string) error {
	fs := flag.NewFlagSet("count", flag.ExitOnError)
	n := fs.Int("n", -1, "corpus size to check against (per folder)")
	s, err := open(fs, args, 5*time.Minute)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, c, list := s.ctx, s.c, s.list
	got := map[string]int{}
	total := 0
	for _, f := range list {
		if !f.Selectable() {
			continue
		}
		st, err := c.Status(ctx, f.Name)
		if err != nil {
			return err
		}
		if st.Exists > 0 {
			got[f.Name] = int(st.Exists)
		}
		total += int(st.Exists)
	}
	_ = c.Logout(ctx) // counted already
	fmt.Println(total)
	if *n < 0 {
		return nil
	}
	want := Expected(*n)
	var bad []string
	names := map[string]bool{}
	for k := range want {
		names[k] = true
	}
	for k := range got {
		names[k] = true
	}
	var sorted []string
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		if got[k] != want[k] {
			bad = append(bad, fmt.Sprintf("%s: %d, corpus %d", k, got[k], want[k]))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s@%s differs from the corpus: %s", s.a.user, s.a.addr, strings.Join(bad, "; "))
	}
	return nil
}

func cmdReport(args []string) error {
	if len(args) != 1 {
		return errors.New("need the report file")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var rep struct {
		Totals struct {
			Items, Copied, Duplicates, Failed, Skipped, Bytes int64
		} `json:"totals"`
		Folders []struct {
			Source      string `json:"source"`
			Concurrency []int  `json:"concurrency"`
		} `json:"folders"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		return err
	}
	t := rep.Totals
	fmt.Println(t.Items, t.Copied, t.Duplicates, t.Failed, t.Skipped, t.Bytes)
	// How many segments of each cut folder ran at once, as the run decided: on stderr, for the log.
	for _, f := range rep.Folders {
		if len(f.Concurrency) > 0 {
			levels := make([]string, len(f.Concurrency))
			for i, l := range f.Concurrency {
				levels[i] = strconv.Itoa(l)
			}
			fmt.Fprintf(os.Stderr, "benchmigrate report: %s: segments at once %s\n", f.Source, strings.Join(levels, " -> "))
		}
	}
	if rep.Error != "" {
		fmt.Fprintln(os.Stderr, "benchmigrate report: run error:", rep.Error)
	}
	return nil
}

func cmdPorts(args []string) error {
	k := 1
	if len(args) == 1 {
		var err error
		if k, err = strconv.Atoi(args[0]); err != nil {
			return err
		}
	}
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []string
	for len(ls) < k {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		ls = append(ls, l)
		ports = append(ports, strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	}
	fmt.Println(strings.Join(ports, " "))
	return nil
}

// cmdWarm reads every message of the account once (bodies included) and throws them away, so that the first
// timed pass does not pay for cold server caches the later ones find warm.
func cmdWarm(args []string) error {
	s, err := open(flag.NewFlagSet("warm", flag.ExitOnError), args, 10*time.Minute)
	if err != nil {
		return err
	}
	defer s.close()
	ctx, c, list := s.ctx, s.c, s.list
	for _, f := range list {
		if !f.Selectable() {
			continue
		}
		if _, err := c.Select(ctx, f.Name, true); err != nil {
			return err
		}
		ids, err := c.FetchIdentities(ctx, "1:*", 0)
		if err != nil {
			return err
		}
		uids := make([]uint32, len(ids))
		for i, m := range ids {
			uids[i] = m.UID
		}
		for start := 0; start < len(uids); start += 256 {
			err := c.FetchMessages(ctx, uids[start:min(start+256, len(uids))], func() io.Writer { return io.Discard },
				func(uint32, io.Writer, int64) error { return nil })
			if err != nil {
				return err
			}
		}
	}
	return c.Logout(ctx)
}
