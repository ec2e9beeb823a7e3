package main

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
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/mailshift/mailshift/internal/groupware"
	"github.com/mailshift/mailshift/internal/testenv"
	"github.com/mailshift/mailshift/internal/testserver"
)

// namespace holds every object of a run.
const namespace = "bench"

// Dovecot's master user (hack/lib-servers.sh) and pure-ftpd's writing user (hack/pureftpd.sh).
const (
	adminLogin, adminPassword = "mailadmin", "admin-secret-0"
	ftpLogin, ftpPassword     = "publisher", "publisher-secret-4"
)

// bench is one run's servers, processes and files.
type bench struct {
	cfg    config
	root   string // the repository
	assets string // etcd and kube-apiserver
	dir    string // the run's work directory

	env        *envtest.Environment
	kubeconfig string
	client     client.Client

	imapPort   int
	imapCA     []byte
	dovecotDir string
	password   string // every user's password is this plus the login: one random secret per run

	ftpPort int
	ftpCA   []byte
	ftpDir  string

	managerBin  string
	managerLog  string
	manager     *exec.Cmd
	managerDone chan struct{}
	metricsURL  string
}

func newBench(cfg config) (*bench, error) {
	dir, err := os.MkdirTemp("", "mailshift-bench-scale-")
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 8)
	if _, err := rand.Read(secret); err != nil {
		return nil, err
	}
	b := &bench{cfg: cfg, root: testenv.RepoRoot(), assets: testenv.BinDir(), dir: dir,
		password: "pw-" + hex.EncodeToString(secret) + "-", managerBin: cfg.manager,
		managerLog: filepath.Join(dir, "manager.log")}
	if b.managerBin == "" {
		b.managerBin = filepath.Join(dir, "manager")
	}
	return b, nil
}

// login is the name of user i, both the Dovecot user and the Mailbox.
func login(i int) string { return fmt.Sprintf("u%05d", i) }

func (b *bench) passwordOf(login string) string { return b.password + login }

// buildManager builds cmd/manager as `make build` does.
func (b *bench) buildManager(ctx context.Context) error {
	cmd := exec.CommandContext(ctx, "go", "build", "-o", b.managerBin, "./cmd/manager")
	cmd.Dir = b.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/manager: %w\n%s", err, out)
	}
	return nil
}

func (b *bench) startControlPlane() error {
	for _, name := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(b.assets, name)); err != nil {
			return fmt.Errorf("%s not found in %s: run `make controlplane`", name, b.assets)
		}
	}
	b.env = &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(b.root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: b.assets,
	}
	cfg, err := b.env.Start()
	if err != nil {
		b.env = nil
		return fmt.Errorf("control plane: %w", err)
	}
	user, err := b.env.AddUser(envtest.User{Name: "bench-admin", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		return err
	}
	kc, err := user.KubeConfig()
	if err != nil {
		return err
	}
	b.kubeconfig = filepath.Join(b.dir, "kubeconfig")
	if err := os.WriteFile(b.kubeconfig, kc, 0o600); err != nil {
		return err
	}
	// The harness's own client applies thousands of objects: not limited the way the manager's is.
	cfg.QPS, cfg.Burst = 500, 1000
	b.client, err = client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		return err
	}
	return b.client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})
}

// startDovecot starts hack/dovecot.sh's server and adds the run's users to its passwd file, which Dovecot
// reads again when it changes.
func (b *bench) startDovecot(ctx context.Context) error {
	ports, err := freePorts(2)
	if err != nil {
		return err
	}
	b.imapPort, b.dovecotDir = ports[0], filepath.Join(b.dir, "dovecot")
	// fsync off: the benchmark measures the manager, not the disk.
	if err := b.script(ctx, []string{"MAILSHIFT_DOVECOT_FSYNC=never"}, "dovecot.sh", "start", b.dovecotDir,
		strconv.Itoa(ports[0]), strconv.Itoa(ports[1])); err != nil {
		return err
	}
	if b.imapCA, err = os.ReadFile(filepath.Join(b.dovecotDir, "ca.pem")); err != nil {
		return err
	}
	f, err := os.OpenFile(filepath.Join(b.dovecotDir, "users"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	var users bytes.Buffer
	for i := 1; i <= b.cfg.mailboxes; i++ {
		fmt.Fprintf(&users, "%s:{PLAIN}%s::::::\n", login(i), b.passwordOf(login(i)))
	}
	if _, err := f.Write(users.Bytes()); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	// Proof that Dovecot sees the new users: the last one logs in.
	c, err := b.dialIMAP()
	if err != nil {
		return err
	}
	defer c.Close()
	last := login(b.cfg.mailboxes)
	if err := c.Login(last, b.passwordOf(last)).Wait(); err != nil {
		return fmt.Errorf("dovecot: %s cannot log in after the passwd file was extended: %w", last, err)
	}
	return nil
}

func (b *bench) dialIMAP() (*imapclient.Client, error) {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(b.imapCA)
	return imapclient.DialStartTLS(net.JoinHostPort("127.0.0.1", strconv.Itoa(b.imapPort)),
		&imapclient.Options{TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}})
}

// startFTP starts hack/pureftpd.sh's server, explicit TLS required for control and data, as the demo does.
func (b *bench) startFTP(ctx context.Context) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	const passive = 64
	first, err := testserver.FreePortRange(passive)
	if err != nil {
		return err
	}
	b.ftpPort, b.ftpDir = ports[0], filepath.Join(b.dir, "ftp")
	if err := b.script(ctx, nil, "pureftpd.sh", "start", b.ftpDir, strconv.Itoa(b.ftpPort),
		fmt.Sprintf("%d:%d", first, first+passive-1), "require-data"); err != nil {
		return err
	}
	b.ftpCA, err = os.ReadFile(filepath.Join(b.ftpDir, "ca.pem"))
	return err
}

