# preload_lib.sh - what the recorder's end-to-end tests share, sourced by
# preload_td.sh (the testdata programs) and preload_robust.sh (the
# robustness scenarios and a real program), each run registered with ctest
# on its own as preload.<name> (tests/CMakeLists.txt).
#
# A scenario runs a program under the recorder (LD_PRELOAD), reads what the
# program says it did (key=value on its standard output) and what its trace
# holds (trace_check, timerleak-report --events), and compares the two. A
# broken expectation prints
#
#   FAIL: <what>: expected <this>, got <that>
#
# and the scenario goes on, so one run shows every broken expectation;
# then come the programs' output and stderr and the traces' summaries.
# Exit status: 0 passed, 1 failed, 77 skipped (the machine lacks something
# the scenario needs: root for a tmpfs, stress-ng).
#
# Environment (set by tests/CMakeLists.txt): TL_PRELOAD (libtimerleak.so),
# TL_CHECK (trace_check), TL_REPORT (timerleak-report), TL_TESTDATA and
# TL_BIN (where the programs are), TL_PLUGIN (the plugin preload_dlopen
# loads), TL_GOTIMER (libgotimer.so.1), TL_WORK (a directory of its own,
# emptied first).
#
# Timing: CI is a 2-core machine that may be loaded. Nothing here asserts
# how long anything took; every wait polls, with a deadline far beyond what
# an idle machine needs, and every program runs under timeout(1), so a
# deadlock fails the scenario instead of hanging it.
set -u

for var in TL_PRELOAD TL_CHECK TL_REPORT TL_TESTDATA TL_BIN TL_PLUGIN TL_GOTIMER TL_WORK; do
	if eval "[ -z \"\${$var:-}\" ]"; then
		echo "${0##*/}: $var is not set (run it through ctest)" >&2
		exit 2
	fi
done
work=$TL_WORK
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 2
# The recorder's own environment starts from nothing, whatever the caller's.
unset TIMERLEAK_OUTPUT TIMERLEAK_UNWIND TIMERLEAK_DEPTH TIMERLEAK_SNAPSHOT_SIGNAL \
	TIMERLEAK_FOLLOW TIMERLEAK_RING_KB TIMERLEAK_FLUSH_MS TIMERLEAK_TIME_SHIFT \
	TIMERLEAK_QUIET TIMERLEAK_ANNOUNCE TIMERLEAK_CLOCK TIMERLEAK_PARENT GOTIMER_CHAN

deadline=60 # seconds any one program may run
failures=0
tmpl=
trace=
status=0

# ---------------------------------------------------------------------------
# Expectations

fail() {
	failures=$((failures + 1))
	printf 'FAIL: %s\n' "$*"
}

skip() {
	echo "skipped: $*"
	exit 77
}

isnum() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
	return 0
}

# expect WHAT EXPECTED GOT
expect() {
	[ "$2" = "$3" ] || fail "$1: expected ${2:-(nothing)}, got ${3:-(nothing)}"
}

# expect_range WHAT LO HI GOT: LO <= GOT <= HI
expect_range() {
	if ! isnum "$4" || [ "$4" -lt "$2" ] || [ "$4" -gt "$3" ]; then
		fail "$1: expected $2 to $3, got ${4:-(nothing)}"
	fi
}

# expect_min WHAT LO GOT: GOT >= LO
expect_min() {
	if ! isnum "$3" || [ "$3" -lt "$2" ]; then
		fail "$1: expected at least $2, got ${3:-(nothing)}"
	fi
}

# ---------------------------------------------------------------------------
# Running programs

