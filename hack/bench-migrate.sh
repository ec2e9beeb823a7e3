#!/usr/bin/env bash
# bench-migrate.sh: `mailshift migrate` IMAP to IMAP against mbsync (Debian isync) and against the server's raw
# APPEND ceiling (appendlimit: pipelined LITERAL+ APPENDs from a client that costs nothing), in the same run,
# on every storage format and corpus of a matrix: each cell is a throwaway server on loopback (hack/dovecot.sh,
# hack/cyrus.sh), measured directly and then, on a fresh server, through a proxy adding 5 ms each way
# (toxiproxy). Prints, per cell, seconds, msg/s, MB/s and peak RSS of every pass and the ratios against their
# targets, and at the end one summary of every cell's ratios.
#
#   formats   maildir, sdbox, mdbox: Dovecot with that mail_location; cyrus: Cyrus IMAP (hack/cyrus.sh, its imapd
#             from $MAILSHIFT_CACHE). Concurrent APPENDs into one folder cost very differently on them.
#   corpora   mime: BENCH_MESSAGES realistic RFC 5322 messages (log-uniform 1-200 KiB, some multipart with
#             base64 attachments); plain: as many short text/plain messages (about 0.5-3 KiB), where the cost
#             per message dominates. Both: unique Message-IDs, flags, keywords, INTERNALDATEs, five folders among
#             them "Projekte/Ärger", written by hack/benchmigrate and loaded into alice with pipelined APPENDs
#   mailshift alice -> bob, --parallel 4: full pass into a fresh bob, as it runs by default and with
#             --keep-order (one connection per folder); no-op pass with a fresh checkpoint (the identity check:
#             every message compared); no-op pass with the default full pass's checkpoint kept
#   mbsync    alice -> carol (one connection per side, pipelined, CopyArrivalDate): full pass into a fresh
#             carol; no-op pass with its sync state kept (its normal re-run)
#   ceiling   appendlimit with 4 connections into 4 fresh folders of a fresh account (mailadmin on Dovecot; bob
#             on Cyrus, where mailadmin is the admin, without mail of its own), the same corpus files, \Seen set
# The four full passes run BENCH_ROUNDS times, interleaved (mailshift --keep-order, mailshift, mbsync, ceiling,
# mailshift --keep-order, ...), and the median of each is what the table shows; the ratios are the medians of
# each round's own ratio: this machine's disk and CPU share vary from one minute to the next by a factor of two
# or more, and a single pass of each would compare one tool's good minute with another's bad one. Every row
# shows its rounds, the client's own CPU seconds, and how busy the whole machine was (100% = every core), which
# tells a CPU-bound pass from a disk-bound one.
#
# Cells are small so that the whole default matrix (4 formats x 2 corpora, 2000 messages on loopback and 1000
# behind the proxy per Dovecot cell, 500 and 300 per Cyrus cell, 3 rounds: 16 cells) takes about 20 minutes on
# an idle 2-core machine (a Dovecot cell about 2 minutes, a Cyrus one about 1; ten times that on a machine
# whose load is 25). 2000 messages is about the least where the corpus's INBOX (38 %) is cut into segments; BENCH_FORMATS,
# BENCH_CORPORA, BENCH_SKIP_LATENCY=1 and smaller BENCH_MESSAGES make it shorter.
#
# Usage: hack/bench-migrate.sh   (or make bench-migrate)
# Env:   BENCH_FORMATS (default "maildir sdbox mdbox cyrus"), BENCH_CORPORA (default "mime plain"),
#        BENCH_MESSAGES (per cell, default 2000; Cyrus 500), BENCH_LATENCY_MESSAGES (default 1000; Cyrus 300),
#        BENCH_SKIP_LATENCY=1,
#        BENCH_PARALLEL (mailshift's --parallel, default 4), BENCH_ROUNDS (default 3), BENCH_FSYNC (Dovecot's
#        mail_fsync: default optimized, Dovecot's own default and what a production server runs, so every APPEND
#        waits for the disk as it does there; never takes the disk out, which makes every pass CPU-bound on a
#        small machine, where the ceiling's server only stores while the migrating tools' server also reads),
#        APPENDLIMIT_DIR (default ../shared/tools/appendlimit beside the repo), MAILSHIFT_CACHE (default .cache;
#        Cyrus's imapd is there, the toxiproxy binaries are built into it once), BENCH_MAILSHIFT (a mailshift
#        binary to measure instead of one built from this tree: an older build, to compare), BENCH_MAILSHIFT_ARGS
#        (more flags for every mailshift pass), MAILSHIFT_DOVECOT_MAILDIR=yes (the older way to ask for Maildir:
#        BENCH_FORMATS defaults to maildir then)
# Exit:  0 when every tool ran and every target holds exactly the corpus, whether the targets below are met
#        or not (this is a measurement); 1 when a tool failed or a count is wrong; 2 when something is missing.
set -euo pipefail

