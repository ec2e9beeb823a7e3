package ftppublish

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mailshift/mailshift/internal/testserver"
)

// target returns a Target for login on s; Explicit TLS trusting the server's CA unless mode is None.
func target(t *testing.T, s *testserver.FTPServer, login string, mode Mode) Target {
	t.Helper()
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM) {
		t.Fatalf("CAPEM holds no certificate")
	}
	u := s.Users[login]
	return Target{Host: s.Host, Port: s.Port, TLS: mode, RootCAs: pool, Username: u.Login, Password: u.Password,
		DialTimeout: 10 * time.Second}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// dirNames lists a directory on disk, hidden files included.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func tempFiles(t *testing.T, dir string) []string {
	t.Helper()
	return slices.DeleteFunc(dirNames(t, dir), func(n string) bool {
		return !(strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".tmp"))
	})
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func wantKind(t *testing.T, err error, kind string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %s", kind)
	}
	if KindOf(err) != kind {
		t.Fatalf("got kind %q (%v), want %s", KindOf(err), err, kind)
	}
}

// vfb is a free/busy body of about n bytes.
func vfb(tag string, n int) []byte {
	var b bytes.Buffer
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//mailshift test//EN\r\nBEGIN:VFREEBUSY\r\n")
	fmt.Fprintf(&b, "X-TAG:%s\r\n", tag)
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "FREEBUSY:20260101T%02d0000Z/PT30M\r\n", i%24)
	}
	b.WriteString("END:VFREEBUSY\r\nEND:VCALENDAR\r\n")
	return b.Bytes()
}

// TestPublishModes publishes, reads back, republishes and deletes in every server TLS policy, with every
// client mode the policy accepts.
func TestPublishModes(t *testing.T) {
	cases := []struct {
		server string
		client Mode
	}{
		{"none", None},
		{"allow", None},
		{"allow", Explicit},
		{"require", Explicit},
		{"require-data", Explicit},
	}
	for _, tc := range cases {
		t.Run(tc.server+"/"+string(tc.client), func(t *testing.T) {
			t.Parallel()
			s := testserver.PureFTPd(t, testserver.FTPOptions{TLS: tc.server})
			tg := target(t, s, "publisher", tc.client)
			ctx := ctxFor(t)
			dir := s.CalendarDir("publisher")
			onDisk := filepath.Join(dir, "alice.vfb")

			first := vfb("first", 3000)
			t0 := time.Now()
			if err := Publish(ctx, tg, "alice.vfb", first); err != nil {
				t.Fatalf("Publish: %v", err)
			}
			t.Logf("first publish took %v", time.Since(t0).Round(time.Millisecond))
			if got := readFile(t, onDisk); !bytes.Equal(got, first) {
				t.Fatalf("on disk %d bytes, want the %d published", len(got), len(first))
			}
			got, err := Fetch(ctx, tg, "alice.vfb")
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if !bytes.Equal(got, first) {
				t.Fatalf("Fetch returned %d bytes, want the %d published", len(got), len(first))
			}

			// Smaller than the first, so that a truncation problem would show.
			second := vfb("second", 200)
			if err := Publish(ctx, tg, "alice.vfb", second); err != nil {
				t.Fatalf("republish: %v", err)
			}
			if got := readFile(t, onDisk); !bytes.Equal(got, second) {
				t.Fatalf("after republish on disk %q, want %q", got, second)
			}
			if names := dirNames(t, dir); !slices.Equal(names, []string{"alice.vfb"}) {
				t.Fatalf("directory holds %q, want only alice.vfb (no temporary files)", names)
			}

			// An empty body is a transfer without a single write: TLS data connections must still work.
			if err := Publish(ctx, tg, "empty.vfb", nil); err != nil {
				t.Fatalf("publishing an empty file: %v", err)
			}
			if got := readFile(t, filepath.Join(dir, "empty.vfb")); len(got) != 0 {
				t.Fatalf("empty.vfb holds %d bytes", len(got))
			}

			if err := Delete(ctx, tg, "alice.vfb"); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := os.Stat(onDisk); !errors.Is(err, os.ErrNotExist) {
				t.Fatalf("after Delete: stat %v, want not exist", err)
			}
			if err := Delete(ctx, tg, "alice.vfb"); err != nil {
				t.Fatalf("Delete of a missing file: %v, want nil", err)
			}
			_, err = Fetch(ctx, tg, "alice.vfb")
			wantKind(t, err, KindNotFound)
		})
	}
}

