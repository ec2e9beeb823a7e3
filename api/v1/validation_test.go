package v1_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/mailshift/mailshift/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	_ = env.Stop()
	os.Exit(code)
}

// create sends a manifest to the real API server exactly as kubectl would (server-side validation: OpenAPI
// schema and CEL rules from the generated CRDs), in dry-run so that cases do not collide.
func create(t *testing.T, manifest string) error {
	t.Helper()
	var u unstructured.Unstructured
	if err := yaml.Unmarshal([]byte(manifest), &u.Object); err != nil {
		t.Fatalf("bad test manifest: %v", err)
	}
	if u.GetNamespace() == "" {
		u.SetNamespace("default")
	}
	return env.Client.Create(context.Background(), &u, client.DryRunAll)
}

const validServer = `
apiVersion: mailshift.io/v1
kind: MailServer
metadata: {name: imap}
spec:
  host: imap.example.test
  tls: STARTTLS
`

const validMailbox = `
apiVersion: mailshift.io/v1
kind: Mailbox
metadata: {name: alice}
spec:
  serverRef: {name: imap}
  login: alice
  credentialsSecretRef: {name: alice-imap}
`

const validShare = `
apiVersion: mailshift.io/v1
kind: FolderShare
metadata: {name: cal}
spec:
  mailboxRef: {name: alice}
  specialFolder: Calendar
  grants:
  - {grantee: bob, rights: [lookup, read]}
`

func TestValidManifestsAreAccepted(t *testing.T) {
	for name, m := range map[string]string{"server": validServer, "mailbox": validMailbox, "share": validShare} {
		if err := create(t, m); err != nil {
			t.Errorf("%s: valid manifest rejected: %v", name, err)
		}
	}
}

// TestRejectedManifests: each bad manifest is refused by the API server itself, with a message that tells
// the user what to change.
func TestRejectedManifests(t *testing.T) {
	cases := []struct {
		name, manifest string
		want           []string // substrings of the API server's error
	}{
		{"unknown right", strings.Replace(validShare, "[lookup, read]", "[lookup, read, fly]", 1),
			[]string{`Unsupported value: "fly"`, `"lookup"`, `"administer"`}},
		{"unknown preset", strings.Replace(validShare, "rights: [lookup, read]", "preset: Superuser", 1),
			[]string{`Unsupported value: "Superuser"`}},
		{"grant without rights", strings.Replace(validShare, ", rights: [lookup, read]", "", 1),
			[]string{"a grant needs rights, a preset, or both"}},
		{"folder and specialFolder", strings.Replace(validShare, "specialFolder: Calendar", "specialFolder: Calendar\n  folder: Work", 1),
			[]string{"set exactly one of folder and specialFolder"}},
		{"inline mailbox password", validMailbox + "  password: hunter2\n",
			[]string{"inline passwords are not accepted", "credentialsSecretRef"}},
		{"inline admin password", validServer + "  admin: {secretRef: {name: admin}, password: hunter2}\n",
			[]string{"inline passwords are not accepted"}},
		{"tls none without opt-in", strings.Replace(validServer, "tls: STARTTLS", "tls: None", 1),
			[]string{"tls None sends passwords in clear text", "insecureAllowPlaintext"}},
		{"unknown tls mode", strings.Replace(validServer, "tls: STARTTLS", "tls: SSLv3", 1),
			[]string{`Unsupported value: "SSLv3"`}},
		{"empty login", strings.Replace(validMailbox, "login: alice", `login: ""`, 1),
			[]string{"spec.login", "at least 1 chars long"}},
		{"missing login", strings.Replace(validMailbox, "  login: alice\n", "", 1),
			[]string{"spec.login", "Required value"}},
		{"login with spaces", strings.Replace(validMailbox, "login: alice", `login: "alice smith"`, 1),
			[]string{"spec.login", "should match"}},
		{"sync interval too long", `
apiVersion: mailshift.io/v1
kind: SyncPolicy
metadata: {name: s}
spec: {sourceRef: {name: a}, targetRef: {name: b}, interval: 2h}
`, []string{"interval must be between 1m and 90m"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := create(t, tc.manifest)
			if err == nil {
				t.Fatal("the API server accepted an invalid manifest")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// TestSamplesAreValid: every shipped sample is accepted as written.
func TestSamplesAreValid(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "samples", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no samples found")
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(data), "\n---") {
			if strings.TrimSpace(doc) == "" || !strings.Contains(doc, "mailshift.io/") {
				continue
			}
			if err := create(t, doc); err != nil {
				t.Errorf("%s: %v", filepath.Base(f), err)
			}
		}
	}
}