cd "$(dirname "$0")/.."
top=$(pwd)
N=${BENCH_MESSAGES:-}
NLAT=${BENCH_LATENCY_MESSAGES:-}
# cell_size FORMAT LATENCY: the messages of a cell. Cyrus stores about ten times slower than Dovecot here (it
# fsyncs every APPEND): its cells are smaller unless BENCH_MESSAGES / BENCH_LATENCY_MESSAGES say otherwise.
cell_size() {
	if (($2)); then
		[[ $1 == cyrus ]] && echo "${NLAT:-300}" || echo "${NLAT:-1000}"
	else
		[[ $1 == cyrus ]] && echo "${N:-500}" || echo "${N:-2000}"
	fi
}
SKIP_LATENCY=${BENCH_SKIP_LATENCY:-0}
ROUNDS=${BENCH_ROUNDS:-3}
DEFAULT_FORMATS="maildir sdbox mdbox cyrus"
[[ ${MAILSHIFT_DOVECOT_MAILDIR:-} == yes ]] && DEFAULT_FORMATS=maildir
read -r -a FORMATS <<<"${BENCH_FORMATS:-$DEFAULT_FORMATS}"
read -r -a CORPORA <<<"${BENCH_CORPORA:-mime plain}"
BENCH_MAILSHIFT=${BENCH_MAILSHIFT:-}
FSYNC=${BENCH_FSYNC:-optimized}
APPENDLIMIT_DIR=${APPENDLIMIT_DIR:-$(cd .. && pwd)/shared/tools/appendlimit}
CACHE=${MAILSHIFT_CACHE:-$top/.cache}
TOXIPROXY_VERSION=v2.5.0
LATENCY_MS=5
PARALLEL=${BENCH_PARALLEL:-4}
read -r -a MAILSHIFT_ARGS <<<"${BENCH_MAILSHIFT_ARGS:-}"
# Targets.
T_FULL_VS_MBSYNC=1.2
T_FULL_VS_CEILING=0.85
T_NOOP_VS_MBSYNC=2
T_RSS_MIB=100
T_LAT_FULL_VS_MBSYNC=2.5

say() { echo "bench-migrate: $*" >&2; }
die() { say "$*"; exit 2; }

