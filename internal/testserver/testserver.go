// Package testserver starts throwaway real IMAP servers (Dovecot 2.3 and Cyrus 3.6) on 127.0.0.1 for tests.
//
// Each server runs from hack/dovecot.sh or hack/cyrus.sh in the test's temporary directory, on free ports,
// with a fresh throwaway CA and server certificate, the users alice, bob and carol, and the admin mailadmin,
// who can act as any user (SASL PLAIN with an authorization identity on both servers; on Dovecot also
// LOGIN "alice*mailadmin"). Missing packages are installed once per process with hack/install-deps.sh.
//
// When the servers cannot be installed or started the test fails; set MAILSHIFT_SKIP_SERVERS=1 to skip
// such tests instead.
package testserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// User is an account on a test server.
type User struct{ Login, Password, Address string }

// Server is a running test IMAP server.
type Server struct {
	Flavor  string          // "dovecot" or "cyrus"
	Layout  string          // "modern" or "legacy" for cyrus; "" for dovecot
	Host    string          // "127.0.0.1"
	Port    int             // plaintext + STARTTLS
	TLSPort int             // implicit TLS
	CAPEM   []byte          // PEM of the CA that signed the server cert
	Admin   User            // mailadmin
	Users   map[string]User // "alice","bob","carol"
	Dir     string

	root     string
	stopOnce *sync.Once // a pointer, so that copying a Server is harmless
	args     []string   // how it was started, for Restart
	env      []string
}

// Credentials shared with hack/lib-servers.sh.
var (
	adminUser = User{Login: "mailadmin", Password: "admin-secret-0", Address: "mailadmin@example.test"}
	users     = []User{
		{Login: "alice", Password: "alice-secret-1", Address: "alice@example.test"},
		{Login: "bob", Password: "bob-secret-2", Address: "bob@example.test"},
		{Login: "carol", Password: "carol-secret-3", Address: "carol@example.test"},
	}
)

const (
	skipEnv      = "MAILSHIFT_SKIP_SERVERS"
	startTimeout = 90 * time.Second
	stopTimeout  = 30 * time.Second
)

// Dovecot starts a fresh Dovecot in t.TempDir() on free ports and stops it when the test ends.
func Dovecot(t testing.TB) *Server {
	t.Helper()
	return start(t, "dovecot", "", Options{})
}

// Options are features a test server has only when a test asks for them.
type Options struct {
	// OAuth2IntrospectionURL, when set, makes Dovecot also offer SASL XOAUTH2 and OAUTHBEARER (RFC 7628):
	// its oauth2 passdb POSTs "token=<bearer token>" to this URL (RFC 7662 token introspection, as an
	// identity provider offers it) and logs the client in as the JSON response's "username" when its
	// "active" is true. The URL must be reachable from the server (http://127.0.0.1:PORT/...), typically an
	// httptest server standing in for the identity provider. Passwords keep working as without it.
	OAuth2IntrospectionURL string
	// OAuth2UsernameAttribute is the introspection answer's attribute that names the user ("username" when
	// empty; "sub" for Hydra's client-credentials tokens, whose subject is the client ID).
	OAuth2UsernameAttribute string
	// NoMetadata makes Dovecot offer no METADATA (RFC 5464), like servers configured without it.
	NoMetadata bool
	// Maildir makes Dovecot store mail in Maildir instead of sdbox.
	Maildir bool
}

// DovecotWith starts a fresh Dovecot like Dovecot, with the features opts asks for.
func DovecotWith(t testing.TB, opts Options) *Server {
	t.Helper()
	return start(t, "dovecot", "", opts)
}

// Cyrus starts a fresh Cyrus with layout "modern" (altnamespace, "/" separator) or "legacy" (personal
// prefix "INBOX.", "." separator) in t.TempDir() on free ports and stops it when the test ends.
func Cyrus(t testing.TB, layout string) *Server {
	t.Helper()
	if layout != "modern" && layout != "legacy" {
		t.Fatalf("testserver: Cyrus layout must be \"modern\" or \"legacy\", not %q", layout)
	}
	return start(t, "cyrus", layout, Options{})
}

