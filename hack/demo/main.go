// Command demo shows mailshift doing real work: it starts a local control plane (etcd + kube-apiserver built
// from source), a real Dovecot and a real pure-ftpd on 127.0.0.1, runs the manager binary against them,
// applies config/samples with kubectl, waits until everything is Ready, prints it as `kubectl get` does,
// proves the FolderShare by logging in as bob and listing alice's shared Calendar, fetches alice's
// published free/busy over FTP and HTTP, syncs a contact from alice's address book to bob's, and migrates
// a PST.
//
// Run it with `make demo`. DEMO_KEEP=1 keeps everything running until Ctrl-C, for exploring with kubectl.
package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/emersion/go-imap/v2"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/mailshift/mailshift/internal/testenv"
	"github.com/mailshift/mailshift/internal/testfixtures"
)

const (
	imapPort  = 10143 // must match config/samples/mailserver.yaml
	imapsPort = 10993
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "down" {
		stopLeftovers()
		return
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) { fmt.Printf("\n==> "+format+"\n", args...) }

func demoDir() string { return filepath.Join(testenv.RepoRoot(), ".cache", "demo") }

func stopLeftovers() {
	_ = runQuiet("bash", filepath.Join(testenv.RepoRoot(), "hack", "dovecot.sh"), "stop", filepath.Join(demoDir(), "dovecot"))
	stopFTP()
}

func runQuiet(name string, args ...string) error { return exec.Command(name, args...).Run() }

func run() error {
	root := testenv.RepoRoot()
	dir := demoDir()
	stopLeftovers()
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, p := range []int{imapPort, imapsPort, ftpPort, 10082} {
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err != nil {
			return fmt.Errorf("port %d is in use (a demo still running? `make demo-down`): %w", p, err)
		} else {
			_ = l.Close()
		}
	}

	step("starting a local control plane (etcd + kube-apiserver) with mailshift's CRDs")
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(root, "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: testenv.BinDir(),
	}
	cfg, err := env.Start()
	if err != nil {
		return fmt.Errorf("control plane: %w", err)
	}
	defer func() { _ = env.Stop() }()
	user, err := env.AddUser(envtest.User{Name: "demo-admin", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		return err
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return err
	}
	kcPath := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kcPath, kubeconfig, 0o600); err != nil {
		return err
	}
	fmt.Printf("    API server %s; KUBECONFIG=%s\n", cfg.Host, kcPath)

	step("starting Dovecot on 127.0.0.1:%d (STARTTLS) and :%d (TLS) with users alice, bob, carol", imapPort, imapsPort)
	dovecotDir := filepath.Join(dir, "dovecot")
	if err := sh(os.Stdout, "bash", filepath.Join(root, "hack", "dovecot.sh"), "start", dovecotDir,
		fmt.Sprint(imapPort), fmt.Sprint(imapsPort)); err != nil {
		return fmt.Errorf("dovecot: %w", err)
	}
	defer stopLeftovers()
	caPEM, err := os.ReadFile(filepath.Join(dovecotDir, "ca.pem"))
	if err != nil {
		return err
	}
	ftpCA, err := startFTP()
	if err != nil {
		return err
	}
	if err := seedAliceCalendar(caPEM); err != nil {
		return fmt.Errorf("seed alice's calendar: %w", err)
	}

	kubectl := func(args ...string) error {
		fmt.Printf("    $ kubectl %s\n", strings.Join(args, " "))
		c := kubectlCommand(kcPath, args...)
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		return c.Run()
	}

	step("starting the mailshift manager")
	logPath := filepath.Join(dir, "manager.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// The in-process executor runs migrations inside the manager: a local control plane has no kubelet to run
	// worker Jobs (e2e/ runs those on a real Job controller and a process-based stand-in for the kubelet).
	// In-process migrations read PST files only from <root>/<namespace>/; the samples' namespace, default, is
	// a link to the fixtures. hostPath volumes are allowed: this is a single machine the demo owns.
	pstRoot := filepath.Join(dir, "pst-root")
	if err := os.MkdirAll(pstRoot, 0o755); err != nil {
		return err
	}
	if err := os.Symlink(testfixtures.PSTDir(), filepath.Join(pstRoot, "default")); err != nil && !os.IsExist(err) {
		return err
	}
	mgr := exec.Command(filepath.Join(root, "bin", "manager"), "--leader-elect=false", "--worker-executor=inprocess",
		"--metrics-bind-address=127.0.0.1:0", "--health-probe-bind-address=127.0.0.1:0", "--freebusy-bind-address="+freeBusyHTTP,
		"--inprocess-pst-root="+pstRoot, "--allow-hostpath-pst-volumes")
	mgr.Env = append(os.Environ(), "KUBECONFIG="+kcPath)
	mgr.Stdout, mgr.Stderr = logFile, logFile
	if err := mgr.Start(); err != nil {
		return fmt.Errorf("manager: %w", err)
	}
	defer func() { _ = mgr.Process.Signal(syscall.SIGTERM); _ = mgr.Wait() }()
	fmt.Printf("    pid %d, log %s\n", mgr.Process.Pid, logPath)

	step("creating the Secrets the samples refer to (passwords live only in Secrets)")
	secrets := filepath.Join(dir, "secrets")
	for name, files := range map[string]map[string]string{
		"demo-imap-ca":    {"ca.crt": string(caPEM)},
		"alice-imap":      {"password": "alice-secret-1"},
		"bob-imap":        {"password": "bob-secret-2"},
		"demo-imap-admin": {"username": "mailadmin", "password": "admin-secret-0"},
		"demo-ftp":        {"username": "publisher", "password": "publisher-secret-4"},
		"demo-ftp-ca":     {"ca.crt": string(ftpCA)},
	} {
		d := filepath.Join(secrets, name)
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		for k, v := range files {
			if err := os.WriteFile(filepath.Join(d, k), []byte(v), 0o600); err != nil {
				return err
			}
		}
		if err := kubectl("create", "secret", "generic", name, "--from-file="+d); err != nil {
			return err
		}
	}

	step("applying config/samples: a MailServer, two Mailboxes, a FolderShare, a FreeBusyPublication, a SyncPolicy")
	if err := kubectl("apply", "-k", filepath.Join(root, "config", "samples")); err != nil {
		return err
	}

	step("waiting until everything is Ready")
	if err := kubectl("wait", "--for=condition=Ready", "--timeout=120s",
		"mailserver/demo-dovecot", "mailbox/alice", "mailbox/bob", "foldershare/alice-calendar-for-bob", "freebusypublication/alice",
		"syncpolicy/alice-contacts-with-bob"); err != nil {
		fmt.Println("    manager log tail:")
		_ = sh(os.Stdout, "tail", "-n", "30", logPath)
		return err
	}

	step("what mailshift reports")
	if err := kubectl("get", "mailshift"); err != nil {
		return err
	}
	if err := kubectl("get", "mailbox", "alice", "-o", "jsonpath={range .status.specialFolders[*]}{.type}{\" -> \"}{.mailbox}{\"\\n\"}{end}"); err != nil {
		return err
	}

	step("proving the share: bob logs in to Dovecot and lists alice's folders")
	shared, err := bobSeesCalendar(caPEM)
	if err != nil {
		return err
	}
	fmt.Printf("    bob sees %q\n", shared)

	if err := showFreeBusy(kubectl, ftpCA); err != nil {
		return err
	}

	if err := syncDemo(kubectl, kcPath, caPEM); err != nil {
		return err
	}

	if err := migrateDemo(kubectl, dir, logPath); err != nil {
		return err
	}

	fmt.Println("\nDemo complete: both Mailboxes are Ready, bob reads alice's Calendar on the real server, alice's" +
		" free/busy is published over FTP and HTTP, a contact alice added reached bob's address book, and a PST" +
		" archive was migrated into bob's mailbox.")
	if os.Getenv("DEMO_KEEP") != "" {
		fmt.Printf("Everything keeps running; try: KUBECONFIG=%s %s get mailshift\nCtrl-C stops it.\n",
			kcPath, filepath.Join(testenv.BinDir(), "kubectl"))
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
		<-ch
	}
	return nil
}

// bobSeesCalendar logs in as bob with a plain IMAP client and returns the shared Calendar he can see.
func bobSeesCalendar(caPEM []byte) (string, error) {
	c, err := demoLogin(caPEM, "bob", "bob-secret-2")
	if err != nil {
		return "", err
	}
	defer c.Close()
	boxes, err := c.List("", "shared/alice/*", nil).Collect()
	if err != nil {
		return "", err
	}
	for _, b := range boxes {
		fmt.Printf("    bob: LIST %s\n", b.Mailbox)
	}
	// The FolderShare subscribed bob (through the MailServer's admin credentials), so clients that show only
	// subscribed folders show alice's Calendar too.
	subscribed, err := c.List("", "shared/alice/*", &imap.ListOptions{SelectSubscribed: true}).Collect()
	if err != nil {
		return "", err
	}
	for _, b := range boxes {
		if strings.HasSuffix(b.Mailbox, "/Calendar") {
			sel, err := c.Select(b.Mailbox, &imap.SelectOptions{ReadOnly: true}).Wait()
			if err != nil {
				return "", fmt.Errorf("bob cannot open %s: %w", b.Mailbox, err)
			}
			for _, s := range subscribed {
				if s.Mailbox == b.Mailbox {
					return fmt.Sprintf("%s (%d messages, opened read-only; subscribed)", b.Mailbox, sel.NumMessages), nil
				}
			}
			return "", fmt.Errorf("bob sees %s but is not subscribed to it", b.Mailbox)
		}
	}
	return "", errors.New("bob does not see alice's Calendar")
}

// kubectlCommand is the control plane's kubectl with the demo's kubeconfig.
func kubectlCommand(kcPath string, args ...string) *exec.Cmd {
	c := exec.Command(filepath.Join(testenv.BinDir(), "kubectl"), args...)
	c.Env = append(os.Environ(), "KUBECONFIG="+kcPath)
	return c
}

func sh(out *os.File, name string, args ...string) error {
	c := exec.Command(name, args...)
	c.Stdout, c.Stderr = out, os.Stderr
	return c.Run()
}

// demoPST is the fixture PST the demo migrates: 180 mails of an Outlook 97 file.
const demoPST = "pst2john-97_outlook_qwerty12345.pst"

// migrateDemo applies a MailboxMigration of a fixture PST into bob's Mailbox and shows its progress live, as
// `kubectl get` prints it, until it has Succeeded.
func migrateDemo(kubectl func(...string) error, dir, logPath string) error {
	step("migrating a PST archive into bob's Mailbox: a MailboxMigration (rate-limited to 40 messages/s so the progress can be watched)")
	manifest := fmt.Sprintf(`apiVersion: mailshift.io/v1
kind: MailboxMigration
metadata:
  name: bob-archive
spec:
  mailboxRef: {name: bob}
  source:
    pst:
      volume: {hostPath: {path: %q}}
      path: %s
  folders: {targetRoot: Archive-1997}
  rateLimit: {messagesPerSecond: 40}
`, filepath.Join(dir, "pst-root", "default"), demoPST)
	path := filepath.Join(dir, "migration.yaml")
	if err := os.WriteFile(path, []byte(manifest), 0o600); err != nil {
		return err
	}
	fmt.Print(indent(manifest))
	if err := kubectl("apply", "-f", path); err != nil {
		return err
	}
	kc := filepath.Join(testenv.BinDir(), "kubectl")
	last := ""
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		out, err := exec.Command(kc, "--kubeconfig", filepath.Join(dir, "kubeconfig"), "get", "mailboxmigration", "bob-archive", "--no-headers").Output()
		if err == nil {
			row := strings.Join(strings.Fields(string(out)), "  ")
			if row != last {
				fmt.Printf("    %s   %s\n", time.Now().Format("15:04:05"), row)
				last = row
			}
			if strings.Contains(row, "Succeeded") {
				break
			}
			if strings.Contains(row, "Failed") {
				_ = kubectl("describe", "mailboxmigration", "bob-archive")
				return fmt.Errorf("the demo migration failed")
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err := kubectl("wait", "--for=condition=Ready", "--timeout=60s", "mailboxmigration/bob-archive"); err != nil {
		fmt.Println("    manager log tail:")
		_ = sh(os.Stdout, "tail", "-n", "30", logPath)
		return err
	}
	return kubectl("get", "mailboxmigration", "bob-archive", "-o",
		`jsonpath={.status.conditions[?(@.type=="Ready")].message}{"\n"}report: ConfigMap {.status.reportConfigMap}{"\n"}`)
}

func indent(s string) string {
	return "      " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n      ") + "\n"
}