[[ -z $N || $N =~ ^[1-9][0-9]*$ ]] || die "BENCH_MESSAGES must be a positive number, not '$N'"
[[ -z $NLAT || $NLAT =~ ^[1-9][0-9]*$ ]] || die "BENCH_LATENCY_MESSAGES must be a positive number, not '$NLAT'"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive number, not '$ROUNDS'"
[[ -f $APPENDLIMIT_DIR/main.go && -f $APPENDLIMIT_DIR/go.mod ]] || die "no appendlimit in $APPENDLIMIT_DIR (set APPENDLIMIT_DIR)"
((${#CORPORA[@]})) || die "BENCH_CORPORA names no corpus"
for c in "${CORPORA[@]}"; do
	[[ $c == mime || $c == plain ]] || die "BENCH_CORPORA: unknown corpus '$c' (mime, plain)"
done


# shellcheck source=hack/lib-bench.sh
source hack/lib-bench.sh

say "building appendlimit"
# appendlimit is its own module: built from its own directory (what `go run` there does, minus the compile
# time inside the measurement).
(cd "$APPENDLIMIT_DIR" && go build -o "$TMP/appendlimit" .)
# count_check USER N KEY: after pass KEY the account must hold the corpus of N, folder by folder.
count_check() {
	# shellcheck disable=SC2046
	if ! "$BM" count $(acct "$1") -n "$2" >/dev/null; then
		BAD[$3]=1
		fail "$3: $1 does not hold the corpus of $2"
	fi
}

# report_check KEY WANT_COPIED WANT_PRESENT: a mailshift --report says what the pass should have done.
report_check() {
	local key=$1 items copied present failed skipped bytes
	read -r items copied present failed skipped bytes <<<"$("$BM" report "$REPORT")" || { fail "$key: no report"; return; }
	if [[ $copied != "$2" || $present != "$3" || $failed != 0 ]]; then
		BAD[$key]=1
		fail "$key: mailshift reported $items items, $copied copied, $present present, $failed failed, $skipped skipped (expected $2 copied, $3 present)"
	fi
}

mailshift_pass() { # KEY CLIENT_ADDR CHECKPOINT [FLAG...]
	local key=$1 addr=$2 ck=$3
	shift 3
	REPORT=$TMP/report-$RANDOM.json
	timed "$key" "$TMP/mailshift" migrate --from "imap://alice@$addr" --to "imap://bob@$addr" --tls none --allow-plaintext \
		--from-password-file "$TMP/pw.alice" --to-password-file "$TMP/pw.bob" --parallel "$PARALLEL" \
		--report "$REPORT" --checkpoint "$ck" "$@" ${MAILSHIFT_ARGS[@]+"${MAILSHIFT_ARGS[@]}"} || fail "$key: mailshift migrate failed"
}

mbsync_rc() { # FILE CLIENT_ADDR STATE_DIR
	local host=${2%:*} port=${2##*:}
	cat >"$1" <<EOF
IMAPAccount source
Host $host
Port $port
User alice
Pass ${PASS[alice]}
SSLType None
AuthMechs LOGIN

IMAPStore source
Account source

IMAPAccount target
Host $host
Port $port
User carol
Pass ${PASS[carol]}
SSLType None
AuthMechs LOGIN

IMAPStore target
Account target

Channel migrate
Far :source:
Near :target:
Patterns *
Create Near
Remove None
Expunge None
Sync Pull
CopyArrivalDate yes
SyncState $3/
EOF
	chmod 0600 "$1"
}

KO="mailshift --keep-order"
# run_setup SETUP N CORPUS CLIENT_ADDR: the whole comparison with N messages of CORPUS, the clients talking to
# CLIENT_ADDR.
run_setup() {
	local setup=$1 n=$2 kind=$3 addr=$4 corpus=$TMP/corpus-$3-$2
	if [[ ! -d $corpus ]]; then
		say "[$setup] writing the $kind corpus of $n messages"
		CORPUS_BYTES[$kind-$n]=$("$BM" gen -n "$n" -corpus "$kind" -out "$corpus")
	fi
	local bytes=${CORPUS_BYTES[$kind-$n]}
	say "[$setup] loading $n messages ($(echo "$bytes / 1048576" | bc) MiB) into alice"
	for u in alice bob carol mailadmin; do
		[[ $FORMAT == cyrus && $u == mailadmin ]] || fresh "$u"
	done
	# shellcheck disable=SC2046
	"$BM" load $(acct alice) -n "$n" -corpus "$kind" || { fail "[$setup] loading the corpus"; return; }
	# One untimed read of everything: the first timed pass would otherwise pay for the server's cold caches.
	# shellcheck disable=SC2046
	"$BM" warm $(acct alice) || { fail "[$setup] warming up"; return; }
	count_check alice "$n" "$setup|load"

	# The ceiling's account: Cyrus's mailadmin is the admin, with no mail of its own.
	CEIL_USER=mailadmin
	[[ $FORMAT == cyrus ]] && CEIL_USER=bob
	local r ck state tag key
	for ((r = 1; r <= ROUNDS; r++)); do
		say "[$setup] round $r/$ROUNDS: mailshift --keep-order full pass (alice -> bob, --parallel $PARALLEL)"
		fresh bob
		key="$setup|$KO|full#$r"
		mailshift_pass "$key" "$addr" "$TMP/checkpoint-$RANDOM.json" --keep-order && report_check "$key" "$n" 0
		count_check bob "$n" "$key"

		say "[$setup] round $r/$ROUNDS: mailshift full pass (alice -> bob, --parallel $PARALLEL)"
		fresh bob
		ck=$TMP/checkpoint-$RANDOM.json
		key="$setup|mailshift|full#$r"
		mailshift_pass "$key" "$addr" "$ck" && report_check "$key" "$n" 0
		count_check bob "$n" "$key"

		say "[$setup] round $r/$ROUNDS: mbsync full pass (alice -> carol)"
		fresh carol
		state=$TMP/mbsync-state-$RANDOM
		mkdir -p "$state"
		mbsync_rc "$TMP/mbsyncrc" "$addr" "$state"
		key="$setup|mbsync|full#$r"
		timed "$key" mbsync -c "$TMP/mbsyncrc" -a || fail "[$setup] mbsync full pass failed"
		count_check carol "$n" "$key"

		say "[$setup] round $r/$ROUNDS: raw APPEND ceiling (appendlimit, 4 connections into 4 folders of $CEIL_USER)"
		fresh "$CEIL_USER"
		key="$setup|appendlimit|ceiling#$r"
		tag=ceiling$RANDOM
		if timed "$key" "$TMP/appendlimit" -addr "$addr" -user "$CEIL_USER" -pass "${PASS[$CEIL_USER]}" -conns 4 \
			-mailbox "$tag-1,$tag-2,$tag-3,$tag-4" -seen -maildir "$corpus"; then
			cat "$LAST_OUT" >&2
			# Its own wall time: the sending, not the reading of the corpus files before it.
			local wall got
			wall=$(sed -n 's/.* wall=\([0-9.]*\)s.*/\1/p' "$LAST_OUT")
			[[ -n $wall ]] && SECS[$key]=$wall
			# shellcheck disable=SC2046
			got=$("$BM" count $(acct "$CEIL_USER")) || got=?
			if [[ $got != "$n" ]]; then
				BAD[$key]=1
				fail "[$setup] appendlimit left $got messages, not $n"
			fi
		else
			fail "[$setup] appendlimit failed"
		fi
	done
	if [[ $CEIL_USER == bob ]]; then
		# The ceiling wrote into bob: the no-op passes below need a mailshift pass's bob (untimed, no row).
		say "[$setup] mailshift full pass again, for the no-op passes"
		fresh bob
		ck=$TMP/checkpoint-$RANDOM.json
		mailshift_pass "$setup|mailshift|refill#0" "$addr" "$ck" && report_check "$setup|mailshift|refill#0" "$n" 0
		count_check bob "$n" "$setup|mailshift|refill#0"
	fi
	local tool
	for tool in "$KO" mailshift mbsync; do
		median "$setup|$tool|full"
		MSGS[$setup|$tool|full]=$n BYTES[$setup|$tool|full]=$bytes
	done
	median "$setup|appendlimit|ceiling"
	MSGS[$setup|appendlimit|ceiling]=$n BYTES[$setup|appendlimit|ceiling]=$bytes

	# The no-op passes, after the last round: bob, carol and their states hold the last full pass.
	say "[$setup] mailshift no-op pass, fresh checkpoint (identity check)"
	mailshift_pass "$setup|mailshift|no-op" "$addr" "$TMP/checkpoint-$RANDOM.json" && report_check "$setup|mailshift|no-op" 0 "$n"
	count_check bob "$n" "$setup|mailshift|no-op"
	say "[$setup] mailshift no-op pass, checkpoint kept"
	mailshift_pass "$setup|mailshift|no-op (checkpoint)" "$addr" "$ck" && report_check "$setup|mailshift|no-op (checkpoint)" 0 "$n"
	count_check bob "$n" "$setup|mailshift|no-op (checkpoint)"
	say "[$setup] mbsync no-op pass (sync state kept)"
	timed "$setup|mbsync|no-op" mbsync -c "$TMP/mbsyncrc" -a || fail "[$setup] mbsync no-op pass failed"
	count_check carol "$n" "$setup|mbsync|no-op"
	MSGS[$setup|mailshift|no-op]=$n MSGS[$setup|mailshift|no-op (checkpoint)]=$n MSGS[$setup|mbsync|no-op]=$n
}

# ---- the tables ----
# behind the proxy).
print_cell() {
	local cell=$1 lat=$2 key setup tool pass s m mbs
	printf '\n# %s: %s on 127.0.0.1%s, %s, mbsync %s, %s cores, load %s; full passes: median of %d rounds\n' \
		"$cell" "$(server_version)" "$( ((lat)) && echo " +${LATENCY_MS} ms each way")" "$(go version | cut -d' ' -f3)" \
		"$(mbsync --version | cut -d' ' -f2)" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" "$ROUNDS"
	printf '%-18s %-24s %-20s %8s %9s %9s %8s %13s %8s %6s  %s\n' cell tool pass messages seconds msg/s MB/s "peak RSS MiB" \
		"CPU s" busy "rounds (s)"
	for key in "${ROWS[@]}"; do
		[[ $key == "$cell|"* ]] || continue
		IFS='|' read -r setup tool pass <<<"$key"
		s=${SECS[$key]}
		m=${MSGS[$key]:-0}
		mbs=-
		[[ -n ${BYTES[$key]:-} ]] && mbs=$(printf '%.1f' "$(echo "${BYTES[$key]} / 1000000 / $s" | bc -l)")
		printf '%-18s %-24s %-20s %8d %9.2f %9.0f %8s %13.1f %8.2f %5.0f%%  %s%s\n' "$setup" "$tool" "$pass" "$m" "$s" \
			"$(echo "$m / $s" | bc -l)" "$mbs" "$(mib "${RSSKB[$key]}")" "${CPUS[$key]:-0}" "${BUSY[$key]:-0}" \
			"${ROUNDSOF[$key]:--}" "${BAD[$key]:+  FAILED}"
	done
	echo
	local c=$cell vs=$T_FULL_VS_MBSYNC
	((lat)) && vs=$T_LAT_FULL_VS_MBSYNC
	ratio_paired "mailshift full vs mbsync full (msg/s)" "$c|mailshift|full" "$c|mbsync|full" "$vs" 0
	ratio_paired "mailshift full vs APPEND ceiling (msg/s)" "$c|mailshift|full" "$c|appendlimit|ceiling" $T_FULL_VS_CEILING 1
	ratio_paired "mailshift --keep-order full vs mbsync full" "$c|$KO|full" "$c|mbsync|full" "$vs" 0
	ratio_paired "mailshift --keep-order full vs APPEND ceiling" "$c|$KO|full" "$c|appendlimit|ceiling" $T_FULL_VS_CEILING 1
	ratio "mailshift no-op vs mbsync no-op (time)" "$(div "${SECS[$c|mailshift|no-op]:-}" "${SECS[$c|mbsync|no-op]:-}")" '<=' $T_NOOP_VS_MBSYNC x
	ratio "  same, mailshift with its checkpoint kept" \
		"$(div "${SECS[$c|mailshift|no-op (checkpoint)]:-}" "${SECS[$c|mbsync|no-op]:-}")" '<=' $T_NOOP_VS_MBSYNC x
	local peak=0
	for key in "${ROWS[@]}"; do
		if [[ $key == "$c|mailshift"* ]] && ((${RSSKB[$key]:-0} > peak)); then peak=${RSSKB[$key]}; fi
	done
	ratio "mailshift peak RSS (all passes)" "$(mib "$peak")" '<' $T_RSS_MIB " MiB"
	echo "(seconds: wall time of the whole process, start-up and logins included; for appendlimit its own wall time" \
		"of the sending. CPU s: the client's own user + system time (appendlimit's includes reading the corpus files)." \
		"busy: the whole machine's CPU use during the pass, 100% = all cores. MB/s: corpus bytes (10^6) per second of" \
		"full passes. The ceiling only APPENDs; mailshift and mbsync also FETCH every message from the same server." \
		"mbsync copies no keywords such as \$label1.)"
	CELLS+=("$cell")
	LATCELL[$cell]=$lat
}

# summary_value A B TARGET PERCENT: "1.31 PASS" / "78% MISS" / "n/a MISS" for the summary.
summary_value() {
	local v rounds ok
	read -r v rounds <<<"$(paired "$1" "$2")"
	[[ -n $v ]] || { echo "n/a MISS"; return; }
	ok=$(echo "$v >= $3" | bc -l)
	local verdict=MISS
	[[ $ok == 1 ]] && verdict=PASS
	if [[ $4 == 1 ]]; then printf '%.0f%% %s\n' "$(echo "$v * 100" | bc -l)" $verdict; else printf '%.2fx %s\n' "$v" $verdict; fi
}

# summary: every cell's paired ratios in one table.
summary() {
	printf '\n# Summary: paired ratios, median of %d rounds (targets: loopback >= %sx mbsync and >= %.0f%% of the ceiling;' \
		"$ROUNDS" $T_FULL_VS_MBSYNC "$(echo "$T_FULL_VS_CEILING * 100" | bc)"
	printf ' +%s ms each way >= %sx mbsync); load at the end %s\n' $LATENCY_MS $T_LAT_FULL_VS_MBSYNC "$(cut -d' ' -f1-3 /proc/loadavg)"
	printf '%-18s %-16s %-16s %-18s %-18s\n' cell "default/mbsync" "default/ceiling" "keep-order/mbsync" "keep-order/ceiling"
	local c vs
	for c in "${CELLS[@]}"; do
		vs=$T_FULL_VS_MBSYNC
		((LATCELL[$c])) && vs=$T_LAT_FULL_VS_MBSYNC
		printf '%-18s %-16s %-16s %-18s %-18s\n' "$c" \
			"$(summary_value "$c|mailshift|full" "$c|mbsync|full" "$vs" 0)" \
			"$(summary_value "$c|mailshift|full" "$c|appendlimit|ceiling" $T_FULL_VS_CEILING 1)" \
			"$(summary_value "$c|$KO|full" "$c|mbsync|full" "$vs" 0)" \
			"$(summary_value "$c|$KO|full" "$c|appendlimit|ceiling" $T_FULL_VS_CEILING 1)"
	done
}

CELLS=()
declare -A CORPUS_BYTES LATCELL
for fmt in "${FORMATS[@]}"; do
	for kind in "${CORPORA[@]}"; do
		cell=$fmt/$kind
		start_cell "$fmt"
		run_setup "$cell" "$(cell_size "$fmt" 0)" "$kind" "$DIRECT"
		print_cell "$cell" 0
		if [[ $SKIP_LATENCY != 1 ]]; then
			# A fresh server for the latency cell, as for every other.
			start_cell "$fmt"
			start_latency
			run_setup "$cell+${LATENCY_MS}ms" "$(cell_size "$fmt" 1)" "$kind" "$PROXIED"
			print_cell "$cell+${LATENCY_MS}ms" 1
		fi
	done
done
stop_toxiproxy
stop_server
summary

if ((FAILED)); then
	say "some tool failed or a target does not hold the corpus (see above)"
	exit 1
fi