func TestDirectoryCreated(t *testing.T) {
	t.Parallel()
	s := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "require"})
	ctx := ctxFor(t)
	for _, tc := range []struct{ dir, onDisk string }{
		{"/pub/calendar/team/room", "pub/calendar/team/room"},
		{"/freebusy", "freebusy"},
		{"relative/fb", "relative/fb"}, // relative to the login directory, "/" here
	} {
		tg := target(t, s, "publisher", Explicit)
		tg.Directory = tc.dir
		if err := Publish(ctx, tg, "carol.vfb", []byte("x")); err != nil {
			t.Fatalf("Publish into %s: %v", tc.dir, err)
		}
		if got := readFile(t, filepath.Join(s.Root, tc.onDisk, "carol.vfb")); string(got) != "x" {
			t.Fatalf("%s: on disk %q", tc.dir, got)
		}
		// A second publish finds the directory there.
		if err := Publish(ctx, tg, "carol.vfb", []byte("y")); err != nil {
			t.Fatalf("republish into %s: %v", tc.dir, err)
		}
	}
	// Delete and Fetch do not create directories.
	tg := target(t, s, "publisher", Explicit)
	tg.Directory = "/nowhere/at/all"
	if err := Delete(ctx, tg, "carol.vfb"); err != nil {
		t.Fatalf("Delete in a missing directory: %v, want nil", err)
	}
	_, err := Fetch(ctx, tg, "carol.vfb")
	wantKind(t, err, KindNotFound)
	if _, err := os.Stat(filepath.Join(s.Root, "nowhere")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Delete or Fetch created the directory: %v", err)
	}
}

// TestFailedUploadKeepsPrevious provokes refusals at each step and checks that the published file stays
// as it was and no temporary file is left.
func TestFailedUploadKeepsPrevious(t *testing.T) {
	t.Parallel()
	s := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "allow"})
	ctx := ctxFor(t)
	old := vfb("old", 500)

	t.Run("store refused", func(t *testing.T) {
		// reader's tree belongs to the server's root and refuses writes by the sessions (nobody).
		dir := s.CalendarDir("reader")
		if err := os.WriteFile(filepath.Join(dir, "bob.vfb"), old, 0o644); err != nil {
			t.Fatal(err)
		}
		tg := target(t, s, "reader", Explicit)
		err := Publish(ctx, tg, "bob.vfb", vfb("new", 800))
		wantKind(t, err, KindPermissionDenied)
		var tp *textproto.Error
		if !errors.As(err, &tp) || (tp.Code != 553 && tp.Code != 550) {
			t.Fatalf("want the server's 550/553 in the chain, got %v", err)
		}
		t.Logf("refused as expected: %v", err)
		if got := readFile(t, filepath.Join(dir, "bob.vfb")); !bytes.Equal(got, old) {
			t.Fatalf("the published file changed")
		}
		if tmp := tempFiles(t, dir); len(tmp) > 0 {
			t.Fatalf("temporary files left: %q", tmp)
		}
		// It can still be read, and not deleted.
		if got, err := Fetch(ctx, tg, "bob.vfb"); err != nil || !bytes.Equal(got, old) {
			t.Fatalf("Fetch as reader: %v", err)
		}
		wantKind(t, Delete(ctx, tg, "bob.vfb"), KindPermissionDenied)
		// Nor can it make directories.
		tg.Directory = "/pub/calendar/sub"
		wantKind(t, Publish(ctx, tg, "bob.vfb", old), KindPermissionDenied)
	})

	t.Run("directory made read-only", func(t *testing.T) {
		tg := target(t, s, "publisher", Explicit)
		tg.Directory = "/pub/ro"
		if err := Publish(ctx, tg, "dave.vfb", old); err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(s.Root, "pub", "ro")
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
		err := Publish(ctx, tg, "dave.vfb", vfb("new", 800))
		wantKind(t, err, KindPermissionDenied)
		if got := readFile(t, filepath.Join(dir, "dave.vfb")); !bytes.Equal(got, old) {
			t.Fatalf("the published file changed")
		}
		if tmp := tempFiles(t, dir); len(tmp) > 0 {
			t.Fatalf("temporary files left: %q", tmp)
		}
	})

	t.Run("rename refused", func(t *testing.T) {
		// In a sticky directory a session may create its temporary file but not replace a file that
		// belongs to someone else: the upload succeeds and RNTO fails.
		tg := target(t, s, "publisher", Explicit)
		tg.Directory = "/pub/sticky"
		dir := filepath.Join(s.Root, "pub", "sticky")
		if err := os.MkdirAll(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777|os.ModeSticky); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "erin.vfb"), old, 0o644); err != nil {
			t.Fatal(err)
		}
		err := Publish(ctx, tg, "erin.vfb", vfb("new", 800))
		wantKind(t, err, KindPermissionDenied)
		var e *Error
		if !errors.As(err, &e) || e.Op != "rename" {
			t.Fatalf("want the failure at rename, got %v", err)
		}
		if got := readFile(t, filepath.Join(dir, "erin.vfb")); !bytes.Equal(got, old) {
			t.Fatalf("the published file changed")
		}
		if tmp := tempFiles(t, dir); len(tmp) > 0 {
			t.Fatalf("temporary files left: %q", tmp)
		}
	})
}

