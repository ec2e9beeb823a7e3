#!/usr/bin/env bash
# bench-pst.sh: mailshift's PST reading and exporting against readpst (Debian pst-utils) on every PST fixture,
# in the same run.
#
#   read    every item of every fixture read with mailshift's pure-Go reader (all properties, all attachment
#           bytes: BenchmarkReadEverything in internal/pst) and with readpst -D -e; items/s, MB/s, peak RSS
#   export  the whole export of every fixture, one process per file as a person runs it, in paired rounds:
#           `mailshift pst export --format eml` beside `readpst -D -e` (one .eml per item) and
#           `mailshift pst export --format mbox` beside `readpst -D` (one mbox per folder); the order of the
#           four rotates every round, every run writes into a fresh directory after a `sync`, so nobody
#           pays for the previous run's dirty pages. Prints the median seconds of each and
#           readpst/mailshift (how many times faster mailshift is; the target is at least 2).
#
# Usage: hack/bench-pst.sh [FIXTURE_DIR]   (default $MAILSHIFT_PST_TESTDATA or ../shared/testdata/pst beside the repo)
# Env:   BENCHTIME (default 3x) for read; ROUNDS (default 7) for export; PARTS (default "read export");
#        MAILSHIFT_BIN: a mailshift binary to export with instead of one built from this tree;
#        MAILSHIFT_BEFORE: an earlier mailshift binary raced in the same rounds (before-eml, before-mbox)
set -euo pipefail

cd "$(dirname "$0")/.."
DIR="${1:-${MAILSHIFT_PST_TESTDATA:-$(cd .. && pwd)/shared/testdata/pst}}"
BENCHTIME="${BENCHTIME:-3x}"
ROUNDS="${ROUNDS:-7}"
PARTS="${PARTS:-read export}"
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

if [[ -n "${MAILSHIFT_BIN:-}" ]]; then
	cp "$MAILSHIFT_BIN" "$TMP/mailshift" # an earlier build, to compare before and after a change
else
	echo "bench-pst: building mailshift" >&2
	CGO_ENABLED=0 go build -o "$TMP/mailshift" ./cmd/mailshift
fi

