#!/usr/bin/env bash
# bench-sync.sh: a two-way `mailshift sync` cycle against mbsync's (Debian isync, which syncs two IMAP
# accounts both ways, one connection per side), in the same run, on every storage format: each cell is a
# throwaway server on loopback (hack/dovecot.sh in Maildir, sdbox or mdbox; hack/cyrus.sh), measured directly
# and then, on a fresh server, through a proxy adding 5 ms each way (toxiproxy).
#
# A round, for each tool in turn on the same fresh pair of accounts (alice, the source, and bob): the corpus
# of the migration benchmark (hack/benchmigrate: several folders, flags, keywords, dates) is loaded into
# alice; the tool's first cycle copies it to bob (timed, no target); then the same 50 changes are made on each
# side as their users would (20 new messages, 20 flag changes, 10 deletions; hack/benchmigrate mutate), the
# tool runs a change cycle and then a cycle with nothing changed (the no-op), both timed, and both accounts
# must then hold the same messages with the same flags (hack/benchmigrate digest). Rounds alternate the tools;
# each ratio is the median of the rounds' own ratios (this machine's speed drifts from one minute to the next).
#
# Targets (issue 16): the change cycle no slower than mbsync's on loopback, at most half of mbsync's time with
# latency; a no-op cycle no slower than mbsync's no-op; mailshift's peak RSS under 100 MiB.
#
# Usage: hack/bench-sync.sh   (or make bench-sync)
# Env:   BENCH_FORMATS (default "maildir sdbox mdbox cyrus"), BENCH_CORPUS (plain, default, or mime),
#        BENCH_MESSAGES (per cell, default 5000; Cyrus 1000: it stores ten times slower here),
#        BENCH_ROUNDS (default 3), BENCH_SKIP_LATENCY=1, BENCH_FSYNC (Dovecot's mail_fsync, default
#        optimized), BENCH_MAILSHIFT (a mailshift binary to measure instead of this tree's), MAILSHIFT_CACHE.
# Exit:  0 when every pass ran and left both accounts in step, whether the targets are met or not (this is a
#        measurement); 1 when a tool failed or the accounts differ; 2 when something is missing.
set -euo pipefail

cd "$(dirname "$0")/.."
top=$(pwd)
N=${BENCH_MESSAGES:-}
ROUNDS=${BENCH_ROUNDS:-3}
SKIP_LATENCY=${BENCH_SKIP_LATENCY:-0}
read -r -a FORMATS <<<"${BENCH_FORMATS:-maildir sdbox mdbox cyrus}"
KIND=${BENCH_CORPUS:-plain}
BENCH_MAILSHIFT=${BENCH_MAILSHIFT:-}
FSYNC=${BENCH_FSYNC:-optimized}
CACHE=${MAILSHIFT_CACHE:-$top/.cache}
TOXIPROXY_VERSION=v2.5.0
LATENCY_MS=5
T_CHANGE=1      # mbsync's change cycle time / mailshift's, on loopback
T_LAT_CHANGE=2  # the same with latency: mailshift at most half of mbsync's time
T_NOOP=1        # mbsync's no-op time / mailshift's
T_RSS_MIB=100

say() { echo "bench-sync: $*" >&2; }
die() { say "$*"; exit 2; }

[[ -z $N || $N =~ ^[1-9][0-9]*$ ]] || die "BENCH_MESSAGES must be a positive number, not '$N'"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive number, not '$ROUNDS'"
[[ $KIND == plain || $KIND == mime ]] || die "BENCH_CORPUS must be plain or mime, not '$KIND'"

# shellcheck source=hack/lib-bench.sh
source hack/lib-bench.sh


cell_size() { # FORMAT
	if [[ -n $N ]]; then echo "$N"; elif [[ $1 == cyrus ]]; then echo 1000; else echo 5000; fi
}

