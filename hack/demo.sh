#!/usr/bin/env bash
# make demo: runs hack/demo (see its doc comment). `hack/demo.sh down` stops a demo left running.
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./hack/demo "$@"
