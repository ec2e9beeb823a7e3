package testserver

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FTPOptions are the features of a test FTP server.
type FTPOptions struct {
	// TLS is the server's explicit TLS (AUTH TLS) policy:
	//   "none" or ""    not offered
	//   "allow"         offered, plaintext sessions accepted too
	//   "require"       a session must start TLS before it logs in
	//   "require-data"  as "require", and data connections must be protected too (PROT P)
	TLS string
}

// FTPServer is a running throwaway pure-ftpd (hack/pureftpd.sh).
//
// Its users are "publisher", whose directory tree (including /pub/calendar) is writable, and "reader",
// whose tree (including /pub/calendar) is readable but refuses every write with a real 550/553 from the
// kernel's permission check. Each is chrooted: "/" for a user is Homes[login] on disk.
type FTPServer struct {
	Host         string // "127.0.0.1"
	Port         int    // control connection
	PassivePorts [2]int // first and last passive data port; PASV/EPSV always answer 127.0.0.1
	TLS          string // as in FTPOptions, "none" when none was asked for
	CAFile       string // PEM file of the CA that signed the server certificate (SAN IP:127.0.0.1, localhost)
	CAPEM        []byte
	// Root is the publisher's "/" on disk: what it uploads to /pub/calendar/x lands in
	// Root/pub/calendar/x. It is Homes["publisher"].
	Root  string
	Homes map[string]string // login → the directory on disk the user sees as "/"
	Users map[string]User   // "publisher", "reader" (Address is empty)
	Dir   string

	root     string
	stopOnce *sync.Once
	args     []string
	env      []string
}

// Credentials shared with hack/pureftpd.sh.
var ftpUsers = []User{
	{Login: "publisher", Password: "publisher-secret-4"},
	{Login: "reader", Password: "reader-secret-5"},
}

// passivePorts is how many passive ports each server gets; pure-ftpd serves at most half as many
// concurrent sessions.
const passivePorts = 32

// PureFTPd starts a fresh pure-ftpd in t.TempDir() on free ports and stops it when the test ends.
//
// When the server cannot be installed or started the test fails; set MAILSHIFT_SKIP_SERVERS=1 to skip
// such tests instead.
func PureFTPd(t testing.TB, opts FTPOptions) *FTPServer {
	t.Helper()
	mode := opts.TLS
	if mode == "" {
		mode = "none"
	}
	switch mode {
	case "none", "allow", "require", "require-data":
	default:
		t.Fatalf("testserver: FTPOptions.TLS must be none, allow, require or require-data, not %q", opts.TLS)
	}
	if os.Getenv(skipEnv) == "1" {
		t.Skipf("testserver: %s=1: not starting pure-ftpd", skipEnv)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	if err := ensureFTPInstalled(root); err != nil {
		t.Fatalf("testserver: the FTP test server is not available: %v\n(set %s=1 to skip tests that need it)",
			err, skipEnv)
	}

	base := t.TempDir()
	var lastErr error
	for attempt := 1; attempt <= 5; attempt++ {
		ports, err := freePorts(1)
		if err != nil {
			t.Fatalf("testserver: %v", err)
		}
		first, err := FreePortRange(passivePorts)
		if err != nil {
			t.Fatalf("testserver: %v", err)
		}
		s := &FTPServer{
			Host: "127.0.0.1", Port: ports[0], PassivePorts: [2]int{first, first + passivePorts - 1}, TLS: mode,
			Homes: map[string]string{}, Users: map[string]User{}, root: root, stopOnce: new(sync.Once),
			Dir: filepath.Join(base, fmt.Sprintf("pureftpd%d", attempt)),
		}
		for _, u := range ftpUsers {
			s.Users[u.Login] = u
			s.Homes[u.Login] = filepath.Join(s.Dir, "ftp", u.Login)
		}
		s.Root = s.Homes["publisher"]
		s.CAFile = filepath.Join(s.Dir, "ca.pem")
		args := []string{filepath.Join(root, "hack", "pureftpd.sh"), "start", s.Dir, strconv.Itoa(s.Port),
			fmt.Sprintf("%d:%d", s.PassivePorts[0], s.PassivePorts[1]), mode}
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		cmd := exec.CommandContext(ctx, "bash", args...)
		// The script stops the server by itself if this process dies before the cleanup runs.
		cmd.Env = append(os.Environ(), "MAILSHIFT_WATCH_PID="+strconv.Itoa(os.Getpid()))
		s.args, s.env = args, cmd.Env
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil {
			t.Cleanup(s.Stop)
			if s.CAPEM, err = os.ReadFile(s.CAFile); err != nil {
				t.Fatalf("testserver: %v", err)
			}
			return s
		}
		s.Stop() // whatever half-started
		lastErr = fmt.Errorf("pure-ftpd start: %v\n%s", err, bytes.TrimSpace(out))
		if !portClash(out) {
			break
		}
	}
	t.Fatalf("testserver: %v", lastErr)
	return nil
}

// Addr returns "127.0.0.1:PORT" of the control connection.
func (s *FTPServer) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// CalendarDir returns where on disk the files a user sees in /pub/calendar are.
func (s *FTPServer) CalendarDir(login string) string {
	return filepath.Join(s.Homes[login], "pub", "calendar")
}

// Stop stops the server. It is idempotent and also runs at the end of the test.
func (s *FTPServer) Stop() {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(s.root, "hack", "pureftpd.sh"), "stop", s.Dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "testserver: stopping pure-ftpd in %s: %v\n%s", s.Dir, err, out)
		}
	})
}

