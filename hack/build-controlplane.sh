#!/usr/bin/env bash
# Builds a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager) from the Go module
# proxy into .cache/controlplane/bin. No container runtime or prebuilt download is available here, so the
# binaries are compiled from source through small wrapper modules. Idempotent: a binary that exists with the
# pinned version stamp is not rebuilt.
set -euo pipefail

K8S_VERSION=1.36.3
ETCD_VERSION=3.6.16
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${MAILSHIFT_CACHE:-$top/.cache}
out=$cache/controlplane/bin
work=$cache/controlplane/src
mkdir -p "$out" "$work"
want=${*:-etcd kube-apiserver kube-controller-manager kubectl}

stamp_ok() { [ -x "$out/$1" ] && [ "$(cat "$out/$1.version" 2>/dev/null)" = "$2" ]; }

build_etcd() {
  stamp_ok etcd "$ETCD_VERSION" && return 0
  local d=$work/etcd
  rm -rf "$d" && mkdir -p "$d"
  cat >"$d/main.go" <<'GO'
// Command etcd runs etcd's own entry point; built through this wrapper because the etcd module's replace
// directives forbid `go install`.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  (cd "$d" && go mod init mailshift.local/etcd >/dev/null 2>&1 &&
    go get "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" >/dev/null 2>&1 && go mod tidy >/dev/null 2>&1 &&
    CGO_ENABLED=0 go build -trimpath -o "$out/etcd" .)
  echo "$ETCD_VERSION" >"$out/etcd.version"
  echo "built etcd v$ETCD_VERSION"
}

# k8s_wrapper writes a module requiring k8s.io/kubernetes with every staging module (v0.0.0 in its go.mod)
# replaced by its published v0.X.Y tag.
k8s_wrapper() {
  local d=$work/$1 pkg=$2 ctor=$3
  rm -rf "$d" && mkdir -p "$d"
  cat >"$d/main.go" <<GO
// Command $1 runs the upstream command through component-base's runner.
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"$pkg"
)

func main() { os.Exit(cli.Run(app.$ctor())) }
GO
  local modfile
  modfile=$(cd "$d" && go mod download -json "k8s.io/kubernetes@v$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  local minor=${K8S_VERSION#1.}
  {
    echo "module mailshift.local/$1"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    grep -E '^\s*k8s\.io/[a-z0-9-]+ v0\.0\.0\s*$' "$modfile" | awk -v m="$minor" '{print "replace " $1 " => " $1 " v0." m}'
  } >"$d/go.mod"
  (cd "$d" && go mod tidy >/dev/null)
}

build_k8s() {
  local name=$1 pkg=$2 ctor=$3
  stamp_ok "$name" "$K8S_VERSION" && return 0
  k8s_wrapper "$name" "$pkg" "$ctor"
  local v=k8s.io/component-base/version
  (cd "$work/$name" && CGO_ENABLED=0 go build -trimpath \
    -ldflags "-s -w -X $v.gitVersion=v$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$(echo "$K8S_VERSION" | cut -d. -f2)" \
    -o "$out/$name" .)
  echo "$K8S_VERSION" >"$out/$name.version"
  echo "built $name v$K8S_VERSION"
}

# kubectl is a published module of its own (k8s.io/kubectl), so it needs no replace directives.
build_kubectl() {
  stamp_ok kubectl "$K8S_VERSION" && return 0
  local d=$work/kubectl minor
  minor=$(echo "$K8S_VERSION" | cut -d. -f2)
  rm -rf "$d" && mkdir -p "$d"
  cat >"$d/main.go" <<'GO'
// Command kubectl runs the upstream kubectl command.
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
)

func main() { cli.RunNoErrOutput(cmd.NewDefaultKubectlCommand()) }
GO
  local v=k8s.io/client-go/pkg/version
  (cd "$d" && go mod init mailshift.local/kubectl >/dev/null 2>&1 &&
    go get "k8s.io/kubectl@v0.$minor.${K8S_VERSION##*.}" "k8s.io/component-base@v0.$minor.${K8S_VERSION##*.}" >/dev/null 2>&1 &&
    go mod tidy >/dev/null 2>&1 &&
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X $v.gitVersion=v$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=$minor" -o "$out/kubectl" .)
  echo "$K8S_VERSION" >"$out/kubectl.version"
  echo "built kubectl v$K8S_VERSION"
}

for w in $want; do
  case $w in
  etcd) build_etcd ;;
  kube-apiserver) build_k8s kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver/app NewAPIServerCommand ;;
  kubectl) build_kubectl ;;
  kube-controller-manager) build_k8s kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager/app NewControllerManagerCommand ;;
  *) echo "unknown component $w" >&2; exit 2 ;;
  esac
done
