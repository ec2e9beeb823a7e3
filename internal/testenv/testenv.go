// Package testenv starts a real control plane (etcd + kube-apiserver built by hack/build-controlplane.sh)
// with mailshift's CRDs installed, for controller and API tests.
package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"

	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	mailshiftv1 "github.com/mailshift/mailshift/api/v1"
)

// RepoRoot is the directory holding go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// BinDir is where hack/build-controlplane.sh puts etcd and kube-apiserver.
func BinDir() string {
	if d := os.Getenv("KUBEBUILDER_ASSETS"); d != "" {
		return d
	}
	cache := os.Getenv("MAILSHIFT_CACHE")
	if cache == "" {
		cache = filepath.Join(RepoRoot(), ".cache")
	}
	return filepath.Join(cache, "controlplane", "bin")
}

// Env is a running control plane.
type Env struct {
	env    *envtest.Environment
	Config *rest.Config
	Client client.Client
}

var addToScheme sync.Once

// Start starts etcd and kube-apiserver and installs the CRDs. A missing binary is an error that says how to
// build it: tests that need a control plane fail rather than skip.
func Start() (*Env, error) {
	bin := BinDir()
	for _, b := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return nil, fmt.Errorf("%s not found in %s: run `make controlplane` (hack/build-controlplane.sh)", b, bin)
		}
	}
	// Once per process: registering writes the shared scheme, which managers of earlier tests may still read.
	addToScheme.Do(func() { utilruntime.Must(mailshiftv1.AddToScheme(scheme.Scheme)) })
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join(RepoRoot(), "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
		BinaryAssetsDirectory: bin,
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
	if err != nil {
		_ = env.Stop()
		return nil, err
	}
	return &Env{env: env, Config: cfg, Client: c}, nil
}

// Stop stops the control plane.
func (e *Env) Stop() error { return e.env.Stop() }