// seedCalendars gives every published user a Calendar folder, typed as a Kolab event folder, with a week of
// meetings: a daily stand-up, a tentative lunch, a day off.
func (b *bench) seedCalendars(ctx context.Context) error {
	msgs, err := calendarMessages(time.Now())
	if err != nil {
		return err
	}
	work := make(chan int)
	errs := make(chan error, 4)
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := b.seedCalendar(login(i), msgs); err != nil {
					errs <- fmt.Errorf("seeding %s's calendar: %w", login(i), err)
					return
				}
			}
		}()
	}
	var firstErr error
feed:
	for i := 1; i <= b.cfg.publications; i++ {
		select {
		case work <- i:
		case firstErr = <-errs:
			break feed
		case <-ctx.Done():
			firstErr = ctx.Err()
			break feed
		}
	}
	close(work)
	wg.Wait()
	if firstErr == nil {
		select {
		case firstErr = <-errs:
		default:
		}
	}
	return firstErr
}

func (b *bench) seedCalendar(user string, msgs [][]byte) error {
	c, err := b.dialIMAP()
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Login(user, b.passwordOf(user)).Wait(); err != nil {
		return err
	}
	if err := c.Create("Calendar", nil).Wait(); err != nil {
		return err
	}
	folderType := []byte("event")
	if err := c.SetMetadata("Calendar", map[string]*[]byte{"/shared/vendor/kolab/folder-type": &folderType}).Wait(); err != nil {
		return err
	}
	for _, m := range msgs {
		a := c.Append("Calendar", int64(len(m)), nil)
		if _, err := a.Write(m); err != nil {
			return err
		}
		if err := a.Close(); err != nil {
			return err
		}
		if _, err := a.Wait(); err != nil {
			return err
		}
	}
	return c.Logout().Wait()
}

// calendarMessages are Kolab v3 event messages around now, as a migration writes them.
func calendarMessages(now time.Time) ([][]byte, error) {
	day := func(n int) time.Time {
		return time.Date(now.Year(), now.Month(), now.Day()+n, 0, 0, 0, 0, time.UTC)
	}
	at := func(d time.Time, h int) groupware.DateTime {
		return groupware.DateTime{Time: d.Add(time.Duration(h) * time.Hour), TZID: "UTC"}
	}
	stamp := day(0)
	ev := func(uid, summary string, start, end groupware.DateTime) *groupware.Event {
		return &groupware.Event{Common: groupware.Common{UID: uid, Summary: summary, Created: stamp, LastModified: stamp},
			Start: start, End: end}
	}
	standup := ev("bench-standup", "Stand-up", at(day(0), 9), at(day(0), 10))
	standup.Recurrence = &groupware.Recurrence{Rule: groupware.Rule{Freq: groupware.Daily, Count: 10}}
	lunch := ev("bench-lunch", "Lunch talk", at(day(1), 12), at(day(1), 13))
	lunch.Busy = groupware.BusyTentative
	off := ev("bench-off", "Day off", groupware.DateTime{Time: day(3), AllDay: true}, groupware.DateTime{Time: day(4), AllDay: true})
	off.Busy = groupware.BusyOutOfOffice
	var msgs [][]byte
	for _, e := range []*groupware.Event{standup, lunch, off} {
		var buf bytes.Buffer
		if err := groupware.WriteMessage(&buf, e, groupware.FormatKolab3, groupware.Envelope{}); err != nil {
			return nil, err
		}
		msgs = append(msgs, buf.Bytes())
	}
	return msgs, nil
}

