#!/bin/sh
# analyzer_cli.sh - CLI tests of timerleak-report's reports: each case runs
# commands on synthetic traces (analyzer_gen) or on traces of testdata
# programs recorded under libtimerleak.so, and compares what they printed,
# and their exit status, with tests/analyzer_cli/<case>.expected, in the
# format of tests/trace_cli.sh:
#
#   $ <command>
#   <standard output>
#   [stderr]
#   <standard error>
#   [exit N]
#
# What changes from run to run in a recorded trace's report is replaced
# before the comparison: pids, the host, the build and source trees, times,
# rates and sparklines, and the events count where ticks or fires make it
# vary. The creating call's line is looked up in the source, and shown as
# LINE(call) when the report has it right.
#
# Usage: analyzer_cli.sh CASE REPORT GEN EXPECTED_DIR WORK_DIR
# Environment: TL_PRELOAD and TL_TESTDATA (for the recorded cases).
# With UPDATE=1 in the environment, the expected file is (re)written instead.
set -eu

me=analyzer_cli.sh
source_dir=$(cd "${0%/*}/.." && pwd)
. "${0%/*}/transcript.sh"

# status CMD...: the same without the standard output.
status() {
	quiet=1
	run "$@"
	quiet=0
}

# record NAME MODE PROGRAM ARGS...: NAME.tlk, PROGRAM under the recorder
# (MODE: GOTIMER_CHAN, or - for none).
record() {
	name=$1
	mode=$2
	shift 2
	if [ "$mode" = - ]; then
		timeout -k 5 60 env LD_PRELOAD="$TL_PRELOAD" TIMERLEAK_OUTPUT="$work/$name.tlk" \
			"$TL_TESTDATA/$@" >"$name.out"
	else
		timeout -k 5 60 env GOTIMER_CHAN="$mode" LD_PRELOAD="$TL_PRELOAD" \
			TIMERLEAK_OUTPUT="$work/$name.tlk" "$TL_TESTDATA/$@" >"$name.out"
	fi
}

# line_of FILE FUNC CALL: the line of the first CALL in FUNC's definition.
line_of() {
	awk -v f="$2" -v c="$3" '
		!in_f && $0 ~ "^[A-Za-z_].*[^A-Za-z0-9_]" f "\\(" && $0 !~ /;[ \t]*$/ { in_f = 1; next }
		in_f && index($0, c "(") { l = $0; sub(c "\\(.*", "", l)
			if (l !~ /[A-Za-z0-9_]$/) { print NR; exit } }
		in_f && /^}/ { exit }' "$source_dir/testdata/$1"
}

# normalize FILE FUNC CALL: the transcript of a recorded trace's report,
# without what changes from run to run.
normalize() {
	line=$(line_of "$1" "$2" "$3")
	sed -e "s|$TL_TESTDATA/|TESTDATA/|g" -e "s|$source_dir/|SOURCE/|g" \
		-e "s|(pid [0-9]*) on .*|(pid PID) on HOST|" \
		-e "s|traced    [0-9.]* [a-zµ]*s, [0-9,]* events|traced    TIME, EVENTS events|" \
		-e "s|$1:$line\$|$1:LINE($3)|" \
		-e "s|\($1\):[0-9][0-9]*\$|\1:NN|" \
		-e "s|created \([0-9,]*\) at [0-9.e+]*/s|created \1 RATE|" \
		-e "s|created \([0-9,]*\) within [0-9.]* [a-zµ]*s|created \1 RATE|" \
		-e "s|at [0-9.e+]*/s|at RATE/s|g" -e "s|([0-9.e+]*/s)|(RATE/s)|" \
		-e "s#^    over the .* recorded.*: grew by .*#    over the TIME recorded: grew by GROWTH#" \
		-e "s#^    created in start-up (by [0-9.]* s), constant over the .* recorded#    created in start-up (by T s), constant over the TIME recorded#" \
		-e "s#^    \([0-9,]*\) kept over the [0-9.]* [a-zµ]*s recorded#    \1 kept over the TIME recorded#" \
		-e "s|live at [0-9.]* s|live at T s|" \
		-e "s|[0-9][0-9.]* timer-seconds|T timer-seconds|" \
		-e "s|first [0-9.]* s, last [0-9.]* s|first T s, last T s|" \
		-e "s#^    live |.*| [0-9.]* s\$#    live |SPARKLINE| T s#" transcript >t
	mv t transcript
}

