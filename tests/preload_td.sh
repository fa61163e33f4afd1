#!/bin/sh
# preload_td.sh - a testdata program under libtimerleak.so: its trace holds
# exactly what the program says it did, and each creation site's leaf frame
# is the program's creating function.
#
# Usage: preload_td.sh PROGRAM MODE|- UNWINDER
#   MODE is GOTIMER_CHAN (async, sync; - for the programs on libc only),
#   UNWINDER is TIMERLEAK_UNWIND (libunwind, fp).
# See preload_lib.sh for the environment and the output.
if [ $# -ne 3 ]; then
	echo "usage: preload_td.sh PROGRAM MODE|- UNWINDER" >&2
	exit 2
fi
scenario="td.$1.$2.$3"
. "${0%/*}/preload_lib.sh"

# ---------------------------------------------------------------------------
# The testdata programs. Each prints what it did; the trace must hold
# exactly that (timings aside, where a comment says why), with every
# creation site's leaf frame in the program's creating function.

# td_common PROGRAM MODE UNWINDER: what every testdata trace must be.
td_common() {
	expect "$1: exit status" 0 "$status"
	[ -n "$trace" ] || return
	expect_clean "$trace"
	expect "$1: unwinder in the process record" "unwinder=\"$3\"" \
		"$(grep -o 'unwinder="[a-z]*"' "$trace.events" | head -n 1)"
	if [ "$2" != - ]; then
		expect "$1: channel mode in the runtime records" "mode=$2" \
			"$(grep ' runtime ' "$trace.events" | grep -o 'mode=[a-z]*' | sort -u | tr '\n' ' ' | sed 's/ $//')"
	fi
}

td_leak_after_loop() {
	run td "$TL_TESTDATA/leak_after_loop" -n 3000
	one_trace td || return
	n=$(val td.out afters_created)
	timeouts=$(val td.out timeouts)
	expect "messages" 3000 "$(val td.out messages)"
	expect_ev "$trace" create after "$n"
	expect_ev "$trace" release after "$n"
	expect_ev "$trace" fire after "$timeouts"
	expect_ev "$trace" drain after "$timeouts"
	if [ "$1" = async ]; then
		# An async after-timer stays in the runtime until it fires, in
		# an hour: none is freed.
		expect_ev "$trace" free after 0
		expect "live timers (pending_timers)" "$(val td.out pending_timers)" "$(live "$trace")"
	else
		expect_ev "$trace" free after "$n"
		expect "live timers" 0 "$(live "$trace")"
	fi
	expect_sites "$trace" "after wait_message@leak_after_loop.c $n"
}

td_ok_timer_reset() {
	run td "$TL_TESTDATA/ok_timer_reset" -n 3000
	one_trace td || return
	resets=$(val td.out resets)
	expect "resets" 3001 "$resets"
	expect_ev "$trace" create timer 1
	expect_ev "$trace" stop timer "$resets"
	expect_ev "$trace" reset timer "$resets"
	drained=$(val td.out drained)
	timeouts=$(val td.out timeouts)
	expect_ev "$trace" drain timer $((drained + timeouts))
	expect_ev "$trace" fire timer "$(val td.out timeouts)"
	expect_ev "$trace" release timer 1
	expect_ev "$trace" free timer 1
	expect "resets with a value pending" 0 "$(records "$trace" reset 'flags=[a-z|]*pending')"
	expect_sites "$trace" "timer consumer@ok_timer_reset.c 1"
}

td_leak_ticker() {
	run td "$TL_TESTDATA/leak_ticker" -n 40 -l 50
	one_trace td || return
	n=$(val td.out tickers_created)
	reports=$(val td.out progress_reports)
	expect "tickers_created" 40 "$n"
	expect_ev "$trace" create ticker "$n"
	expect_ev "$trace" drain ticker "$reports"
	# Ticks depend on timing; every value received was a tick delivered.
	expect_min "fires delivered (>= drains)" "$reports" \
		"$(records "$trace" fire 'flags=delivered')"
	expect_ev "$trace" stop ticker 0
	expect_ev "$trace" release ticker 0
	expect_ev "$trace" free ticker 0
	expect "live timers" "$n" "$(live "$trace")"
	expect_sites "$trace" "ticker handle_request@leak_ticker.c $n"
}

td_ok_ticker() {
	run td "$TL_TESTDATA/ok_ticker" -n 40 -l 50
	one_trace td || return
	n=$(val td.out tickers_created)
	stopped=$(val td.out tickers_stopped)
	reports=$(val td.out progress_reports)
	expect "tickers_created" 41 "$n"
	expect_ev "$trace" create ticker "$n"
	expect_ev "$trace" stop ticker "$stopped"
	expect_ev "$trace" release ticker "$stopped"
	expect_ev "$trace" free ticker "$stopped"
	expect "live timers (long_lived_tickers)" 1 "$(live "$trace")"
	# The stats ticker is created first, in main; its reporter goes on
	# receiving after the program printed stats_ticks, until exit.
	stats_id=$(awk '$3 == "create" { print $4; exit }' "$trace.events")
	expect "drains of the request tickers (progress_reports)" "$reports" \
		"$(awk -v s="$stats_id" '$3 == "drain" && $4 != s { n++ } END { print n + 0 }' "$trace.events")"
	expect_min "drains of the stats ticker (>= stats_ticks)" "$(val td.out stats_ticks)" \
		"$(awk -v s="$stats_id" '$3 == "drain" && $4 == s { n++ } END { print n + 0 }' "$trace.events")"
	expect_min "fires delivered (>= drains)" "$(ev "$trace" drain ticker)" \
		"$(records "$trace" fire 'flags=delivered')"
	expect_sites "$trace" "ticker handle_request@ok_ticker.c $stopped; ticker stats_ticker_open@ok_ticker.c 1"
}

td_leak_reset_nodrain() {
	run td "$TL_TESTDATA/leak_reset_nodrain" -n 12
	one_trace td || return
	resets=$(val td.out resets)
	timeouts=$(val td.out timeouts)
	expect "messages" 12 "$(val td.out messages)"
	expect_ev "$trace" create timer 1
	expect_ev "$trace" reset timer "$resets"
	expect "resets with a value pending (resets_with_value_pending)" \
		"$(val td.out resets_with_value_pending)" "$(records "$trace" reset 'flags=[a-z|]*pending')"
	expect_ev "$trace" drain timer "$timeouts"
	expect_min "fires (>= drains)" "$timeouts" "$(ev "$trace" fire timer)"
	expect_ev "$trace" release timer 1
	expect_ev "$trace" free timer 1
	expect_sites "$trace" "timer watchdog_open@leak_reset_nodrain.c 1"
}

td_ok_reset_drain() {
	run td "$TL_TESTDATA/ok_reset_drain" -n 12
	one_trace td || return
	resets=$(val td.out resets)
	expect "messages" 12 "$(val td.out messages)"
	expect_ev "$trace" create timer 1
	expect_ev "$trace" stop timer "$resets"
	expect_ev "$trace" reset timer "$resets"
	expect "resets with a value pending (resets_with_value_pending)" \
		"$(val td.out resets_with_value_pending)" "$(records "$trace" reset 'flags=[a-z|]*pending')"
	drained=$(val td.out drained)
	timeouts=$(val td.out timeouts)
	expect_ev "$trace" drain timer $((drained + timeouts))
	expect_min "fires (>= drains)" "$(ev "$trace" drain timer)" "$(ev "$trace" fire timer)"
	expect_ev "$trace" release timer 1
	expect_ev "$trace" free timer 1
	expect_sites "$trace" "timer watchdog_open@ok_reset_drain.c 1"
}

td_leak_afterfunc() {
	# A minute's delay: no inspector runs before the program exits.
	run td "$TL_TESTDATA/leak_afterfunc" -n 300 -d 60000
	one_trace td || return
	n=$(val td.out inspectors)
	expect "inspectors" 300 "$n"
	expect "inspectors_run" 0 "$(val td.out inspectors_run)"
	expect_ev "$trace" create afterfunc "$n"
	expect_ev "$trace" fire afterfunc 0
	expect_ev "$trace" release afterfunc 0
	expect_ev "$trace" free afterfunc 0
	expect "live timers (pending_timers)" "$(val td.out pending_timers)" "$(live "$trace")"
	expect_sites "$trace" "afterfunc inspect_request@leak_afterfunc.c $n"
}

# by_duration TRACE TYPE NS: events of TYPE of timers created with a
# duration of NS.
by_duration() {
	awk -v t="$2" -v d="duration=$3" '$3 == "create" { dur[$4] = $7 }
		$3 == t && dur[$4] == d { n++ } END { print n + 0 }' "$1.events"
}

td_ok_afterfunc() {
	run td "$TL_TESTDATA/ok_afterfunc" -n 300
	one_trace td || return
	until_done=$(val td.out until_done)
	stopped=$(val td.out stopped)
	summary=$(val td.out summary)
	brief=$(val td.out brief)
	expect "requests" 300 "$(val td.out requests)"
	expect "inspectors_run (the program waits for the 2 ms ones)" "$brief" \
		"$(val td.out inspectors_run)"
	expect_ev "$trace" create afterfunc $((until_done + summary + brief))
	expect_ev "$trace" stop afterfunc "$until_done"
	expect "stops that found the inspector active (stopped)" "$stopped" \
		"$(records "$trace" stop 'flags=active')"
	expect_ev "$trace" fire afterfunc "$brief"
	# The 5 s inspectors (until_done, summary) never fire: the stopped
	# ones are released and freed by the handler, at once; the summary
	# ones wait for their callback. A 2 ms inspector's handle is released
	# by its callback (or the handler, whichever lets go last) and the
	# timer freed once the callback has returned; the program waits for
	# the callbacks to have started, not returned, so at exit any number
	# of those may still be on their way.
	expect "releases of 5 s inspectors (stopped)" "$stopped" \
		"$(by_duration "$trace" release 5000000000)"
	expect "frees of 5 s inspectors (stopped)" "$stopped" \
		"$(by_duration "$trace" free 5000000000)"
	expect_range "releases of 2 ms inspectors (brief, less callbacks still running)" 0 \
		"$brief" "$(by_duration "$trace" release 2000000)"
	expect_range "frees of 2 ms inspectors (at most their releases)" 0 \
		"$(by_duration "$trace" release 2000000)" "$(by_duration "$trace" free 2000000)"
	expect_sites "$trace" "afterfunc inspect_briefly@ok_afterfunc.c $brief; afterfunc inspect_summary@ok_afterfunc.c $summary; afterfunc inspect_until_done@ok_afterfunc.c $until_done"
}

td_seed_after_loop() {
	run td_after "$TL_TESTDATA/seed_after_loop" -n 3000 after
	if one_trace td_after; then
		n=$(val td_after.out messages)
		n=$((n + 1))
		expect "after: messages" 3001 "$n"
		expect_ev "$trace" create after "$n"
		expect_ev "$trace" release after "$n"
		if [ "$1" = async ]; then
			expect_ev "$trace" free after 0
			expect "after: live timers (live_timers)" "$(val td_after.out live_timers)" "$(live "$trace")"
		else
			expect_ev "$trace" free after "$n"
		fi
		expect_sites "$trace" "after consume_after@seed_after_loop.c $n"
	fi
	td_common "seed_after_loop after" "$td_mode" "$td_unwinder"
	run td_reset "$TL_TESTDATA/seed_after_loop" -n 3000 reset
	one_trace td_reset || return
	n=$(val td_reset.out messages)
	n=$((n + 1))
	expect "reset: messages" 3001 "$n"
	expect_ev "$trace" create timer 1
	expect_ev "$trace" stop timer "$n"
	expect_ev "$trace" reset timer "$n"
	expect_ev "$trace" release timer 1
	expect_ev "$trace" free timer 1
	expect_sites "$trace" "timer consume_reset@seed_after_loop.c 1"
}

td_seed_reset() {
	run td "$TL_TESTDATA/seed_reset"
	one_trace td || return
	recvs=$(grep -e 'experiment=stale' -e 'experiment=fixed' td.out | tr ' ' '\n' |
		grep -c '^[a-z]*_recv_ms=[0-9]')
	drained=$(grep -c 'drained=true' td.out)
	pending=$(grep -c 'experiment=stale value_pending_at_reset=true' td.out)
	runs=$(grep -o ' runs=[0-9]*' td.out | awk -F= '{ n += $2 } END { print n + 0 }')
	active=$(grep -c 'reset_returned=true' td.out)
	expect "experiments printed" 4 "$(grep -c experiment= td.out)"
	expect_ev "$trace" create timer 2
	expect_ev "$trace" create afterfunc 2
	expect_ev "$trace" stop timer 1
	expect_ev "$trace" reset timer 2
	expect_ev "$trace" reset afterfunc 2
	expect "timer resets with a value pending (value_pending_at_reset)" "$pending" \
		"$(count_kind "$trace" reset timer 'flags=[a-z|]*pending')"
	expect "afterfunc resets that found it active (reset_returned)" "$active" \
		"$(count_kind "$trace" reset afterfunc 'flags=active')"
	expect_ev "$trace" drain timer $((recvs + drained))
	# Fires depend on when the timer thread ran: each experiment's timer
	# fires once before its reset and at most once after.
	expect_range "timer fires" "$(ev "$trace" drain timer)" 4 "$(ev "$trace" fire timer)"
	# Each callback timer fires at most twice: before its reset (always,
	# for the second; for the first too, if the machine is so slow that
	# its reset came after expiry) and after it.
	expect_range "afterfunc fires (callbacks run: runs)" "$runs" 4 "$(ev "$trace" fire afterfunc)"
	expect_ev "$trace" release timer 2
	expect_ev "$trace" release afterfunc 2
	expect_ev "$trace" free timer 2
	# The last callback may finish, and free its timer, after the print.
	expect_range "afterfunc frees" 1 2 "$(ev "$trace" free afterfunc)"
	expect_sites "$trace" "afterfunc afterfunc_case@seed_reset.c 2; timer expired_timer@seed_reset.c 2"
}

td_leak_timerfd() {
	run td "$TL_TESTDATA/leak_timerfd" -n 40 -r 3
	one_trace td || return
	n=$(val td.out timerfds_created)
	expect "timerfds_created" 40 "$n"
	expect_ev "$trace" create timerfd "$n"
	expect_ev "$trace" arm timerfd "$n"
	expect_ev "$trace" free timerfd "$(val td.out timerfds_closed)"
	expect "live timers (open_timerfds)" "$(val td.out open_timerfds)" "$(live "$trace")"
	expect_sites "$trace" "timerfd keepalive_open@leak_timerfd.c $n"
}

td_ok_timerfd() {
	run td "$TL_TESTDATA/ok_timerfd" -n 40 -r 3
	one_trace td || return
	n=$(val td.out timerfds_created)
	expect "timerfds_created" 41 "$n"
	expect_ev "$trace" create timerfd "$n"
	expect_ev "$trace" arm timerfd "$n"
	expect_ev "$trace" free timerfd "$(val td.out timerfds_closed)"
	expect "live timers (open_timerfds)" "$(val td.out open_timerfds)" "$(live "$trace")"
	expect_sites "$trace" "timerfd housekeeping_open@ok_timerfd.c 1; timerfd keepalive_open@ok_timerfd.c $((n - 1))"
}

td_leak_posix_timer() {
	run td "$TL_TESTDATA/leak_posix_timer" -n 40
	one_trace td || return
	n=$(val td.out timers_created)
	expect "timers_created" 40 "$n"
	expect_ev "$trace" create posix "$n"
	expect_ev "$trace" arm posix "$n"
	expect_ev "$trace" stop posix "$n"
	expect_ev "$trace" free posix "$(val td.out timers_deleted)"
	expect "live timers (live_posix_timers)" "$(val td.out live_posix_timers)" "$(live "$trace")"
	expect_sites "$trace" "posix watchdog_create@leak_posix_timer.c $n"
}

td_ok_posix_timer() {
	run td "$TL_TESTDATA/ok_posix_timer" -n 40
	one_trace td || return
	n=$(val td.out timers_created)
	deleted=$(val td.out timers_deleted)
	expect "timers_created" 41 "$n"
	expect_ev "$trace" create posix "$n"
	expect_ev "$trace" arm posix "$n"
	expect_ev "$trace" stop posix "$deleted"
	expect_ev "$trace" free posix "$deleted"
	expect "live timers (live_posix_timers)" "$(val td.out live_posix_timers)" "$(live "$trace")"
	expect_sites "$trace" "posix uptime_timer_create@ok_posix_timer.c 1; posix watchdog_create@ok_posix_timer.c $deleted"
}

scenario_td() {
	td_prog=$1
	td_mode=$2
	td_unwinder=$3
	[ "$td_mode" = - ] || export GOTIMER_CHAN="$td_mode"
	export TIMERLEAK_UNWIND="$td_unwinder"
	trace=
	"td_$td_prog" "$td_mode"
	if [ "$td_prog" = seed_after_loop ]; then
		td_common "$td_prog reset" "$td_mode" "$td_unwinder"
	else
		td_common "$td_prog" "$td_mode" "$td_unwinder"
	fi
}

case $1 in
leak_after_loop | ok_timer_reset | leak_ticker | ok_ticker | leak_reset_nodrain | \
	ok_reset_drain | leak_afterfunc | ok_afterfunc | seed_after_loop | seed_reset | \
	leak_timerfd | ok_timerfd | leak_posix_timer | ok_posix_timer)
	scenario_td "$@"
	;;
*)
	echo "preload_td.sh: no expectations for $1" >&2
	exit 2
	;;
esac
finish