# run NAME CMD...: CMD under the recorder ($preload, or libtimerleak.so),
# within the deadline, standard output in NAME.out, standard error in
# NAME.err, exit status in $status. The trace goes to $work/NAME.<pid>.tlk,
# or where $tmpl says.
run() {
	run_name=$1
	shift
	status=0
	timeout -k 5 $deadline env LD_PRELOAD="${preload:-$TL_PRELOAD}" \
		TIMERLEAK_OUTPUT="${tmpl:-$work/$run_name.%p.tlk}" "$@" \
		>"$run_name.out" 2>"$run_name.err" || status=$?
	case $status in
	124 | 137) fail "$run_name: still running after ${deadline}s (a deadlock?): killed" ;;
	esac
}

# bare NAME CMD...: CMD without the recorder, the same way: NAME.out,
# NAME.err, $status.
bare() {
	run_name=$1
	shift
	status=0
	timeout -k 5 $deadline "$@" >"$run_name.out" 2>"$run_name.err" || status=$?
}

# run_bg NAME CMD...: the same, in the background, pid in $bg_pid (no
# deadline: the caller waits for it or kills it).
run_bg() {
	run_name=$1
	shift
	env LD_PRELOAD="${preload:-$TL_PRELOAD}" TIMERLEAK_OUTPUT="${tmpl:-$work/$run_name.%p.tlk}" \
		"$@" >"$run_name.out" 2>"$run_name.err" &
	bg_pid=$!
}

# wait_for WHAT SECONDS CMD...: poll CMD every 0.1 s until it succeeds.
# The deadline is on the clock, however long each poll takes on a loaded
# machine. @return 1 (and a failure) if it never did.
wait_for() {
	wf_what=$1
	wf_end=$(($(date +%s) + $2))
	shift 2
	while ! "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge $wf_end ]; then
			fail "$wf_what: not within $2 s"
			return 1
		fi
		sleep 0.1
	done
	return 0
}

# wait_bg WHAT: wait for $bg_pid within the deadline; status in $status.
wait_bg() {
	wb_tries=$((deadline * 10))
	while kill -0 "$bg_pid" 2>/dev/null && [ $wb_tries -gt 0 ]; do
		# A zombie also answers kill -0; wait reaps it below.
		if [ "$(cut -d' ' -f3 "/proc/$bg_pid/stat" 2>/dev/null)" = Z ]; then
			break
		fi
		wb_tries=$((wb_tries - 1))
		sleep 0.1
	done
	if [ $wb_tries -le 0 ]; then
		fail "$1: still running after ${deadline}s (a deadlock?): killed"
		kill -9 "$bg_pid" 2>/dev/null
	fi
	status=0
	wait "$bg_pid" || status=$?
}

# val FILE KEY: the value of the first KEY=value in FILE.
val() {
	tr ' ' '\n' <"$1" | sed -n "s/^$2=//p" | head -n 1
}

# line_val FILE PATTERN KEY: the same, in the first line matching PATTERN.
line_val() {
	grep -e "$2" "$1" | head -n 1 | tr ' ' '\n' | sed -n "s/^$3=//p" | head -n 1
}

# ---------------------------------------------------------------------------
# Traces

