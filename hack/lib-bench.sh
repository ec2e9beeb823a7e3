# lib-bench.sh: what the benchmarks beside a peer tool share (hack/bench-migrate.sh, hack/bench-sync.sh),
# sourced from the repository's top after the caller has set CACHE, FSYNC, FORMATS, BENCH_MAILSHIFT,
# SKIP_LATENCY, LATENCY_MS, TOXIPROXY_VERSION and ROUNDS and defined say and die: their checks, mbsync, time
# and bc installed when missing, toxiproxy built once into CACHE, a throwaway server per
# cell (hack/dovecot.sh in every format, hack/cyrus.sh), the test accounts, fresh accounts between passes,
# timed passes with their CPU, RSS and the machine's busy share, medians and paired ratios of rounds, and
# the latency proxy; mailshift (this tree's, or BENCH_MAILSHIFT) built into $TMP/mailshift and the
# hack/benchmigrate helper into $BM.

[[ $FSYNC =~ ^(optimized|always|never)$ ]] || die "BENCH_FSYNC must be optimized, always or never, not '$FSYNC'"
((${#FORMATS[@]})) || die "BENCH_FORMATS names no format"
for f in "${FORMATS[@]}"; do
	case $f in
	maildir | sdbox | mdbox) [[ -x /usr/sbin/dovecot ]] || die "no Dovecot: run make deps (hack/install-deps.sh imap)" ;;
	cyrus) [[ -x $CACHE/cyrus-imapd/usr/lib/cyrus/bin/imapd ]] || die "no Cyrus imapd in $CACHE/cyrus-imapd: run make deps (hack/install-deps.sh), or set MAILSHIFT_CACHE" ;;
	*) die "BENCH_FORMATS: unknown format '$f' (maildir, sdbox, mdbox, cyrus)" ;;
	esac
done
[[ -z $BENCH_MAILSHIFT || -x $BENCH_MAILSHIFT ]] || die "BENCH_MAILSHIFT: $BENCH_MAILSHIFT is not an executable"

need=()
command -v mbsync >/dev/null || need+=(isync)
[[ -x /usr/bin/time ]] || need+=(time)
command -v bc >/dev/null || need+=(bc)
if ((${#need[@]})); then
	say "installing ${need[*]}"
	SUDO=""; [[ $(id -u) -eq 0 ]] || SUDO=sudo
	$SUDO apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi

TOXI_SERVER=$CACHE/bin/toxiproxy-server-$TOXIPROXY_VERSION
TOXI_CLI=$CACHE/bin/toxiproxy-cli-$TOXIPROXY_VERSION
if [[ $SKIP_LATENCY != 1 ]] && { [[ ! -x $TOXI_SERVER ]] || [[ ! -x $TOXI_CLI ]]; }; then
	say "building toxiproxy $TOXIPROXY_VERSION into $CACHE/bin"
	build=$CACHE/bin/toxiproxy-$TOXIPROXY_VERSION.build
	rm -rf "$build" && mkdir -p "$build"
	GOBIN=$build go install "github.com/Shopify/toxiproxy/v2/cmd/server@$TOXIPROXY_VERSION" \
		"github.com/Shopify/toxiproxy/v2/cmd/cli@$TOXIPROXY_VERSION"
	mv "$build/server" "$TOXI_SERVER"
	mv "$build/cli" "$TOXI_CLI"
	rm -rf "$build"
fi

TMP=$(mktemp -d)
SRV=$TMP/server
FORMAT=
TOXI_PID=
# stop_toxiproxy, stop_server: what runs of the current cell.
stop_toxiproxy() {
	if [[ -n $TOXI_PID ]]; then kill "$TOXI_PID" 2>/dev/null || true; wait "$TOXI_PID" 2>/dev/null || true; fi
	TOXI_PID=
}
stop_server() {
	case $FORMAT in
	cyrus) bash hack/cyrus.sh stop "$SRV" >/dev/null 2>&1 || true ;;
	?*) bash hack/dovecot.sh stop "$SRV" >/dev/null 2>&1 || true ;;
	esac
}
cleanup() {
	stop_toxiproxy
	stop_server
	rm -rf "$TMP"
}
trap cleanup EXIT

say "building mailshift and the helper"
if [[ -n $BENCH_MAILSHIFT ]]; then
	cp "$BENCH_MAILSHIFT" "$TMP/mailshift"
	say "measuring $BENCH_MAILSHIFT, not this tree's mailshift"
else
	CGO_ENABLED=0 go build -o "$TMP/mailshift" ./cmd/mailshift
fi
go build -o "$TMP/benchmigrate" ./hack/benchmigrate
BM=$TMP/benchmigrate


# start_server: a fresh, empty server of FORMAT on PORT/TLSPORT (the old one, if any, stopped and its data
# removed). Every cell gets one: an account that held thousands of messages and was emptied appends at half
# the speed of a fresh one (its indexes and quota remember), which would penalise whichever tool is given it.
start_server() {
	stop_server
	rm -rf "$SRV"
	case $FORMAT in
	cyrus) MAILSHIFT_CACHE=$CACHE MAILSHIFT_WATCH_PID=$$ bash hack/cyrus.sh start "$SRV" "$PORT" "$TLSPORT" >"$TMP/server.start" 2>&1 ;;
	*) MAILSHIFT_DOVECOT_FORMAT=$FORMAT MAILSHIFT_DOVECOT_MAILDIR='' MAILSHIFT_DOVECOT_FSYNC=$FSYNC MAILSHIFT_WATCH_PID=$$ \
		bash hack/dovecot.sh start "$SRV" "$PORT" "$TLSPORT" >"$TMP/server.start" 2>&1 ;;
	esac
}

