#!/usr/bin/env bash
# Runs every fuzz target of the module briefly (FUZZTIME each, default 5s), so that `make test` exercises the
# parsers with fresh random inputs on every run, not only with their seed corpora. A crash fails the run and
# leaves the failing input under the package's testdata/fuzz/ for `go test` to replay.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-5s}
# Go minimizes every new coverage-increasing input before it keeps it, for up to a minute by default, and counts
# no executions meanwhile: a 5 s run that finds a large interesting input in its first seconds spends the rest
# minimizing it and ends on its deadline mid-minimization ("context deadline exceeded"), every time for some
# targets (FuzzParse of internal/freebusy did so in 3 runs of 3). A second of minimization keeps a brief run
# fuzzing; a crasher is still written, only less minimized.
minimizetime=${FUZZMINIMIZETIME:-1s}
status=0
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  ls "$dir"/*_test.go >/dev/null 2>&1 || continue
  targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go | sed 's/^func //' | sort -u || true)
  for t in $targets; do
    echo "fuzz $pkg $t ($fuzztime)"
    log="${TMPDIR:-/tmp}/fuzz-$t.log"
    for attempt in 1 2; do
      if go test "$pkg" -run '^$' -fuzz "^$t\$" -fuzztime "$fuzztime" -fuzzminimizetime "$minimizetime" >"$log" 2>&1; then
        break
      fi
      # Go's fuzzer sometimes reports "context deadline exceeded" when -fuzztime ends while a worker is busy
      # (minimizing, or between inputs) although no input failed; only a written failing input is a finding.
      if ! grep -q "Failing input written" "$log" && grep -q "context deadline exceeded" "$log" && [ $attempt = 1 ]; then
        echo "  (fuzzer stopped on its deadline without a failing input; running $t once more)"
        continue
      fi
      # The controllers' manager logs to the same output; its INFO lines would push the failure out of view.
      echo "FAIL: fuzz $pkg $t"; grep -vE $'^[0-9-]+T[0-9:.]+Z\t(INFO|DEBUG)\t' "$log" | tail -n 30
      # CI machines are thrown away: print the failing input, so that it can be replayed from the log alone.
      input=$(sed -n 's/.*Failing input written to \(testdata\/fuzz\/[^ ]*\).*/\1/p' "$log" | head -n 1)
      if [ -n "$input" ] && [ -f "$dir/$input" ]; then
        echo "--- $input (save it there to replay) ---"; head -c 4096 "$dir/$input"; echo
      fi
      status=1
      break
    done
  done
done
exit $status
