#!/usr/bin/env bash
# Builds Ory Hydra, a real OAuth 2.0 authorization server, from the Go module proxy into
# $MAILSHIFT_CACHE/hydra/bin/hydra, for the tests of Mailbox OAuth2 (internal/testserver.Hydra): tokens
# from its token endpoint, checked by Dovecot's oauth2 passdb against its introspection endpoint. No
# prebuilt download is available here. Idempotent: a binary with the pinned version stamp is not rebuilt.
#
# Its module cannot be built with `go install` (replace directives), and its zip lacks the nested client
# module one directive points at: the source is copied out of the module cache, that directive dropped (the
# published hydra-client-go of the same API is used), and it is built with SQLite for its in-memory store.
set -euo pipefail

HYDRA_VERSION=2.3.0
top=$(cd "$(dirname "$0")/.." && pwd)
cache=${MAILSHIFT_CACHE:-$top/.cache}
out=$cache/hydra/bin
src=$cache/hydra/src
mkdir -p "$out"
if [ -x "$out/hydra" ] && [ "$(cat "$out/hydra.version" 2>/dev/null)" = "$HYDRA_VERSION" ]; then
  exit 0
fi
command -v gcc >/dev/null || { echo "build-hydra: gcc is needed (SQLite is built with cgo): apt-get install gcc" >&2; exit 1; }
dir=$(cd /tmp && GOFLAGS= go mod download -json "github.com/ory/hydra/v2@v$HYDRA_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "build-hydra: could not download github.com/ory/hydra/v2@v$HYDRA_VERSION" >&2; exit 1; }
rm -rf "$src" && mkdir -p "$(dirname "$src")" && cp -r "$dir" "$src" && chmod -R u+w "$src"
cd "$src"
go mod edit -dropreplace github.com/ory/hydra-client-go/v2
GOFLAGS="-buildvcs=false -mod=mod" GONOSUMDB=github.com/ory/hydra-client-go CGO_ENABLED=1 \
  go build -trimpath -tags sqlite,sqlite_omit_load_extension -o "$out/hydra.new" . >/dev/null
mv "$out/hydra.new" "$out/hydra"
echo "$HYDRA_VERSION" >"$out/hydra.version"
rm -rf "$src"
echo "built hydra v$HYDRA_VERSION"