# mbsync_rc FILE ADDR STATE: mbsync syncing alice and bob both ways, deletions carried over.
mbsync_rc() {
	local host=${2%:*} port=${2##*:} side user
	: >"$1"
	for side in alice bob; do
		cat >>"$1" <<EOF
IMAPAccount $side
Host $host
Port $port
User $side
Pass ${PASS[$side]}
SSLType None
AuthMechs LOGIN

IMAPStore $side
Account $side

EOF
	done
	cat >>"$1" <<EOF
Channel sync
Far :alice:
Near :bob:
Patterns *
Create Both
Remove None
Expunge Both
Sync All
CopyArrivalDate yes
SyncState $3/
EOF
	chmod 0600 "$1"
}

# in_step KEY: alice and bob must hold the same messages with the same system flags after pass KEY.
in_step() {
	local a b
	# shellcheck disable=SC2046
	a=$("$BM" digest $(acct alice)) && b=$("$BM" digest $(acct bob)) || { BAD[$1]=1; fail "$1: digest failed"; return; }
	if [[ $a != "$b" ]]; then
		BAD[$1]=1
		fail "$1: alice and bob differ after it:"$'\n'"$(diff <(echo "$a") <(echo "$b") | head -20)"
	fi
}

# tool_round SETUP TOOL ADDR N R: one round of TOOL on a fresh pair.
tool_round() {
	local setup=$1 tool=$2 addr=$3 n=$4 r=$5 state cycle
	fresh alice
	fresh bob
	# shellcheck disable=SC2046
	"$BM" load $(acct alice) -n "$n" -corpus "$KIND" >/dev/null || { fail "[$setup] loading the corpus"; return; }
	state=$TMP/state-$tool-$RANDOM
	mkdir -p "$state"
	if [[ $tool == mailshift ]]; then
		# One two-way cycle of alice and bob.
		cycle=("$TMP/mailshift" sync --from "imap://alice@$addr" --to "imap://bob@$addr" --tls none --allow-plaintext
			--from-password-file "$TMP/pw.alice" --to-password-file "$TMP/pw.bob" --state "$state"
			--direction two-way --deletions propagate --conflicts keep-both)
	else
		mbsync_rc "$TMP/mbsyncrc" "$addr" "$state"
		cycle=(mbsync -c "$TMP/mbsyncrc" -a)
	fi
	say "[$setup] round $r/$ROUNDS: $tool first cycle ($n messages to bob)"
	timed "$setup|$tool|first#$r" "${cycle[@]}" || fail "[$setup] $tool first cycle failed"
	# shellcheck disable=SC2046
	"$BM" mutate $(acct alice) -seed $((2 * r)) -tag "a$r" && "$BM" mutate $(acct bob) -seed $((2 * r + 1)) -tag "b$r" ||
		{ fail "[$setup] changing the accounts"; return; }
	say "[$setup] round $r/$ROUNDS: $tool change cycle (50 changes each side)"
	timed "$setup|$tool|change#$r" "${cycle[@]}" || fail "[$setup] $tool change cycle failed"
	say "[$setup] round $r/$ROUNDS: $tool no-op cycle"
	timed "$setup|$tool|no-op#$r" "${cycle[@]}" || fail "[$setup] $tool no-op cycle failed"
	in_step "$setup|$tool|no-op#$r"
}

run_cell() { # SETUP ADDR N
	local setup=$1 addr=$2 n=$3 r tool pass
	for ((r = 1; r <= ROUNDS; r++)); do
		# Alternate which tool goes first, so neither always meets the server a round later.
		if ((r % 2)); then tool_round "$setup" mailshift "$addr" "$n" "$r"; tool_round "$setup" mbsync "$addr" "$n" "$r"
		else tool_round "$setup" mbsync "$addr" "$n" "$r"; tool_round "$setup" mailshift "$addr" "$n" "$r"; fi
	done
	for tool in mailshift mbsync; do
		for pass in first change no-op; do
			median "$setup|$tool|$pass"
			MSGS[$setup|$tool|$pass]=$n
		done
	done
}

print_cell() { # SETUP LATENCY
	local cell=$1 lat=$2 key setup tool pass peak=0
	printf '\n# %s: %s on 127.0.0.1%s, mbsync %s, %s cores, load %s; median of %d rounds\n' "$cell" "$(server_version)" \
		"$( ((lat)) && echo " +${LATENCY_MS} ms each way")" "$(mbsync --version | cut -d' ' -f2)" "$(nproc)" \
		"$(cut -d' ' -f1-3 /proc/loadavg)" "$ROUNDS"
	printf '%-22s %-10s %-8s %8s %9s %13s %8s %6s  %s\n' cell tool pass messages seconds "peak RSS MiB" "CPU s" busy "rounds (s)"
	for key in "${ROWS[@]}"; do
		[[ $key == "$cell|"* ]] || continue
		IFS='|' read -r setup tool pass <<<"$key"
		printf '%-22s %-10s %-8s %8d %9.2f %13.1f %8.2f %5.0f%%  %s%s\n' "$setup" "$tool" "$pass" "${MSGS[$key]:-0}" "${SECS[$key]}" \
			"$(mib "${RSSKB[$key]}")" "${CPUS[$key]:-0}" "${BUSY[$key]:-0}" "${ROUNDSOF[$key]:--}" "${BAD[$key]:+  FAILED}"
		if [[ $tool == mailshift ]] && ((${RSSKB[$key]:-0} > peak)); then peak=${RSSKB[$key]}; fi
	done
	echo
	local t=$T_CHANGE
	((lat)) && t=$T_LAT_CHANGE
	ratio_paired "mbsync change cycle time / mailshift's" "$cell|mailshift|change" "$cell|mbsync|change" "$t" 0
	ratio_paired "mbsync no-op cycle time / mailshift's" "$cell|mailshift|no-op" "$cell|mbsync|no-op" $T_NOOP 0
	ratio_paired "mbsync first cycle time / mailshift's (no target)" "$cell|mailshift|first" "$cell|mbsync|first" 0 0
	ratio "mailshift peak RSS (all cycles)" "$(mib "$peak")" '<' $T_RSS_MIB " MiB"
	SUMMARY+=("$(printf '%-22s %-14s %-14s %-10s' "$cell" \
		"$(summary_of "$cell|mailshift|change" "$cell|mbsync|change" "$t")" \
		"$(summary_of "$cell|mailshift|no-op" "$cell|mbsync|no-op" $T_NOOP)" "$(printf '%.0f' "$(mib "$peak")")")")
}

summary_of() { # A B TARGET: "1.31x PASS"
	local v rounds
	read -r v rounds <<<"$(paired "$1" "$2")"
	[[ -n $v ]] || { echo "n/a MISS"; return; }
	if [[ $(echo "$v >= $3" | bc -l) == 1 ]]; then printf '%.2fx PASS\n' "$v"; else printf '%.2fx MISS\n' "$v"; fi
}

SUMMARY=()
for fmt in "${FORMATS[@]}"; do
	start_cell "$fmt"
	run_cell "$fmt/$KIND" "$DIRECT" "$(cell_size "$fmt")"
	print_cell "$fmt/$KIND" 0
	if [[ $SKIP_LATENCY != 1 ]]; then
		start_cell "$fmt"
		start_latency
		run_cell "$fmt/$KIND+${LATENCY_MS}ms" "$PROXIED" "$(cell_size "$fmt")"
		print_cell "$fmt/$KIND+${LATENCY_MS}ms" 1
	fi
done
printf '\n# Summary: mbsync time / mailshift time, paired rounds (targets: change >= %sx on loopback, >= %sx with +%s ms; no-op >= %sx)\n' \
	$T_CHANGE $T_LAT_CHANGE $LATENCY_MS $T_NOOP
printf '%-22s %-14s %-14s %-10s\n' cell change no-op "RSS MiB"
printf '%s\n' "${SUMMARY[@]}"
if ((FAILED)); then
	say "some passes failed (see above)"
	exit 1
fi