// Addr returns "127.0.0.1:PORT" of the plaintext/STARTTLS listener.
func (s *Server) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// TLSAddr returns "127.0.0.1:TLSPORT" of the implicit TLS listener.
func (s *Server) TLSAddr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.TLSPort)) }

// Stop stops the server. It is idempotent and also runs at the end of the test.
func (s *Server) Stop() {
	s.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), stopTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(s.root, "hack", s.Flavor+".sh"), "stop", s.Dir)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "testserver: stopping %s in %s: %v\n%s", s.Flavor, s.Dir, err, out)
		}
	})
}

// Restart stops the server and starts it again on the same ports with the same data, as an administrator
// restarting it would: clients see their connections dropped and can log in again once it is back.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	stop := exec.CommandContext(ctx, "bash", filepath.Join(s.root, "hack", s.Flavor+".sh"), "stop", s.Dir)
	if out, err := stop.CombinedOutput(); err != nil {
		t.Fatalf("testserver: stopping %s for a restart: %v\n%s", s.Flavor, err, out)
	}
	start := exec.CommandContext(ctx, "bash", s.args...)
	start.Env = s.env
	start.WaitDelay = 5 * time.Second
	if out, err := start.CombinedOutput(); err != nil {
		t.Fatalf("testserver: restarting %s: %v\n%s", s.Flavor, err, out)
	}
}

// env is what the server script reads of opts (see hack/dovecot.sh).
// A server started without an option does not inherit it from this process's environment.
func (o Options) env(base []string) []string {
	const key, metaKey = "MAILSHIFT_OAUTH2_INTROSPECTION_URL=", "MAILSHIFT_DOVECOT_METADATA="
	const maildirKey, userAttrKey = "MAILSHIFT_DOVECOT_MAILDIR=", "MAILSHIFT_OAUTH2_USERNAME_ATTRIBUTE="
	out := slices.DeleteFunc(slices.Clone(base), func(kv string) bool {
		return strings.HasPrefix(kv, key) || strings.HasPrefix(kv, metaKey) || strings.HasPrefix(kv, maildirKey) || strings.HasPrefix(kv, userAttrKey)
	})
	if o.OAuth2IntrospectionURL != "" {
		out = append(out, key+o.OAuth2IntrospectionURL)
	}
	if o.OAuth2UsernameAttribute != "" {
		out = append(out, userAttrKey+o.OAuth2UsernameAttribute)
	}
	if o.NoMetadata {
		out = append(out, metaKey+"no")
	}
	if o.Maildir {
		out = append(out, maildirKey+"yes")
	}
	return out
}