# start_cell FORMAT: a fresh server of FORMAT on free ports (retried if a port was taken in between); the
# clients reach it at DIRECT.
start_cell() {
	stop_toxiproxy
	stop_server
	FORMAT=$1
	local try
	for try in 1 2 3; do
		read -r PORT TLSPORT <<<"$("$BM" ports 2)"
		if start_server; then
			break
		fi
		[[ $try -lt 3 ]] || { cat "$TMP/server.start" >&2; die "$FORMAT did not start"; }
	done
	say "$(tail -n 1 "$TMP/server.start")"
	DIRECT=127.0.0.1:$PORT
	return 0
}

declare -A PASS=([alice]=alice-secret-1 [bob]=bob-secret-2 [carol]=carol-secret-3 [mailadmin]=admin-secret-0)
for u in "${!PASS[@]}"; do
	printf '%s\n' "${PASS[$u]}" >"$TMP/pw.$u"
	chmod 0600 "$TMP/pw.$u"
done

FAILED=0
fail() { say "FAILED: $*"; FAILED=1; }
acct() { echo -addr "$DIRECT" -user "$1" -pass "${PASS[$1]}"; }
# shellcheck disable=SC2046
empty() { "$BM" empty $(acct "$1") || fail "emptying $1"; }
# fresh USER: the account as new (its home removed; Dovecot makes it again at the next login). Only between
# passes, when no session is open. An emptied account is not the same: its indexes remember thousands of
# messages and it appends at half the speed of a fresh one, which would penalise whichever tool is given it.
# On Cyrus the admin deletes the user's mailboxes and creates them again.
fresh() {
	if [[ $FORMAT == cyrus ]]; then
		# (An admin may delete a user only once it holds the x right on the user's mailbox.) Cyrus keeps a
		# deleted user's mailboxes under a name stamped with the second of the deletion: a second DELETE of the
		# same user within that second collides with it ("NO Mailbox already exists"), so it is tried again a
		# second later.
		local try
		for try in 1 2 3; do
			"$BM" admin -addr "$DIRECT" -user mailadmin -pass "${PASS[mailadmin]}" "SETACL user/$1 mailadmin lrswipkxtecda" \
				"DELETE user/$1" "CREATE user/$1" "SETQUOTA user/$1 (STORAGE 1048576)" && return
			sleep 1.1
		done
		fail "making $1 fresh on Cyrus"
		return
	fi
	rm -rf "${SRV:?}/home/$1"
}