func TestLoginErrors(t *testing.T) {
	t.Parallel()
	s := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "allow"})
	ctx := ctxFor(t)
	const secret = "Wr0ng-Pa55-zq9x"
	// pure-ftpd answers a failed login after a few seconds' delay: run them side by side.
	t.Run("group", func(t *testing.T) {
		for _, mode := range []Mode{None, Explicit} {
			t.Run("wrong password/"+string(mode), func(t *testing.T) {
				t.Parallel()
				tg := target(t, s, "publisher", mode)
				tg.Password = secret
				err := Publish(ctx, tg, "alice.vfb", []byte("x"))
				wantKind(t, err, KindFTPAuthFailed)
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the password is in the error: %v", err)
				}
				t.Logf("%v", err)
			})
			t.Run("unknown user/"+string(mode), func(t *testing.T) {
				t.Parallel()
				tg := target(t, s, "publisher", mode)
				tg.Username = "nobody-here"
				wantKind(t, Delete(ctx, tg, "alice.vfb"), KindFTPAuthFailed)
			})
		}
	})
	if n := len(dirNames(t, s.CalendarDir("publisher"))); n != 0 {
		t.Fatalf("%d files published without a login", n)
	}
}

func TestTLSMismatch(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	t.Run("none against required", func(t *testing.T) {
		t.Parallel()
		for _, policy := range []string{"require", "require-data"} {
			s := testserver.PureFTPd(t, testserver.FTPOptions{TLS: policy})
			tg := target(t, s, "publisher", None)
			err := Publish(ctx, tg, "alice.vfb", []byte("x"))
			wantKind(t, err, KindFTPAuthFailed)
			if !strings.Contains(err.Error(), "requires TLS") {
				t.Fatalf("the error does not say TLS is required: %v", err)
			}
			if strings.Contains(err.Error(), tg.Password) {
				t.Fatalf("the password is in the error: %v", err)
			}
			t.Logf("%s: %v", policy, err)
		}
	})
	t.Run("explicit against none", func(t *testing.T) {
		t.Parallel()
		s := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "none"})
		err := Publish(ctx, target(t, s, "publisher", Explicit), "alice.vfb", []byte("x"))
		wantKind(t, err, KindTLSFailed)
		t.Logf("%v", err)
	})
	t.Run("untrusted CA", func(t *testing.T) {
		t.Parallel()
		s := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "require"})
		for name, pool := range map[string]*x509.CertPool{"empty pool": x509.NewCertPool(), "system roots": nil} {
			tg := target(t, s, "publisher", Explicit)
			tg.RootCAs = pool
			err := Publish(ctx, tg, "alice.vfb", []byte("x"))
			wantKind(t, err, KindTLSFailed)
			if !strings.Contains(err.Error(), "certificate") {
				t.Fatalf("%s: the error does not mention the certificate: %v", name, err)
			}
			var verr *x509.UnknownAuthorityError
			if !errors.As(err, &verr) {
				t.Logf("%s: no x509.UnknownAuthorityError in the chain: %v", name, err)
			}
			t.Logf("%s: %v", name, err)
		}
		if n := len(dirNames(t, s.CalendarDir("publisher"))); n != 0 {
			t.Fatalf("%d files published over an unverified connection", n)
		}
	})
	t.Run("host by name", func(t *testing.T) {
		t.Parallel()
		// The certificate names 127.0.0.1 and localhost; the name is what gets verified.
		s := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "require"})
		tg := target(t, s, "publisher", Explicit)
		tg.Host = "localhost"
		if err := Publish(ctx, tg, "alice.vfb", []byte("x")); err != nil {
			t.Fatalf("Host localhost (named in the certificate): %v", err)
		}
	})
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	ctx := ctxFor(t)
	// A port nothing listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	t0 := time.Now()
	err = Publish(ctx, Target{Host: "127.0.0.1", Port: port, TLS: None, Username: "u", Password: "p"}, "a.vfb", nil)
	wantKind(t, err, KindUnreachable)
	t.Logf("closed port after %v: %v", time.Since(t0).Round(time.Millisecond), err)

	// A peer that accepts and never greets: the dial timeout covers the greeting too.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	tg := Target{Host: "127.0.0.1", Port: silent.Addr().(*net.TCPAddr).Port, TLS: None, Username: "u",
		Password: "p", DialTimeout: 300 * time.Millisecond}
	t0 = time.Now()
	err = Publish(ctx, tg, "a.vfb", nil)
	wantKind(t, err, KindUnreachable)
	if d := time.Since(t0); d > 3*time.Second {
		t.Fatalf("took %v with a 300ms dial timeout", d)
	}
	t.Logf("silent peer: %v", err)
}

