// Package ftppublish publishes files (free/busy .vfb files, typically) on an FTP server where Outlook reads
// them, and removes them again.
//
// A publish never leaves a half-written file under the published name: the content is stored under a
// temporary name in the same directory (".<name>.<random>.tmp"), checked for size where the server can
// tell, and then renamed over <name> in one step. If anything fails, the temporary file is removed and
// the previously published file, if any, is untouched.
//
// Explicit TLS (AUTH TLS, RFC 4217) protects the login and the data connections (PBSZ 0, PROT P); data
// connections are passive (EPSV, falling back to PASV), always to the address of the control connection.
//
// Every error is an *Error whose Kind says what to do about it; passwords never appear in error text.
package ftppublish

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"net/url"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jlaffaye/ftp"

	"github.com/mailshift/mailshift/internal/egress"
)

// Mode is how a Target protects the connection.
type Mode string

const (
	// Explicit is explicit TLS: the plaintext control connection is upgraded with AUTH TLS before the
	// login, and data connections are protected too. The zero Mode means Explicit.
	Explicit Mode = "Explicit"
	// None sends everything, the password included, in clear text.
	None Mode = "None"
)

// Defaults for a Target's zero fields.
const (
	DefaultPort        = 21
	DefaultDirectory   = "/pub/calendar"
	DefaultDialTimeout = 30 * time.Second
)

// cleanupTimeout bounds the removal of a temporary file after a failed upload when the upload's own
// connection is gone and a new one is needed. It applies even when ctx is already done, so that a
// cancelled publish still tries not to leave litter, but only for this long.
const cleanupTimeout = 5 * time.Second

// maxFetch bounds what Fetch reads into memory.
const maxFetch = 64 << 20

// Target is an FTP server, an account on it and the directory files are published in.
type Target struct {
	Host string
	Port int  // 0 means 21
	TLS  Mode // "" means Explicit
	// RootCAs verifies the server certificate under Explicit; nil means the system's roots. The
	// certificate must be valid for Host (a DNS name or an IP address).
	RootCAs *x509.CertPool
	// Username and Password log in; an empty Username logs in as "anonymous" (RFC 1635), with Password
	// as the customary e-mail address, or "anonymous" when Password is empty too.
	Username, Password string
	// Directory is where files are published, "/pub/calendar" when empty. A relative directory is relative
	// to the login directory. Missing directories are created (MKD per path element).
	Directory string
	// DialTimeout bounds the connection set-up: TCP connect, greeting, TLS handshake and login. 0 means
	// 30 s. The whole operation is bounded by its ctx.
	DialTimeout time.Duration
	// Allowed limits the hosts connected to, control and data connections alike (see package egress);
	// nil allows any.
	Allowed *egress.AllowList
}

// URL returns where name is published on t, as Outlook's free/busy settings take it:
// "ftp://host[:port]/pub/calendar/name". The port is left out when it is 21; credentials never appear.
func URL(t Target, name string) string {
	u := url.URL{Scheme: "ftp", Host: t.hostPort(), Path: path.Join(t.directoryPath(), name)}
	return u.String()
}

// dirURL is the directory's URL, ending in "/".
func dirURL(t Target) string {
	u := url.URL{Scheme: "ftp", Host: t.hostPort(), Path: t.directoryPath() + "/"}
	if t.directoryPath() == "/" {
		u.Path = "/"
	}
	return u.String()
}

// SearchURL returns Outlook's free/busy search path for t, "ftp://host[:port]/pub/calendar/%NAME%.vfb":
// Outlook replaces %NAME% with the local part of the address it looks up.
func SearchURL(t Target) string {
	return dirURL(t) + "%NAME%.vfb"
}

// hostPort is host[:port] for URLs: the port only when it is not the default.
func (t Target) hostPort() string {
	h := t.Host
	if t.port() != DefaultPort {
		return net.JoinHostPort(h, strconv.Itoa(t.port()))
	}
	if strings.Contains(h, ":") {
		return "[" + h + "]"
	}
	return h
}

// directoryPath is the directory as a URL path: always starting with "/", without a trailing one.
func (t Target) directoryPath() string {
	return path.Clean("/" + t.directory())
}

func (t Target) port() int {
	if t.Port == 0 {
		return DefaultPort
	}
	return t.Port
}

func (t Target) addr() string { return net.JoinHostPort(t.Host, strconv.Itoa(t.port())) }