# put FILE OFFSET OCTAL: overwrite one byte.
put() {
	printf "\\$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# nth_chunk FILE N: offset of the Nth chunk header (from 1).
nth_chunk() {
	grep -obUa TLCK "$1" | sed -n "${2}p" | cut -d: -f1
}

case $case_name in
gen_drops)
	"$gen" drops drops.tlk 10
	run "$report" drops.tlk
	;;
gen_drops_json)
	"$gen" drops drops.tlk 10
	run "$report" --json drops.tlk
	;;
gen_not_freed)
	"$gen" not_freed not_freed.tlk
	run "$report" not_freed.tlk
	run "$report" --min-count=4 not_freed.tlk
	;;
gen_ticks)
	"$gen" ticks ticks.tlk
	run "$report" ticks.tlk
	run "$report" --min-count 4 ticks.tlk
	;;
gen_churn)
	"$gen" churn churn.tlk
	run "$report" churn.tlk
	;;
gen_resets)
	"$gen" resets async.tlk async
	"$gen" resets sync.tlk sync
	run "$report" async.tlk
	run "$report" sync.tlk
	;;
gen_unknown)
	"$gen" unknown unknown.tlk
	run "$report" unknown.tlk
	;;
fail_on)
	"$gen" not_freed leaks.tlk
	"$gen" resets warnings.tlk async
	"$gen" resets notes.tlk sync
	for t in leaks.tlk warnings.tlk notes.tlk; do
		status "$report" "$t"
		status "$report" --fail-on=leak "$t"
		status "$report" --fail-on=warning "$t"
		status "$report" --json --fail-on warning "$t"
	done
	status "$report" --fail-on=note notes.tlk
	status "$report" --fail-on=warning missing.tlk
	;;
usage)
	"$gen" not_freed t.tlk
	run "$report" --min-count=0 t.tlk
	run "$report" --min-count=many t.tlk
	run "$report" --fail-on t.tlk
	run "$report" t.tlk --fail-on
	run "$report" --json=pretty t.tlk
	run "$report" -j t.tlk
	run "$report" t.tlk t.tlk
	run "$report"
	;;
newer)
	"$gen" drops drops.tlk 0
	put drops.tlk 8 003
	run "$report" drops.tlk
	run "$report" --json --fail-on=leak drops.tlk
	put drops.tlk 10 011
	put drops.tlk 11 000
	run "$report" drops.tlk
	;;
truncated)
	"$gen" drops drops.tlk 10
	# Into the second chunk, which holds the timerfds, the after-timers and
	# the end: the tickers and POSIX timers of the first are reported.
	head -c $(($(nth_chunk drops.tlk 2) + 40)) drops.tlk >cut.tlk
	run "$report" cut.tlk
	head -c 12 drops.tlk >header.tlk
	run "$report" header.tlk
	head -c 16 drops.tlk >header16.tlk
	run "$report" --json header16.tlk
	;;
recorded_leak_timerfd)
	record t - leak_timerfd -n 40 -r 3 -w 2
	run "$report" t.tlk
	normalize leak_timerfd.c keepalive_open timerfd_create
	;;
recorded_posix_timers)
	record leak - leak_posix_timer -n 40 -w 2
	record ok - ok_posix_timer -n 40 -w 2
	run "$report" leak.tlk
	normalize leak_posix_timer.c watchdog_create timer_create
	run "$report" ok.tlk
	normalize ok_posix_timer.c uptime_timer_create timer_create
	;;
recorded_leak_ticker)
	record t async leak_ticker -n 40 -l 20
	run "$report" t.tlk
	normalize leak_ticker.c handle_request gt_ticker_new
	;;
*)
	echo "analyzer_cli.sh: unknown case $case_name" >&2
	exit 2
	;;
esac

finish