shopt -s nullglob
files=("$DIR"/*.pst)
((${#files[@]})) || { echo "bench-pst: no .pst files in $DIR" >&2; exit 2; }
total_bytes=$(cat "${files[@]}" | wc -c)

# rss KB from a /usr/bin/time -v log
rss() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }

bench_read() {
	go test -c -o "$TMP/pst.test" ./internal/pst
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
}

# export-all.sh TOOL OUT FILE...: the whole export of every FILE by TOOL into OUT, one process per file, as
# a person runs it. Run under /usr/bin/time, so the CPU seconds of every process are counted.
cat >"$TMP/export-all.sh" <<'SH'
#!/usr/bin/env bash
set -u
tool="$1" out="$2" bin="$3"; shift 3
for f in "$@"; do
	d="$out/$(basename "$f" .pst)"
	case "$tool" in
	mailshift-eml | mailshift-mbox | before-eml | before-mbox)
		# exit 1 means some items of the fixture are unreadable, which both tools meet alike
		rc=0
		[[ $tool == before-* ]] && bin="${bin%/*}/mailshift-before"
		"$bin" pst export "$f" --to "$d" --format "${tool#*-}" >/dev/null 2>"$out.stderr" || rc=$?
		if ((rc > 1)); then
			echo "bench-pst: mailshift pst export $f: exit $rc: $(head -c 2000 "$out.stderr")" >&2
			exit 1
		fi
		;;
	readpst-eml) mkdir -p "$d" && readpst -q -D -j 0 -e -o "$d" "$f" >/dev/null 2>&1 ;;
	readpst-mbox) mkdir -p "$d" && readpst -q -D -j 0 -o "$d" "$f" >/dev/null 2>&1 ;;
	esac
done
exit 0
SH
chmod +x "$TMP/export-all.sh"

median() { sort -g | awk '{v[NR] = $1} END {if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

bench_export() {
	local tools=(mailshift-eml readpst-eml mailshift-mbox readpst-mbox) r i t wall cpu
	if [[ -n "${MAILSHIFT_BEFORE:-}" ]]; then
		cp "$MAILSHIFT_BEFORE" "$TMP/mailshift-before"
		tools+=(before-eml before-mbox)
	fi
	echo "bench-pst: export of all ${#files[@]} fixtures, $ROUNDS rounds of ${tools[*]} (order rotating)" >&2
	for ((r = 0; r < ROUNDS; r++)); do
		for ((i = 0; i < ${#tools[@]}; i++)); do
			t=${tools[$(((i + r) % ${#tools[@]}))]}
			mkdir -p "$TMP/export-$t"
			sync # nobody pays for the previous run's dirty pages
			/usr/bin/time -f '%e %U %S' -o "$TMP/$t.time" "$TMP/export-all.sh" "$t" "$TMP/export-$t" "$TMP/mailshift" "${files[@]}"
			read -r wall user sys <"$TMP/$t.time"
			cpu=$(echo "$user + $sys" | bc -l)
			echo "$wall" >>"$TMP/$t.wall"
			echo "$cpu" >>"$TMP/$t.cpu"
			printf 'bench-pst: round %d %-15s %6.2f s wall %6.2f s CPU (%s files, %s)\n' "$((r + 1))" "$t" "$wall" "$cpu" \
				"$(find "$TMP/export-$t" -type f | wc -l)" "$(du -sh "$TMP/export-$t" | cut -f1)" >&2
			rm -rf "$TMP/export-$t"
		done
	done
	declare -A wall_med cpu_med
	for t in "${tools[@]}"; do
		wall_med[$t]=$(median <"$TMP/$t.wall")
		cpu_med[$t]=$(median <"$TMP/$t.cpu")
	done
	printf '\n%-6s %18s %18s %18s %18s\n' format "mailshift wall s" "readpst wall s" "readpst/mailshift" "same in CPU s"
	for fm in eml mbox; do
		printf '%-6s %18.2f %18.2f %17.2fx %10.2f/%.2f %5.2fx\n' "$fm" "${wall_med[mailshift-$fm]}" "${wall_med[readpst-$fm]}" \
			"$(echo "${wall_med[readpst-$fm]} / ${wall_med[mailshift-$fm]}" | bc -l)" \
			"${cpu_med[mailshift-$fm]}" "${cpu_med[readpst-$fm]}" \
			"$(echo "${cpu_med[readpst-$fm]} / ${cpu_med[mailshift-$fm]}" | bc -l)"
	done
	if [[ -n "${MAILSHIFT_BEFORE:-}" ]]; then
		for fm in eml mbox; do
			printf 'before %s: %.2f s wall, %.2f s CPU; now %.2fx as fast (wall), %.2fx (CPU)\n' "$fm" \
				"${wall_med[before-$fm]}" "${cpu_med[before-$fm]}" \
				"$(echo "${wall_med[before-$fm]} / ${wall_med[mailshift-$fm]}" | bc -l)" \
				"$(echo "${cpu_med[before-$fm]} / ${cpu_med[mailshift-$fm]}" | bc -l)"
		done
	fi
	echo "(medians over $ROUNDS rounds of the whole export of all ${#files[@]} files, one process per file;" \
		"readpst/mailshift is how many times faster mailshift is, the target is 2. CPU is user+sys of all" \
		"processes (mailshift uses up to --jobs, default all, CPUs; readpst -j 0 one). mailshift ends each" \
		"export with one sync of its output; readpst does not sync. readpst -D exports deleted items too, as" \
		"mailshift does.)"
}

for part in $PARTS; do
	case "$part" in
	read) bench_read ;;
	export) bench_export ;;
	*) echo "bench-pst: unknown part $part (read, export)" >&2; exit 2 ;;
	esac
done