func (t Target) directory() string {
	if t.Directory == "" {
		return DefaultDirectory
	}
	return t.Directory
}

func (t Target) mode() Mode {
	if t.TLS == "" {
		return Explicit
	}
	return t.TLS
}

func (t Target) dialTimeout() time.Duration {
	if t.DialTimeout <= 0 {
		return DefaultDialTimeout
	}
	return t.DialTimeout
}

func (t Target) login() (user, pass string) {
	if t.Username != "" {
		return t.Username, t.Password
	}
	if t.Password != "" {
		return "anonymous", t.Password
	}
	return "anonymous", "anonymous"
}

// validate checks what can be checked without the server.
func (t Target) validate() error {
	if t.Host == "" {
		return errors.New("no host")
	}
	if strings.ContainsAny(t.Host, "/ \t\r\n") {
		return fmt.Errorf("bad host %q", t.Host)
	}
	if t.Port < 0 || t.Port > 65535 {
		return fmt.Errorf("bad port %d", t.Port)
	}
	if m := t.mode(); m != Explicit && m != None {
		return fmt.Errorf("TLS mode must be %q or %q, not %q", Explicit, None, m)
	}
	if strings.ContainsAny(t.directory(), "\r\n\x00") {
		return fmt.Errorf("bad directory %q", t.directory())
	}
	if strings.ContainsAny(t.Username, "\r\n\x00") || strings.ContainsAny(t.Password, "\r\n\x00") {
		return errors.New("username or password contains a line break or NUL")
	}
	return nil
}

// validName accepts a plain file name in the target directory.
func validName(name string) error {
	switch {
	case name == "", name == ".", name == "..":
		return fmt.Errorf("bad file name %q", name)
	case strings.ContainsAny(name, "/\\\r\n\x00"):
		return fmt.Errorf("bad file name %q: it must be a plain name, without a directory", name)
	}
	return nil
}

// Publish stores content as name in t's directory, replacing what was there in one step (see the package
// documentation).
func Publish(ctx context.Context, t Target, name string, content []byte) error {
	return PublishFrom(ctx, t, name, bytes.NewReader(content))
}

// PublishFrom is Publish with the content streamed from r. Cancelling ctx ends the upload at the next
// network wait or between reads of r; a Read of r that blocks must be ended by whoever supplies r.
func PublishFrom(ctx context.Context, t Target, name string, r io.Reader) error {
	s, err := open(ctx, "publish", t, name)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.chdir(true); err != nil {
		return err
	}
	tmp, err := tempName(name)
	if err != nil {
		return s.fail("store", tmp, err)
	}
	if err := s.store(tmp, name, r); err != nil {
		s.removeTemp(tmp)
		return err
	}
	return nil
}

// store uploads r to tmp, checks it and renames it to name. The caller removes tmp on failure.
func (s *session) store(tmp, name string, r io.Reader) error {
	cr := &countingReader{ctx: s.ctx, r: r}
	err := s.c.Stor(tmp, cr)
	if cr.err != nil && s.ctx.Err() == nil {
		// The source failed; the server has whatever came before, under tmp only.
		return &Error{Kind: KindProtocolError, Op: "store",
			Err: fmt.Errorf("%s: reading the content: %w", s.where(tmp), cr.err)}
	}
	if err != nil {
		return s.fail("store", tmp, err)
	}
	// A server that answers SIZE must have all of it; servers without SIZE are taken at their word.
	if size, err := s.c.FileSize(tmp); err == nil && size != cr.n {
		return &Error{Kind: KindProtocolError, Op: "store",
			Err: fmt.Errorf("%s: the server stored %d of %d bytes", s.where(tmp), size, cr.n)}
	} else if err != nil && s.broken(err) {
		return s.fail("store", tmp, err)
	}
	if err := s.c.Rename(tmp, name); err != nil {
		return s.fail("rename", name, err)
	}
	return nil
}

// Delete removes name from t's directory. A file (or directory) that is not there is not an error.
func Delete(ctx context.Context, t Target, name string) error {
	s, err := open(ctx, "delete", t, name)
	if err != nil {
		return err
	}
	defer s.close()
	if err := s.chdir(false); err != nil {
		if KindOf(err) == KindNotFound {
			return nil
		}
		return err
	}
	err = s.c.Delete(name)
	if err == nil {
		return nil
	}
	var tp *textproto.Error
	if !errors.As(err, &tp) || !isFileUnavailable(tp.Code) {
		return s.fail("delete", name, err)
	}
	switch {
	case looksMissing(tp.Msg):
		return nil
	case looksDenied(tp.Msg):
		return s.fail("delete", name, err)
	}
	// The reply does not say why; a file the server can tell the size of is there.
	if _, serr := s.c.FileSize(name); serr != nil && !s.broken(serr) {
		return nil
	}
	return s.fail("delete", name, err)
}