// slowReader hands out body in chunks of chunk bytes, one per every interval. After free bytes it waits
// until release is closed (or stop, when it fails).
type slowReader struct {
	body     []byte
	chunk    int
	interval time.Duration
	free     int
	release  chan struct{}
	stop     chan struct{}
	held     chan struct{} // closed once it waits on release
	sent     int
}

func newSlowReader(body []byte, chunk int, interval time.Duration, free int) *slowReader {
	return &slowReader{body: body, chunk: chunk, interval: interval, free: free,
		release: make(chan struct{}), stop: make(chan struct{}), held: make(chan struct{})}
}

func (r *slowReader) Read(p []byte) (int, error) {
	if len(r.body) == 0 {
		return 0, io.EOF
	}
	if r.sent >= r.free && r.free >= 0 {
		select {
		case <-r.held:
		default:
			close(r.held)
		}
		select {
		case <-r.release:
		case <-r.stop:
			return 0, errors.New("slow reader stopped")
		}
	}
	if r.interval > 0 {
		time.Sleep(r.interval)
	}
	n := min(len(p), r.chunk, len(r.body))
	copy(p, r.body[:n])
	r.body = r.body[n:]
	r.sent += n
	return n, nil
}

// TestAtomicDuringUpload looks at the server's directory while an upload is half done: the published name
// still holds the old content, whole, and the new content grows under a temporary name.
func TestAtomicDuringUpload(t *testing.T) {
	t.Parallel()
	s := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "require-data"})
	tg := target(t, s, "publisher", Explicit)
	ctx := ctxFor(t)
	dir := s.CalendarDir("publisher")
	old := vfb("old", 4000)
	if err := Publish(ctx, tg, "frank.vfb", old); err != nil {
		t.Fatal(err)
	}
	body := vfb("new", 1<<20)
	r := newSlowReader(body, 64<<10, 0, 256<<10)
	defer close(r.stop)
	done := make(chan error, 1)
	go func() { done <- PublishFrom(ctx, tg, "frank.vfb", r) }()

	select {
	case <-r.held:
	case err := <-done:
		t.Fatalf("PublishFrom returned before the upload was held: %v", err)
	}
	// A quarter is out; wait until the server has written it.
	var tmp []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		tmp = tempFiles(t, dir)
		if len(tmp) == 1 {
			if fi, err := os.Stat(filepath.Join(dir, tmp[0])); err == nil && fi.Size() >= 256<<10 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no temporary file with the first 256 KiB in %q", dirNames(t, dir))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.HasPrefix(tmp[0], ".frank.vfb.") {
		t.Fatalf("temporary file %q is not .frank.vfb.<random>.tmp", tmp[0])
	}
	if got := readFile(t, filepath.Join(dir, "frank.vfb")); !bytes.Equal(got, old) {
		t.Fatalf("mid-upload the published file is %d bytes, want the old %d", len(got), len(old))
	}
	fi, _ := os.Stat(filepath.Join(dir, tmp[0]))
	t.Logf("mid-upload: %s has %d of %d bytes, frank.vfb still the old %d", tmp[0], fi.Size(), len(body), len(old))

	close(r.release)
	if err := <-done; err != nil {
		t.Fatalf("PublishFrom: %v", err)
	}
	if got := readFile(t, filepath.Join(dir, "frank.vfb")); !bytes.Equal(got, body) {
		t.Fatalf("after the upload frank.vfb is %d bytes, want %d", len(got), len(body))
	}
	if tmp := tempFiles(t, dir); len(tmp) > 0 {
		t.Fatalf("temporary files left: %q", tmp)
	}
}