// createSecrets stores what the objects refer to: the CAs, the admin and FTP logins, and one password
// Secret per user.
func (b *bench) createSecrets(ctx context.Context) error {
	secrets := []*corev1.Secret{
		secret("imap-ca", map[string][]byte{"ca.crt": b.imapCA}),
		secret("imap-admin", map[string][]byte{"username": []byte(adminLogin), "password": []byte(adminPassword)}),
	}
	if b.cfg.publications > 0 {
		secrets = append(secrets,
			secret("ftp-ca", map[string][]byte{"ca.crt": b.ftpCA}),
			secret("ftp", map[string][]byte{"username": []byte(ftpLogin), "password": []byte(ftpPassword)}))
	}
	for i := 1; i <= b.cfg.mailboxes; i++ {
		secrets = append(secrets, secret(login(i)+"-imap", map[string][]byte{"password": []byte(b.passwordOf(login(i)))}))
	}
	objs := make([]client.Object, len(secrets))
	for i, s := range secrets {
		objs[i] = s
	}
	return createAll(ctx, b.client, objs)
}

func secret(name string, data map[string][]byte) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace}, Data: data}
}

// startManager runs the built manager with its normal flags against the control plane, metrics in plain HTTP
// on loopback so that the harness can read them, and waits until /metrics answers.
func (b *bench) startManager(ctx context.Context) error {
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	metricsAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	b.metricsURL = "http://" + metricsAddr + "/metrics"
	logFile, err := os.Create(b.managerLog)
	if err != nil {
		return err
	}
	// In-process executor: a bare control plane has no kubelet for worker Jobs (no migration runs here anyway).
	b.manager = exec.Command(b.managerBin, "--leader-elect=false", "--worker-executor=inprocess",
		"--metrics-bind-address="+metricsAddr, "--metrics-secure=false",
		"--health-probe-bind-address=127.0.0.1:0", "--freebusy-bind-address=0")
	b.manager.Env = append(os.Environ(), "KUBECONFIG="+b.kubeconfig)
	b.manager.Stdout, b.manager.Stderr = logFile, logFile
	// The manager goes when the harness does, however it ends.
	b.manager.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := b.manager.Start(); err != nil {
		logFile.Close()
		return fmt.Errorf("manager: %w", err)
	}
	b.managerDone = make(chan struct{})
	go func() { _ = b.manager.Wait(); logFile.Close(); close(b.managerDone) }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := scrapeMetrics(ctx, b.metricsURL); err == nil {
			return nil
		}
		select {
		case <-b.managerDone:
			b.tailManagerLog(20)
			return fmt.Errorf("the manager exited at start: %v", b.manager.ProcessState)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.tailManagerLog(20)
			return errors.New("the manager's /metrics did not answer within 60s")
		}
	}
}

// tailManagerLog prints the last n lines of the manager's log.
func (b *bench) tailManagerLog(n int) {
	data, err := os.ReadFile(b.managerLog)
	if err != nil {
		return
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	fmt.Printf("---- last %d lines of %s ----\n%s\n", len(lines), b.managerLog, strings.Join(lines, "\n"))
}

// close stops the manager, the servers and the control plane, and removes the work directory unless
// SCALE_KEEP=1.
func (b *bench) close() {
	if b.manager != nil && b.manager.Process != nil {
		_ = b.manager.Process.Signal(syscall.SIGTERM)
		select {
		case <-b.managerDone:
		case <-time.After(15 * time.Second):
			_ = b.manager.Process.Kill()
			<-b.managerDone
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if b.ftpDir != "" {
		_ = b.script(ctx, nil, "pureftpd.sh", "stop", b.ftpDir)
	}
	if b.dovecotDir != "" {
		_ = b.script(ctx, nil, "dovecot.sh", "stop", b.dovecotDir)
	}
	if b.env != nil {
		_ = b.env.Stop()
	}
	if b.cfg.keep {
		fmt.Printf("kept %s (manager.log, dovecot/dovecot.log, kubeconfig)\n", b.dir)
		return
	}
	_ = os.RemoveAll(b.dir)
}

// script runs hack/<name> with args; the servers it starts stop by themselves when this process is gone.
func (b *bench) script(ctx context.Context, env []string, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(b.root, "hack", name)}, args...)...)
	cmd.Env = append(append(os.Environ(), env...), "MAILSHIFT_WATCH_PID="+strconv.Itoa(os.Getpid()))
	cmd.WaitDelay = 5 * time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("hack/%s %s: %w\n%s", name, args[0], err, bytes.TrimSpace(out))
	}
	return nil
}

// freePorts returns n distinct ports that were free on 127.0.0.1 a moment ago.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("finding a free port: %w", err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// scrapeMetrics reads the manager's /metrics, at most 32 MiB of it.
func scrapeMetrics(ctx context.Context, url string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	const limit = 32 << 20
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, err
	}
	if len(body) > limit {
		return nil, fmt.Errorf("GET %s: more than %d bytes", url, limit)
	}
	return body, nil
}