// Fetch returns the content of name in t's directory (at most 64 MiB). A missing file is KindNotFound.
func Fetch(ctx context.Context, t Target, name string) ([]byte, error) {
	s, err := open(ctx, "fetch", t, name)
	if err != nil {
		return nil, err
	}
	defer s.close()
	if err := s.chdir(false); err != nil {
		return nil, err
	}
	resp, err := s.c.Retr(name)
	if err != nil {
		return nil, s.fail("fetch", name, err)
	}
	data, rerr := io.ReadAll(io.LimitReader(resp, maxFetch+1))
	if rerr == nil && len(data) > maxFetch {
		// Closing early aborts the transfer: the server's answer to that is no news.
		_ = resp.Close()
		return nil, &Error{Kind: KindProtocolError, Op: "fetch",
			Err: fmt.Errorf("%s: larger than %d bytes", s.where(name), maxFetch)}
	}
	if err := errors.Join(rerr, resp.Close()); err != nil {
		return nil, s.fail("fetch", name, err)
	}
	return data, nil
}

// open checks the target and the file name, then connects: what every operation on one file begins with.
func open(ctx context.Context, op string, t Target, name string) (*session, error) {
	if err := t.validate(); err != nil {
		return nil, invalid(op, t, err)
	}
	if err := validName(name); err != nil {
		return nil, invalid(op, t, err)
	}
	return connect(ctx, t)
}

// session is one logged-in control connection.
type session struct {
	ctx context.Context
	t   Target
	c   *ftp.ServerConn

	mu     sync.Mutex
	conns  []net.Conn // every TCP connection dialled for this session, control first
	closed bool
	stop   func() bool // stops closing the connections when ctx is done
}

// connect dials t, upgrades to TLS when asked and logs in. Every connection it and the later data
// transfers open is closed as soon as ctx is done, so that a cancelled operation returns promptly
// whatever it is waiting for.
func connect(ctx context.Context, t Target) (*session, error) {
	s := &session{ctx: ctx, t: t}
	if err := ctx.Err(); err != nil {
		return nil, s.classify("connect", "", err)
	}
	if err := t.Allowed.CheckHost(t.Host); err != nil {
		return nil, &Error{Kind: KindHostNotAllowed, Op: "connect", Err: fmt.Errorf("ftp://%s: %w", t.hostPort(), err)}
	}
	var tlsConfig *tls.Config
	if t.mode() == Explicit {
		tlsConfig = &tls.Config{
			RootCAs:    t.RootCAs,
			ServerName: t.Host,
			MinVersion: tls.VersionTLS12,
			// Servers that insist on data connections resuming the control connection's TLS session
			// (vsftpd's require_ssl_reuse, proftpd's default) need the session kept.
			ClientSessionCache: tls.NewLRUClientSessionCache(4),
		}
	}
	timeout := t.dialTimeout()
	// The control connection is dialled first and upgraded by the ftp package after AUTH TLS; data
	// connections are protected here, since the ftp package leaves connections from a dial function as
	// they are.
	dial := func(network, addr string) (net.Conn, error) {
		d := net.Dialer{Timeout: timeout, Control: t.Allowed.Control(t.Host)}
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			conn.Close()
			return nil, net.ErrClosed
		}
		s.conns = append(s.conns, conn)
		control := len(s.conns) == 1
		s.mu.Unlock()
		if control {
			// Greeting, AUTH TLS, handshake and login must all fit in the dial timeout.
			_ = conn.SetDeadline(time.Now().Add(timeout))
			return conn, nil
		}
		if tlsConfig != nil {
			return tls.Client(conn, tlsConfig), nil
		}
		return conn, nil
	}
	s.stop = context.AfterFunc(ctx, s.closeConns)

	opts := []ftp.DialOption{ftp.DialWithDialFunc(dial)}
	if tlsConfig != nil {
		opts = append(opts, ftp.DialWithExplicitTLS(tlsConfig))
	}
	c, err := ftp.Dial(t.addr(), opts...)
	if err != nil {
		s.close()
		return nil, s.classify("connect", "", err)
	}
	s.c = c
	user, pass := t.login()
	if err := c.Login(user, pass); err != nil {
		s.close()
		return nil, s.classify("login", "", err)
	}
	s.mu.Lock()
	if len(s.conns) > 0 {
		_ = s.conns[0].SetDeadline(time.Time{})
	}
	s.mu.Unlock()
	return s, nil
}

