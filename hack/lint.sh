#!/usr/bin/env bash
# lint.sh: golangci-lint with the repository's .golangci.yml on the main module and on hack/chart (its own
# module). The linter is built from the Go module proxy once per version into the cache
# ($MAILSHIFT_CACHE/bin/golangci-lint-<version>); later runs reuse it.
#
# Usage: hack/lint.sh [golangci-lint run flags...]   e.g. hack/lint.sh --fix
# Env:   GOLANGCI_LINT_VERSION (default below; a change rebuilds), MAILSHIFT_CACHE (default <repo>/.cache)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
GOLANGCI_LINT_VERSION=${GOLANGCI_LINT_VERSION:-v2.15.0}
[[ $GOLANGCI_LINT_VERSION =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "lint: bad GOLANGCI_LINT_VERSION '$GOLANGCI_LINT_VERSION'" >&2; exit 2; }
cache=${MAILSHIFT_CACHE:-$root/.cache}
bin=$cache/bin/golangci-lint-$GOLANGCI_LINT_VERSION

if [[ ! -x $bin ]]; then
  echo "lint: building golangci-lint $GOLANGCI_LINT_VERSION into $bin (once per version)"
  mkdir -p "$cache/bin"
  build=$(mktemp -d "$cache/bin/.golangci-lint-build.XXXXXX")
  trap 'rm -rf "$build"' EXIT
  # Outside the repository, so that its go.mod does not take part; the module's own go.sum pins its deps.
  (cd "$build" && GOBIN=$build GOFLAGS=-buildvcs=false go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$GOLANGCI_LINT_VERSION")
  # A rename is atomic: a build killed halfway leaves no binary that looks finished.
  mv "$build/golangci-lint" "$bin"
fi

status=0
echo "lint: main module"
"$bin" run --config "$root/.golangci.yml" "$@" ./... || status=1
# The Outlook connector is Windows code (cgo, mingw-w64): linted as such where the cross-compiler is installed
# (`make test` installs it before linting).
if command -v x86_64-w64-mingw32-gcc >/dev/null; then
  echo "lint: connector (windows/amd64)"
  GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc "$bin" run --config "$root/.golangci.yml" "$@" ./connector/ || status=1
else
  echo "lint: connector skipped: no x86_64-w64-mingw32-gcc (hack/install-deps.sh wine)"
fi
echo "lint: hack/chart"
(cd hack/chart && "$bin" run --config "$root/.golangci.yml" "$@" ./...) || status=1
exit $status