func start(t testing.TB, flavor, layout string, opts Options) *Server {
	t.Helper()
	if os.Getenv(skipEnv) == "1" {
		t.Skipf("testserver: %s=1: not starting %s", skipEnv, flavor)
	}
	root, err := repoRoot()
	if err != nil {
		t.Fatalf("testserver: %v", err)
	}
	if err := ensureInstalled(root, flavor); err != nil {
		t.Fatalf("testserver: the IMAP test servers are not available: %v\n(set %s=1 to skip tests that need them)",
			err, skipEnv)
	}

	base := t.TempDir()
	var lastErr error
	for attempt := 1; attempt <= 5; attempt++ {
		ports, err := freePorts(2)
		if err != nil {
			t.Fatalf("testserver: %v", err)
		}
		s := &Server{
			Flavor: flavor, Layout: layout, Host: "127.0.0.1", Port: ports[0], TLSPort: ports[1],
			Admin: adminUser, Users: map[string]User{}, root: root, stopOnce: new(sync.Once),
			Dir: filepath.Join(base, fmt.Sprintf("%s%d", flavor, attempt)),
		}
		for _, u := range users {
			s.Users[u.Login] = u
		}
		args := []string{filepath.Join(root, "hack", flavor+".sh"), "start", s.Dir,
			strconv.Itoa(s.Port), strconv.Itoa(s.TLSPort)}
		if layout != "" {
			args = append(args, layout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		cmd := exec.CommandContext(ctx, "bash", args...)
		// The scripts stop the server by themselves if this process dies before the cleanup runs.
		cmd.Env = append(opts.env(os.Environ()), "MAILSHIFT_WATCH_PID="+strconv.Itoa(os.Getpid()))
		s.args, s.env = args, cmd.Env
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		cancel()
		if err == nil {
			t.Cleanup(s.Stop)
			if s.CAPEM, err = os.ReadFile(filepath.Join(s.Dir, "ca.pem")); err != nil {
				t.Fatalf("testserver: %v", err)
			}
			return s
		}
		s.Stop() // whatever half-started
		lastErr = fmt.Errorf("%s start: %v\n%s", flavor, err, bytes.TrimSpace(out))
		if !portClash(out) {
			break
		}
	}
	t.Fatalf("testserver: %v", lastErr)
	return nil
}

// portClash tells whether a failed start was due to a port taken between freePorts and the server's bind.
func portClash(out []byte) bool {
	s := string(out)
	return strings.Contains(s, "already in use") || strings.Contains(s, "Address in use")
}

// freePorts returns n distinct ports that were free on 127.0.0.1 a moment ago.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// repoRoot finds the repository from this file's location, falling back to walking up from the working
// directory to the go.mod that has hack/dovecot.sh beside it.
func repoRoot() (string, error) {
	var starts []string
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	for _, dir := range starts {
		for d := dir; ; d = filepath.Dir(d) {
			if isFile(filepath.Join(d, "go.mod")) && isFile(filepath.Join(d, "hack", "dovecot.sh")) {
				return d, nil
			}
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	return "", errors.New("cannot find the repository root (go.mod with hack/dovecot.sh)")
}

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir()
}

// requiredFiles lists what hack/<flavor>.sh needs; hack/install-deps.sh provides them.
func requiredFiles(root, flavor string) []string {
	if flavor == "dovecot" {
		return []string{"/usr/sbin/dovecot", "/usr/lib/dovecot/imap", "/usr/lib/dovecot/imap-login"}
	}
	cache := os.Getenv("MAILSHIFT_CACHE")
	if cache == "" {
		cache = filepath.Join(root, ".cache")
	}
	return []string{
		"/usr/lib/cyrus/bin/master",
		"/usr/lib/cyrus/bin/ctl_cyrusdb",
		"/usr/sbin/saslpasswd2",
		filepath.Join(cache, "cyrus-imapd", "usr", "lib", "cyrus", "bin", "imapd"),
	}
}

func missing(root, flavor string) []string {
	var m []string
	for _, f := range requiredFiles(root, flavor) {
		if !isFile(f) {
			m = append(m, f)
		}
	}
	cmds := []string{"bash", "openssl", "setsid", "timeout"}
	if os.Geteuid() == 0 {
		cmds = append(cmds, "unshare")
	}
	for _, c := range cmds {
		if _, err := exec.LookPath(c); err != nil {
			m = append(m, c)
		}
	}
	return m
}

var (
	installOnce sync.Once
	installErr  error
)

// ensureInstalled runs hack/install-deps.sh at most once per process, and only when something that flavor
// needs is missing.
func ensureInstalled(root, flavor string) error {
	if len(missing(root, flavor)) == 0 {
		return nil
	}
	installOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", filepath.Join(root, "hack", "install-deps.sh"))
		if out, err := cmd.CombinedOutput(); err != nil {
			installErr = fmt.Errorf("hack/install-deps.sh: %v\n%s", err, bytes.TrimSpace(out))
		}
	})
	if m := missing(root, flavor); len(m) > 0 {
		if installErr != nil {
			return installErr
		}
		return fmt.Errorf("still missing after hack/install-deps.sh: %s", strings.Join(m, ", "))
	}
	return nil
}