# busy_ticks: the machine's busy and total CPU ticks since boot (all cores; iowait counts as idle).
busy_ticks() { awk '/^cpu / {t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t}' /proc/stat; }
# rss KB from a /usr/bin/time -v log
rss() { awk -F': ' '/Maximum resident set size/ {print $2}' "$1"; }
now() { date +%s.%N; }

# Results, keyed "SETUP|TOOL|PASS".
ROWS=()
declare -A SECS MSGS BYTES RSSKB BAD CPUS BUSY ROUNDSOF

# timed KEY CMD...: runs CMD under /usr/bin/time -v; wall seconds in SECS[KEY], peak RSS in RSSKB[KEY], its
# CPU seconds (user + system) in CPUS[KEY], the machine's busy share in BUSY[KEY]; its output in
# $TMP/KEY.out and .err. A KEY with "#R" (round R) is not a row of its own: median combines the rounds.
# Returns CMD's status.
timed() {
	local key=$1 f
	shift
	f=$TMP/$(echo "$key" | tr -c 'A-Za-z0-9.\n' '_')
	local t0 t1 rc=0
	# Every timed pass starts with the page cache flushed: with fsync off, the previous pass's (or the
	# corpus load's) writes are flushed by the kernel in the background and would slow whichever tool runs
	# next.
	sync
	local b0 b1
	read -r -a b0 <<<"$(busy_ticks)"
	t0=$(now)
	/usr/bin/time -v -o "$f.time" "$@" >"$f.out" 2>"$f.err" || rc=$?
	t1=$(now)
	read -r -a b1 <<<"$(busy_ticks)"
	SECS[$key]=$(echo "$t1 - $t0" | bc -l)
	RSSKB[$key]=$(rss "$f.time")
	CPUS[$key]=$(awk -F': ' '/User time|System time/ {s += $2} END {print s}' "$f.time")
	BUSY[$key]=$(echo "100 * (${b1[0]} - ${b0[0]}) / (${b1[1]} - ${b0[1]} + 1)" | bc -l)
	[[ $key == *"#"* ]] || ROWS+=("$key")
	if ((rc != 0)); then
		BAD[$key]=1
		say "$key exited $rc; tail of its output:"
		tail -n 20 "$f.out" "$f.err" >&2 || true
	fi
	LAST_OUT=$f.out LAST_ERR=$f.err
	return $rc
}