// Restart stops the server and starts it again on the same ports with the same files, users and
// certificate, as an administrator restarting it would: open sessions are dropped.
func (s *FTPServer) Restart(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	stop := exec.CommandContext(ctx, "bash", filepath.Join(s.root, "hack", "pureftpd.sh"), "stop", s.Dir)
	if out, err := stop.CombinedOutput(); err != nil {
		t.Fatalf("testserver: stopping pure-ftpd for a restart: %v\n%s", err, out)
	}
	start := exec.CommandContext(ctx, "bash", s.args...)
	start.Env = s.env
	start.WaitDelay = 5 * time.Second
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("testserver: restarting pure-ftpd: %v\n%s", err, out)
	}
}

// FreePortRange returns the first of n consecutive ports that were all free on 127.0.0.1 a moment ago.
// Ranges are picked below Linux's default ephemeral range (32768-60999), so that outgoing connections of
// other tests are less likely to take them meanwhile; pure-ftpd skips a passive port it cannot bind anyway.
func FreePortRange(n int) (int, error) {
	const lo, hi = 10000, 32000
	for try := 0; try < 50; try++ {
		first := lo + rand.IntN(hi-lo-n)
		var ls []net.Listener
		ok := true
		for p := first; p < first+n; p++ {
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return first, nil
		}
	}
	return 0, fmt.Errorf("no %d consecutive free ports on 127.0.0.1 between %d and %d", n, lo, hi)
}

func ftpCache(root string) string {
	if c := os.Getenv("MAILSHIFT_CACHE"); c != "" {
		return c
	}
	return filepath.Join(root, ".cache")
}

// missingFTP lists what hack/pureftpd.sh needs and is not there; hack/install-deps.sh ftp provides it.
func missingFTP(root string) []string {
	var m []string
	for _, f := range []string{
		filepath.Join(ftpCache(root), "pure-ftpd", "usr", "sbin", "pure-ftpd"),
		filepath.Join(ftpCache(root), "pure-ftpd", "usr", "bin", "pure-pw"),
	} {
		if !isFile(f) {
			m = append(m, f)
		}
	}
	for _, c := range []string{"bash", "openssl", "setsid", "timeout", "unshare", "mkfifo"} {
		if _, err := exec.LookPath(c); err != nil {
			m = append(m, c)
		}
	}
	return m
}

var (
	ftpInstallOnce sync.Once
	ftpInstallErr  error
)

// ensureFTPInstalled runs `hack/install-deps.sh ftp` at most once per process, and only when something
// is missing.
func ensureFTPInstalled(root string) error {
	if len(missingFTP(root)) == 0 {
		return nil
	}
	ftpInstallOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "hack", "install-deps.sh"), "ftp")
		if out, err := cmd.CombinedOutput(); err != nil {
			ftpInstallErr = fmt.Errorf("hack/install-deps.sh ftp: %v\n%s", err, bytes.TrimSpace(out))
		}
	})
	if m := missingFTP(root); len(m) > 0 {
		if ftpInstallErr != nil {
			return ftpInstallErr
		}
		return fmt.Errorf("still missing after hack/install-deps.sh ftp: %s", strings.Join(m, ", "))
	}
	return nil
}