// TestCancel cancels an upload whose source trickles: Publish returns promptly, the temporary file is
// removed over a new connection and the published file is untouched.
func TestCancel(t *testing.T) {
	t.Parallel()
	s := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "require"})
	tg := target(t, s, "publisher", Explicit)
	dir := s.CalendarDir("publisher")
	old := vfb("old", 1000)
	if err := Publish(ctxFor(t), tg, "gina.vfb", old); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// 1 MiB at 16 KiB every 100 ms: about 6.5 s if left alone.
	r := newSlowReader(vfb("new", 1<<20), 16<<10, 100*time.Millisecond, -1)
	done := make(chan error, 1)
	go func() { done <- PublishFrom(ctx, tg, "gina.vfb", r) }()
	// Wait until the upload is under way.
	deadline := time.Now().Add(10 * time.Second)
	for len(tempFiles(t, dir)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the upload did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	t0 := time.Now()
	cancel()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("PublishFrom did not return within 10s of the cancellation")
	}
	took := time.Since(t0)
	t.Logf("returned %v after cancel: %v", took.Round(time.Millisecond), err)
	if took > 2*time.Second {
		t.Fatalf("took %v to return after cancel", took)
	}
	wantKind(t, err, KindCanceled)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("errors.Is(err, context.Canceled) is false: %v", err)
	}
	if got := readFile(t, filepath.Join(dir, "gina.vfb")); !bytes.Equal(got, old) {
		t.Fatalf("the published file changed")
	}
	if tmp := tempFiles(t, dir); len(tmp) > 0 {
		t.Fatalf("temporary files left: %q", tmp)
	}

	// Already cancelled: nothing is even dialled.
	err = Publish(ctx, tg, "gina.vfb", []byte("x"))
	wantKind(t, err, KindCanceled)
}

func TestRestartedServer(t *testing.T) {
	t.Parallel()
	s := testserver.PureFTPd(t, testserver.FTPOptions{TLS: "require"})
	tg := target(t, s, "publisher", Explicit)
	ctx := ctxFor(t)
	if err := Publish(ctx, tg, "hank.vfb", []byte("before")); err != nil {
		t.Fatal(err)
	}
	s.Restart(t)
	if got, err := Fetch(ctx, tg, "hank.vfb"); err != nil || string(got) != "before" {
		t.Fatalf("after a restart: %q, %v", got, err)
	}
	if err := Publish(ctx, tg, "hank.vfb", []byte("after")); err != nil {
		t.Fatal(err)
	}
}

