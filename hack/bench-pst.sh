#!/usr/bin/env bash
# bench-pst.sh: read every item of every PST fixture with mailshift's pure-Go reader (all properties, all
# attachment bytes: BenchmarkReadEverything in internal/pst) and with readpst (Debian pst-utils) over the
# same files in the same run, and print items/s, MB/s and peak RSS of both and their ratio.
#
# Usage: hack/bench-pst.sh [FIXTURE_DIR]   (default $MAILSHIFT_PST_TESTDATA or ../shared/testdata/pst beside the repo)
# Env:   BENCHTIME (default 3x)
set -euo pipefail

cd "$(dirname "$0")/.."
DIR="${1:-${MAILSHIFT_PST_TESTDATA:-$(cd .. && pwd)/shared/testdata/pst}}"
BENCHTIME="${BENCHTIME:-3x}"
[[ -d "$DIR" ]] || { echo "bench-pst: no fixture directory $DIR" >&2; exit 2; }

need=()
command -v readpst >/dev/null || need+=(pst-utils)
[[ -x /usr/bin/time ]] || need+=(time)
if ((${#need[@]})); then
	echo "bench-pst: installing ${need[*]}" >&2
	SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
	$SUDO apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

echo "bench-pst: building mailshift" >&2
CGO_ENABLED=0 go build -o "$TMP/mailshift" ./cmd/mailshift
go test -c -o "$TMP/pst.test" ./internal/pst

shopt -s nullglob
files=("$DIR"/*.pst)
((${#files[@]})) || { echo "bench-pst: no .pst files in $DIR" >&2; exit 2; }
total_bytes=$(cat "${files[@]}" | wc -c)

# rss KB from a /usr/bin/time -v log
rss() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }

echo "bench-pst: Go reader (BenchmarkReadEverything, -benchtime $BENCHTIME)" >&2
MAILSHIFT_PST_TESTDATA="$DIR" /usr/bin/time -v -o "$TMP/go.time" \
	"$TMP/pst.test" -test.run '^$' -test.bench '^BenchmarkReadEverything$' -test.benchtime "$BENCHTIME" \
	-test.benchmem >"$TMP/go.out"
cat "$TMP/go.out" >&2
go_items_s=$(awk '/BenchmarkReadEverything/ {for (i=1;i<NF;i++) if ($(i+1)=="items/s") print $i}' "$TMP/go.out")
go_mb_s=$(awk '/BenchmarkReadEverything/ {for (i=1;i<NF;i++) if ($(i+1)=="MB/s") print $i}' "$TMP/go.out")
go_items=$(awk '/BenchmarkReadEverything/ {for (i=1;i<NF;i++) if ($(i+1)=="items/op") print $i}' "$TMP/go.out")
go_rss=$(rss "$TMP/go.time")

echo "bench-pst: readpst -D -e -j 0 over the same ${#files[@]} files" >&2
cat >"$TMP/readpst-all.sh" <<'SH'
#!/usr/bin/env bash
out="$1"; shift
for f in "$@"; do
	d="$out/$(basename "$f" .pst)"; mkdir -p "$d"
	readpst -q -D -e -j 0 -o "$d" "$f" >/dev/null 2>&1 || true
done
SH
chmod +x "$TMP/readpst-all.sh"
start=$(date +%s.%N)
/usr/bin/time -v -o "$TMP/readpst.time" "$TMP/readpst-all.sh" "$TMP/readpst-out" "${files[@]}"
end=$(date +%s.%N)
rp_sec=$(echo "$end - $start" | bc -l)
rp_rss=$(rss "$TMP/readpst.time")
# readpst writes one file per exported item plus attachment files; count its items by the item files.
rp_items=$(find "$TMP/readpst-out" -type f \( -name '*.eml' -o -name '*.vcf' -o -name '*.ics' \) | wc -l)
rp_items_s=$(echo "$rp_items / $rp_sec" | bc -l)
rp_mb_s=$(echo "$total_bytes / 1000000 / $rp_sec" | bc -l)

printf '\n%-10s %12s %12s %14s %10s\n' reader items items/s "MB/s" "peak RSS"
printf '%-10s %12.0f %12.1f %14.2f %8s KB\n' mailshift "${go_items:-0}" "${go_items_s:-0}" "${go_mb_s:-0}" "$go_rss"
printf '%-10s %12d %12.1f %14.2f %8s KB\n' readpst "$rp_items" "$rp_items_s" "$rp_mb_s" "$rp_rss"
printf "\nratio mailshift/readpst: items/s %.2f, peak RSS %.2f\n" \
	"$(echo "${go_items_s:-0} / $rp_items_s" | bc -l)" "$(echo "$go_rss / $rp_rss" | bc -l)"
ratio_mb=$(echo "${go_mb_s:-0} / $rp_mb_s" | bc -l)
printf 'ratio mailshift/readpst: MB/s %.2f\n' "$ratio_mb"
echo "(MB/s is PST file bytes per second of wall time for both. mailshift reads every property and attachment" \
	"of every normal and FAI item into memory and discards it; readpst -e also writes .eml/.vcf/.ics and attachment" \
	"files and skips classes it does not support, so its item count is lower. mailshift peak RSS includes the Go" \
	"test binary and runtime.)"
