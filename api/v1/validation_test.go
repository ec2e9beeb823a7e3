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
	oauth2 := strings.Replace(validMailbox, "  credentialsSecretRef: {name: alice-imap}\n",
		"  oauth2: {tokenURL: \"https://login.example.com/oauth2/token\", clientSecretRef: {name: app}, scopes: [\"https://outlook.office365.com/.default\"]}\n", 1)
	for name, m := range map[string]string{"server": validServer, "mailbox": validMailbox, "share": validShare, "oauth2 mailbox": oauth2} {
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
		{"password and oauth2", validMailbox + "  oauth2: {tokenSecretRef: {name: tok}}\n",
			[]string{"set credentialsSecretRef (a password) or oauth2 (a token), not both"}},
		{"oauth2 token and token URL", strings.Replace(validMailbox, "  credentialsSecretRef: {name: alice-imap}\n",
			"  oauth2: {tokenSecretRef: {name: tok}, tokenURL: \"https://login.example.com/t\", clientSecretRef: {name: app}}\n", 1),
			[]string{"set tokenSecretRef (a token kept fresh by someone else) or tokenURL"}},
		{"oauth2 token URL without client", strings.Replace(validMailbox, "  credentialsSecretRef: {name: alice-imap}\n",
			"  oauth2: {tokenURL: \"https://login.example.com/t\"}\n", 1),
			[]string{"tokenURL needs clientSecretRef"}},
		{"oauth2 refresh grant without refresh token", strings.Replace(validMailbox, "  credentialsSecretRef: {name: alice-imap}\n",
			"  oauth2: {tokenURL: \"https://login.example.com/t\", clientSecretRef: {name: app}, grant: RefreshToken}\n", 1),
			[]string{"grant RefreshToken needs refreshTokenSecretRef"}},
		{"separate calendar without a name", `
apiVersion: mailshift.io/v1
kind: SyncPolicy
metadata: {name: s}
spec: {sourceRef: {name: a}, targetRef: {name: b}, calendar: {target: Separate}}
`, []string{"a Separate calendar needs a name"}},
		{"unknown calendar target", `
apiVersion: mailshift.io/v1
kind: SyncPolicy
metadata: {name: s}
spec: {sourceRef: {name: a}, targetRef: {name: b}, calendar: {target: Shared, name: x}}
`, []string{`Unsupported value: "Shared"`}},
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

const validPSTMigration = `
apiVersion: mailshift.io/v1
kind: MailboxMigration
metadata: {name: pst}
spec:
  mailboxRef: {name: bob}
  source:
    pst:
      volume: {persistentVolumeClaim: {claimName: archives}}
      path: bob/outlook.pst
`

// TestPSTSourceValidation: a PST's volume is a claim, NFS, CSI or ephemeral volume (or hostPath, which the
// manager then judges); its path stays inside the volume.
func TestPSTSourceValidation(t *testing.T) {
	withVolume := func(v string) string {
		return strings.Replace(validPSTMigration, "{persistentVolumeClaim: {claimName: archives}}", v, 1)
	}
	withPath := func(p string) string {
		return strings.Replace(validPSTMigration, "path: bob/outlook.pst", "path: "+p, 1)
	}
	for name, m := range map[string]string{
		"claim":     validPSTMigration,
		"nfs":       withVolume("{nfs: {server: nfs.example.test, path: /exports/pst}}"),
		"csi":       withVolume("{csi: {driver: smb.csi.k8s.io}}"),
		"hostPath":  withVolume("{hostPath: {path: /srv/pst}}"),
		"dots":      withPath("bob/..outlook..pst"),
		"dot":       withPath("./bob/outlook.pst"),
		"ephemeral": withVolume("{ephemeral: {volumeClaimTemplate: {spec: {accessModes: [ReadOnlyMany], resources: {requests: {storage: 1Gi}}}}}}"),
	} {
		if err := create(t, m); err != nil {
			t.Errorf("%s: rejected: %v", name, err)
		}
	}
	cases := []struct{ name, manifest, want string }{
		{"secret volume", withVolume("{secret: {secretName: x}}"), "volume may only be a persistentVolumeClaim, nfs, csi or ephemeral volume"},
		{"configMap volume", withVolume("{configMap: {name: x}}"), "volume may only be"},
		{"claim and secret", withVolume("{persistentVolumeClaim: {claimName: a}, secret: {secretName: x}}"), "volume may only be"},
		{"claim and hostPath", withVolume("{persistentVolumeClaim: {claimName: a}, hostPath: {path: /srv}}"), "exactly one of persistentVolumeClaim, nfs, csi, ephemeral and hostPath"},
		{"no volume kind", withVolume("{}"), "exactly one of"},
		{"absolute path", withPath("/etc/shadow"), "path must be relative"},
		{"dot-dot", withPath("../other-tenant/ceo.pst"), "must not contain '..'"},
		{"dot-dot inside", withPath("bob/../../etc/shadow"), "must not contain '..'"},
		{"dot-dot alone", withPath(".."), "must not contain '..'"},
		{"dot-dot at the end", withPath("bob/.."), "must not contain '..'"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := create(t, tc.manifest)
			if err == nil {
				t.Fatal("the API server accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

const validBatch = `
apiVersion: mailshift.io/v1
kind: MigrationBatch
metadata: {name: sales}
spec:
  selector: {matchLabels: {dept: sales}}
  template:
    spec:
      source:
        pst:
          volume: {persistentVolumeClaim: {claimName: "pst-{{.LocalPart}}"}}
          path: "{{.Login}}/{{.Address}}-{{.Name}}.pst"
`

// TestMigrationBatchTemplateValidation: template fields hold the four placeholders and nothing else that a
// template engine would run.
func TestMigrationBatchTemplateValidation(t *testing.T) {
	if err := create(t, validBatch); err != nil {
		t.Fatalf("valid batch rejected: %v", err)
	}
	loop := "{{range 10000}}{{range 10000}}{{range 10000}}x{{end}}{{end}}{{end}}"
	cases := []struct{ name, manifest, want string }{
		{"range in path", strings.Replace(validBatch, `"{{.Login}}/{{.Address}}-{{.Name}}.pst"`, `"`+loop+`"`, 1),
			"spec.source.pst.path: only the placeholders"},
		{"function in path", strings.Replace(validBatch, `"{{.Login}}/`, `"{{printf \"%s\" .Login}}/`, 1),
			"spec.source.pst.path: only the placeholders"},
		{"spaced placeholder", strings.Replace(validBatch, `"{{.Login}}/`, `"{{ .Login }}/`, 1),
			"spec.source.pst.path: only the placeholders"},
		{"range in claim", strings.Replace(validBatch, `"pst-{{.LocalPart}}"`, `"`+loop+`"`, 1),
			"claimName: at most 253 characters, and only the placeholders"},
		{"long claim", strings.Replace(validBatch, `"pst-{{.LocalPart}}"`, `"`+strings.Repeat("a", 254)+`"`, 1),
			"claimName: at most 253 characters"},
		{"range in login", `
apiVersion: mailshift.io/v1
kind: MigrationBatch
metadata: {name: exo}
spec:
  selector: {matchLabels: {dept: sales}}
  template:
    spec:
      source:
        imap:
          host: outlook.office365.com
          auth: XOAUTH2
          tokenSecretRef: {name: t}
          login: "{{range 9}}{{.Address}}{{end}}"
`, "spec.source.imap.login: only the placeholders"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := create(t, tc.manifest)
			if err == nil {
				t.Fatal("the API server accepted it")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