func (s *session) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, c := range s.conns {
		c.Close()
	}
}

// close ends the session: QUIT when the connection is usable, then closes every connection.
func (s *session) close() {
	if s.stop != nil {
		s.stop()
	}
	if s.c != nil && s.ctx.Err() == nil {
		_ = s.c.Quit()
	}
	s.closeConns()
}

// chdir changes to the target directory. With create, missing directories are made one path element at a
// time (the server may not create parents), then entered.
func (s *session) chdir(create bool) error {
	dir := s.t.directory()
	err := s.c.ChangeDir(dir)
	if err == nil {
		return nil
	}
	var tp *textproto.Error
	if s.broken(err) || !errors.As(err, &tp) || !isFileUnavailable(tp.Code) {
		return s.fail("cwd", dir, err)
	}
	if !create {
		if looksDenied(tp.Msg) {
			return s.fail("cwd", dir, err)
		}
		return &Error{Kind: KindNotFound, Op: "cwd", Err: fmt.Errorf("%s: %w", s.at(dir), s.scrub(err))}
	}
	var mkErr error
	for _, p := range prefixes(dir) {
		if err := s.c.MakeDir(p); err != nil {
			if s.broken(err) {
				return s.fail("mkdir", p, err)
			}
			// Most often it exists already; if it could not be made, entering it below says so.
			mkErr = &Error{Kind: KindPermissionDenied, Op: "mkdir", Err: fmt.Errorf("%s: %w", s.at(p), s.scrub(err))}
		} else {
			mkErr = nil
		}
	}
	if err := s.c.ChangeDir(dir); err != nil {
		if mkErr != nil && !s.broken(err) {
			return mkErr
		}
		return s.fail("cwd", dir, err)
	}
	return nil
}

// prefixes returns "/a", "/a/b", "/a/b/c" for "/a/b/c" (and "a", "a/b" for "a/b").
func prefixes(dir string) []string {
	abs := strings.HasPrefix(dir, "/")
	var out []string
	cur := ""
	for _, el := range strings.Split(path.Clean(dir), "/") {
		if el == "" || el == "." {
			continue
		}
		if cur == "" && !abs {
			cur = el
		} else {
			cur = cur + "/" + el
		}
		out = append(out, cur)
	}
	return out
}

// removeTemp deletes a temporary file after a failed upload: on the session's own connection when it is
// still usable, otherwise on a new one, for at most cleanupTimeout. Failures are ignored: the published
// file is intact either way, and the name is never reused.
func (s *session) removeTemp(tmp string) {
	if s.ctx.Err() == nil && s.usable() {
		if err := s.c.Delete(tmp); err == nil || !s.broken(err) {
			return
		}
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), cleanupTimeout)
	defer cancel()
	t := s.t
	if t.DialTimeout <= 0 || t.DialTimeout > cleanupTimeout {
		t.DialTimeout = cleanupTimeout
	}
	s2, err := connect(ctx, t)
	if err != nil {
		return
	}
	defer s2.close()
	if s2.chdir(false) == nil {
		_ = s2.c.Delete(tmp)
	}
}

// usable tells whether the control connection still answers.
func (s *session) usable() bool {
	s.mu.Lock()
	closed := s.closed
	s.mu.Unlock()
	return !closed && s.c.NoOp() == nil
}

// broken tells whether err means the control connection is gone (rather than a refusal by the server).
func (s *session) broken(err error) bool {
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code == ftp.StatusNotAvailable
	}
	return s.ctx.Err() != nil || isNetError(err)
}

func tempName(name string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "." + name + "." + hex.EncodeToString(b[:]) + ".tmp", nil
}

// countingReader counts what the upload read and keeps the source's own error apart from the
// connection's. It stops at ctx's end, between reads: a Read that blocks is the source's to end.
type countingReader struct {
	ctx context.Context
	r   io.Reader
	n   int64
	err error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && err != io.EOF {
		c.err = err
	}
	return n, err
}