func TestInvalid(t *testing.T) {
	ctx := context.Background()
	good := Target{Host: "127.0.0.1", Port: 1, TLS: None, Username: "u", Password: "pw-secret"}
	for _, name := range []string{"", ".", "..", "a/b.vfb", "../x.vfb", "a\\b", "a\r\nDELE b"} {
		wantKind(t, Publish(ctx, good, name, nil), KindInvalidTarget)
		wantKind(t, Delete(ctx, good, name), KindInvalidTarget)
		_, err := Fetch(ctx, good, name)
		wantKind(t, err, KindInvalidTarget)
	}
	for _, tg := range []Target{
		{},
		{Host: "127.0.0.1", Port: 70000},
		{Host: "127.0.0.1", TLS: "Implicit"},
		{Host: "127.0.0.1", Directory: "/pub\r\nDELE x"},
		{Host: "127.0.0.1", Username: "u", Password: "pw-secret\r\nDELE x"},
	} {
		err := Publish(ctx, tg, "a.vfb", nil)
		wantKind(t, err, KindInvalidTarget)
		if strings.Contains(err.Error(), "pw-secret") {
			t.Fatalf("the password is in the error: %v", err)
		}
	}
}

func TestURL(t *testing.T) {
	for _, tc := range []struct {
		t           Target
		url, search string
	}{
		{Target{Host: "ftp.example.test"}, "ftp://ftp.example.test/pub/calendar/alice.vfb",
			"ftp://ftp.example.test/pub/calendar/%NAME%.vfb"},
		{Target{Host: "ftp.example.test", Port: 21, Username: "u", Password: "secret"},
			"ftp://ftp.example.test/pub/calendar/alice.vfb", "ftp://ftp.example.test/pub/calendar/%NAME%.vfb"},
		{Target{Host: "127.0.0.1", Port: 2121, Directory: "fb/"}, "ftp://127.0.0.1:2121/fb/alice.vfb",
			"ftp://127.0.0.1:2121/fb/%NAME%.vfb"},
		{Target{Host: "::1", Directory: "/"}, "ftp://[::1]/alice.vfb", "ftp://[::1]/%NAME%.vfb"},
		{Target{Host: "::1", Port: 990, Directory: "/free busy"}, "ftp://[::1]:990/free%20busy/alice.vfb",
			"ftp://[::1]:990/free%20busy/%NAME%.vfb"},
	} {
		if got := URL(tc.t, "alice.vfb"); got != tc.url {
			t.Errorf("URL(%+v) = %q, want %q", tc.t, got, tc.url)
		}
		if got := SearchURL(tc.t); got != tc.search {
			t.Errorf("SearchURL(%+v) = %q, want %q", tc.t, got, tc.search)
		}
		if strings.Contains(URL(tc.t, "x")+SearchURL(tc.t), "secret") {
			t.Errorf("credentials in a URL")
		}
	}
}

// TestRedact checks the scrubbing on errors the server or the ftp package could produce with the
// password in them (pure-ftpd does not echo it, so this cannot be provoked for real).
func TestRedact(t *testing.T) {
	const pw = "hunter2-secret"
	s := &session{ctx: context.Background(), t: Target{Host: "h", Password: pw}}
	for _, err := range []error{
		&textproto.Error{Code: 530, Msg: "Login incorrect for PASS " + pw},
		fmt.Errorf("wrapped: %w", &textproto.Error{Code: 550, Msg: "no " + pw}),
		errors.New("PASS " + pw + " rejected"),
		// A form package redact knows beyond the raw one: base64 (a server echoing an AUTH payload).
		errors.New("AUTH PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00user\x00"+pw)) + " refused"),
	} {
		for _, op := range []string{"login", "store", "connect"} {
			got := s.classify(op, "a.vfb", err)
			for _, form := range []string{pw, "aHVudGVyMi1zZWNy"} {
				if strings.Contains(got.Error(), form) {
					t.Fatalf("%s: password (as %q) in %q", op, form, got)
				}
			}
			for e := error(got); e != nil; e = errors.Unwrap(e) {
				if strings.Contains(e.Error(), pw) {
					t.Fatalf("%s: password in the chain: %q", op, e)
				}
			}
			var tp *textproto.Error
			if orig := (*textproto.Error)(nil); errors.As(err, &orig) {
				if !errors.As(got, &tp) || tp.Code != orig.Code {
					t.Fatalf("%s: reply code lost: %v", op, got)
				}
			}
		}
	}
	if got := s.classify("login", "", &textproto.Error{Code: 530, Msg: "Login incorrect"}); KindOf(got) != KindFTPAuthFailed {
		t.Fatalf("530 on login: %v", got)
	}
}