# one_trace NAME: $trace, the one trace of NAME.* (none or several fail).
one_trace() {
	ot_name=$1
	set -- $(ls "$work/$ot_name".*.tlk 2>/dev/null)
	trace=${1:-}
	if [ $# -ne 1 ]; then
		fail "trace files $ot_name.*.tlk: expected 1, found $#${1:+: $*}"
		trace=
		return 1
	fi
	read_trace "$trace"
}

# read_trace TRACE: TRACE.check (trace_check --sites) and TRACE.events
# (timerleak-report --events), for the functions below.
read_trace() {
	rt_status=0
	"$TL_CHECK" --sites "$1" >"$1.check" 2>&1 || rt_status=$?
	if [ $rt_status -ne 0 ]; then
		fail "trace_check $(basename "$1"): exit $rt_status: $(tail -n 1 "$1.check")"
	fi
	rt_status=0
	"$TL_REPORT" --events "$1" >"$1.events" 2>"$1.events.err" || rt_status=$?
	if [ $rt_status -ne 0 ]; then
		fail "timerleak-report --events $(basename "$1"): exit $rt_status: $(tail -n 1 "$1.events.err")"
	fi
}

# ev TRACE TYPE KIND: the trace's events of TYPE and KIND (0 if none).
ev() {
	awk -v t="$2" -v k="$3" '$1 == "events" && $2 == t && $3 == k { n = $4 } END { print n + 0 }' \
		"$1.check"
}

# ev_all TRACE: every event of the trace.
ev_all() {
	awk '$1 == "events" { n += $4 } END { print n + 0 }' "$1.check"
}

# tc TRACE WORD: what trace_check says after WORD (orphans, double,
# dropped, end).
tc() {
	awk -v w="$2" '$1 == w { print $2; exit }' "$1.check"
}

# live TRACE: timers created and not freed.
live() {
	awk '$1 == "timers" { print $7; exit }' "$1.check"
}

# sites TRACE: each creation site as "kind leaf-function@file count",
# sorted, joined by "; ".
sites() {
	awk '$1 == "site" { l = $4; sub(/:[0-9]+$/, "", l); n[$2 " " l] += $3 }
		END { for (k in n) print k, n[k] }' "$1.check" | sort | awk '{ printf "%s%s", (NR > 1 ? "; " : ""), $0 } END { print "" }'
}

# records TRACE TYPE [PATTERN]: records of TYPE (create, snapshot,
# module-unload, ...) in --events, whose line matches PATTERN if given.
records() {
	awk -v t="$2" -v p="${3:-}" '($2 == t || $3 == t) && (p == "" || $0 ~ p) { n++ } END { print n + 0 }' \
		"$1.events"
}

# count_kind TRACE TYPE KIND PATTERN: events of TYPE of timers of KIND
# whose --events line matches PATTERN.
count_kind() {
	awk -v t="$2" -v k="kind=$3" -v p="$4" '$3 == "create" { kind[$4] = $5 }
		$3 == t && kind[$4] == k && $0 ~ p { n++ } END { print n + 0 }' "$1.events"
}

# expect_clean TRACE: ended cleanly, every id created once, freed at
# most once, nothing lost.
expect_clean() {
	ec=$(basename "$1")
	expect "$ec: end" clean "$(tc "$1" end)"
	expect "$ec: orphans (events of timers never created in the trace)" 0 "$(tc "$1" orphans)"
	expect "$ec: double (second creates or frees of one id)" 0 "$(tc "$1" double)"
	expect "$ec: dropped" 0 "$(tc "$1" dropped)"
}

# expect_ev TRACE TYPE KIND N
expect_ev() {
	expect "$(basename "$1"): $2 $3 events" "$4" "$(ev "$1" "$2" "$3")"
}

expect_sites() {
	expect "$(basename "$1"): creation sites (kind leaf-frame count)" "$2" "$(sites "$1")"
}

# end_total TRACE: events + dropped, as the (last) end record says.
end_total() {
	awk '$2 == "end" { split($3, e, "="); split($4, d, "="); n = e[2] + d[2] } END { print n }' \
		"$1.events"
}

# process_flags TRACE: the flags of the process record.
process_flags() {
	awk '$2 == "process" { print $NF; exit }' "$1.events"
}

finish() {
	if [ $failures -eq 0 ]; then
		echo "ok: $scenario"
		exit 0
	fi
	echo "--- $failures broken expectation(s) in $scenario. What ran, in $work:"
	for f in "$work"/*.out "$work"/*.err; do
		[ -s "$f" ] || continue
		echo "--- $(basename "$f"):"
		head -c 4000 "$f"
		echo
	done
	for f in "$work"/*.check; do
		[ -f "$f" ] || continue
		echo "--- trace_check --sites $(basename "$f" .check):"
		grep -v '^site' "$f" | head -n 40
		grep '^site' "$f" | head -n 12 | cut -c1-240
	done
	exit 1
}