# median KEY: the row KEY from its rounds KEY#1..KEY#ROUNDS: the median wall time (with the busy share and
# CPU of that round), the largest RSS, failed when any round failed.
median() {
	local key=$1 r list="" mid
	for ((r = 1; r <= ROUNDS; r++)); do
		[[ -n ${SECS[$key#$r]:-} ]] || continue
		list+="${SECS[$key#$r]} $r"$'\n'
		((${RSSKB[$key#$r]:-0} > ${RSSKB[$key]:-0})) && RSSKB[$key]=${RSSKB[$key#$r]}
		[[ -n ${BAD[$key#$r]:-} ]] && BAD[$key]=1
		ROUNDSOF[$key]+="${ROUNDSOF[$key]:+/}$(printf '%.2f' "${SECS[$key#$r]}")"
	done
	[[ -n $list ]] || return 0
	mid=$(printf '%s' "$list" | sort -g | awk -v n="$ROUNDS" '{r[NR] = $2} END {print r[int((NR + 1) / 2)]}')
	SECS[$key]=${SECS[$key#$mid]} CPUS[$key]=${CPUS[$key#$mid]} BUSY[$key]=${BUSY[$key#$mid]}
	ROWS+=("$key")
}


# start_latency: toxiproxy in front of the cell's server, +LATENCY_MS each way; its address in PROXIED.
start_latency() {
	read -r API PROXY <<<"$("$BM" ports 2)"
	"$TOXI_SERVER" -host 127.0.0.1 -port "$API" >"$TMP/toxiproxy.log" 2>&1 &
	TOXI_PID=$!
	for _ in $(seq 100); do "$TOXI_CLI" -h "127.0.0.1:$API" list >/dev/null 2>&1 && break; sleep 0.1; done
	"$TOXI_CLI" -h "127.0.0.1:$API" create --listen "127.0.0.1:$PROXY" --upstream "$DIRECT" imap >/dev/null
	"$TOXI_CLI" -h "127.0.0.1:$API" toxic add -t latency -a "latency=$LATENCY_MS" -u -n latency_up imap >/dev/null
	"$TOXI_CLI" -h "127.0.0.1:$API" toxic add -t latency -a "latency=$LATENCY_MS" -d -n latency_down imap >/dev/null
	say "toxiproxy on 127.0.0.1:$PROXY -> $DIRECT, +${LATENCY_MS} ms each way"
	PROXIED=127.0.0.1:$PROXY
}


mib() { echo "${1:-0} / 1024" | bc -l; }

# ratio NAME VALUE OP TARGET UNIT
ratio() {
	local name=$1 v=$2 op=$3 target=$4 unit=$5 ok
	if [[ -z $v ]]; then printf '%-52s %10s   (target %s %s%s)  MISS\n' "$name" n/a "$op" "$target" "$unit"; return; fi
	case $op in
	'>=') ok=$(echo "$v >= $target" | bc -l) ;;
	'<=') ok=$(echo "$v <= $target" | bc -l) ;;
	'<') ok=$(echo "$v < $target" | bc -l) ;;
	esac
	local verdict=MISS
	[[ $ok == 1 ]] && verdict=PASS
	printf '%-52s %9.2f%s  (target %s %s%s)  %s\n' "$name" "$v" "$unit" "$op" "$target" "$unit" "$verdict"
}
# paired A B: the speed of A relative to B (B's time / A's time) round by round, each round's passes run
# minutes apart at most, and the median of those: "median list", e.g. "1.31 1.22/1.31/1.40". A drift of the
# machine's speed between rounds cancels out of each round's ratio.
paired() {
	local r list=() v
	for ((r = 1; r <= ROUNDS; r++)); do
		[[ -n ${SECS[$1#$r]:-} && -n ${SECS[$2#$r]:-} && -z ${BAD[$1#$r]:-} && -z ${BAD[$2#$r]:-} ]] || continue
		list+=("$(echo "${SECS[$2#$r]} / ${SECS[$1#$r]}" | bc -l)")
	done
	((${#list[@]})) || return 0
	v=$(printf '%s\n' "${list[@]}" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}')
	echo "$v $(printf '%s\n' "${list[@]}" | awk '{printf "%s%.2f", (NR > 1 ? "/" : ""), $1}')"
}
# ratio_paired NAME A B TARGET PERCENT: a paired ratio against its target (as a percentage when PERCENT=1).
ratio_paired() {
	local v rounds scale=1 unit=x target=$4
	read -r v rounds <<<"$(paired "$2" "$3")"
	if [[ $5 == 1 && -n $rounds ]]; then
		scale=100 unit=% target=$(echo "$4 * 100" | bc)
		rounds=$(echo "$rounds" | tr / '\n' | awk '{printf "%s%.0f%%", (NR > 1 ? "/" : ""), $1 * 100}')
	fi
	[[ -n $v ]] && v=$(echo "$v * $scale" | bc -l)
	ratio "$1" "$v" '>=' "$target" "$unit"
	[[ -z $rounds ]] || printf '%-52s %s\n' "  round by round" "$rounds"
}
div() { if [[ -n $1 && -n $2 ]]; then echo "$1 / $2" | bc -l; fi; }

server_version() {
	case $FORMAT in
	cyrus) echo "Cyrus IMAP (hack/cyrus.sh; it fsyncs every APPEND)" ;;
	*) echo "Dovecot $(/usr/sbin/dovecot --version | cut -d' ' -f1) $FORMAT, mail_fsync=$FSYNC" ;;
	esac
}

# print_cell SETUP LATENCY: the table of one cell and its ratios against their targets (LATENCY=1: the cell
