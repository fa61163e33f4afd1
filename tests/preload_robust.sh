#!/bin/sh
# preload_robust.sh - libtimerleak.so where services make life hard: fork,
# exec, many threads, signal handlers, dlopen and dlclose, kill -9, a full
# disk, descriptors closed and reused, the snapshot signal; and a real
# program nobody here wrote (stress-ng). One scenario per run.
#
# Usage: preload_robust.sh SCENARIO     (the scenario_* functions below)
# See preload_lib.sh for the environment and the output.
if [ $# -ne 1 ]; then
	echo "usage: preload_robust.sh SCENARIO" >&2
	exit 2
fi
scenario=$1
. "${0%/*}/preload_lib.sh"

# ---------------------------------------------------------------------------
# Fork and exec

# fork_expect TRACE ROLE OPS FLAGS: the trace of one process of
# preload_fork: OPS operations (a timerfd and a libgotimer timer each),
# its process record's flags, a clean end.
fork_expect() {
	fe_ops=$3
	expect_clean "$1"
	for fe in "create timerfd" "arm timerfd" "free timerfd" "create timer" "stop timer" \
		"release timer" "free timer"; do
		expect_ev "$1" $fe "$3"
	done
	expect "$2: events" $((7 * fe_ops)) "$(ev_all "$1")"
	expect "$2: process flags" "flags=$4" "$(process_flags "$1")"
}

# fork without exec: parent and child each have a trace of their own
# (%p), each ending cleanly with what that process did.
scenario_fork() {
	run fork "$TL_BIN/preload_fork" fork -n 200
	expect "exit status" 0 "$status"
	parent=$(line_val fork.out role=parent pid)
	child=$(line_val fork.out role=child pid)
	expect "child's exit status" 0 "$(line_val fork.out role=parent child_status)"
	if [ -f "fork.$parent.tlk" ]; then
		read_trace "fork.$parent.tlk"
		fork_expect "fork.$parent.tlk" parent "$(line_val fork.out role=parent ops)" 0
	else
		fail "the parent's trace fork.$parent.tlk: missing"
	fi
	if [ -f "fork.$child.tlk" ]; then
		read_trace "fork.$child.tlk"
		fork_expect "fork.$child.tlk" child "$(line_val fork.out role=child ops)" forked
	else
		fail "the child's trace fork.$child.tlk: missing"
	fi
	expect "trace files" 2 "$(ls fork.*.tlk 2>/dev/null | wc -l)"
}

# The same, with a child that ends with _exit(), as forked workers do:
# no atexit handler runs.
scenario_fork_exit() {
	run fork "$TL_BIN/preload_fork" fork_exit -n 200
	expect "exit status" 0 "$status"
	parent=$(line_val fork.out role=parent pid)
	child=$(line_val fork.out role=child pid)
	if [ -f "fork.$parent.tlk" ]; then
		read_trace "fork.$parent.tlk"
		fork_expect "fork.$parent.tlk" parent "$(line_val fork.out role=parent ops)" 0
	else
		fail "the parent's trace fork.$parent.tlk: missing"
	fi
	if [ -f "fork.$child.tlk" ]; then
		read_trace "fork.$child.tlk"
		fork_expect "fork.$child.tlk" "child (ended by _exit)" \
			"$(line_val fork.out role=child ops)" forked
	else
		fail "the trace of the child that called _exit(), fork.$child.tlk: missing (its $(line_val fork.out role=child ops) operations were lost)"
	fi
}

# fork, then exec in the child: the child's pre-exec trace ends cleanly
# (the recorder flushes before exec) and the exec'd program has a trace of
# its own, marked as started by exec. The template names files by
# executable and pid, as the default one does.
scenario_fork_exec() {
	tmpl="$work/%e.%p.tlk"
	run fork "$TL_BIN/preload_fork" exec -n 200 -- "$TL_BIN/preload_plain" timers -n 100
	expect "exit status" 0 "$status"
	parent=$(line_val fork.out role=parent pid)
	child=$(line_val fork.out role=child pid)
	expect "exec'd program's output" "mode=timers timerfds=100 posix_timers=100 gotimer_mapped=0" \
		"$(grep mode=timers fork.out)"
	if [ -f "preload_fork.$parent.tlk" ]; then
		read_trace "preload_fork.$parent.tlk"
		fork_expect "preload_fork.$parent.tlk" parent "$(line_val fork.out role=parent ops)" 0
	else
		fail "the parent's trace preload_fork.$parent.tlk: missing"
	fi
	if [ -f "preload_fork.$child.tlk" ]; then
		read_trace "preload_fork.$child.tlk"
		fork_expect "preload_fork.$child.tlk" "child before exec" \
			"$(line_val fork.out role=child ops)" forked
	else
		fail "the child's pre-exec trace preload_fork.$child.tlk: missing"
	fi
	if [ -f "preload_plain.$child.tlk" ]; then
		t="preload_plain.$child.tlk"
		read_trace "$t"
		expect_clean "$t"
		for fe in "create timerfd" "arm timerfd" "free timerfd" "create posix" "arm posix" \
			"free posix"; do
			expect_ev "$t" $fe 100
		done
		expect "exec'd program: process flags" "flags=execed" "$(process_flags "$t")"
		expect "exec'd program: pid" "$child" \
			"$(awk '$2 == "process" { sub("pid=", "", $3); print $3; exit }' "$t.events")"
	else
		fail "the exec'd program's trace preload_plain.$child.tlk: missing"
	fi
}

# vfork, and exec in the child, which until its exec runs in the parent's
# memory: the parent's trace must go on, whole, after the child's exec;
# the exec'd program has a trace of its own.
scenario_vfork_exec() {
	tmpl="$work/%e.%p.tlk"
	run fork "$TL_BIN/preload_fork" vfork -n 200 -- "$TL_BIN/preload_plain" timers -n 100
	expect "exit status" 0 "$status"
	expect "child's exit status" 0 "$(line_val fork.out role=parent child_status)"
	parent=$(line_val fork.out role=parent pid)
	child=$(line_val fork.out role=parent child_pids)
	if [ -f "preload_fork.$parent.tlk" ]; then
		read_trace "preload_fork.$parent.tlk"
		fork_expect "preload_fork.$parent.tlk" parent "$(line_val fork.out role=parent ops)" 0
	else
		fail "the parent's trace preload_fork.$parent.tlk: missing"
	fi
	if [ -f "preload_plain.$child.tlk" ]; then
		read_trace "preload_plain.$child.tlk"
		expect_clean "preload_plain.$child.tlk"
		expect "exec'd program: events" 600 "$(ev_all "preload_plain.$child.tlk")"
	else
		fail "the exec'd program's trace preload_plain.$child.tlk: missing"
	fi
}

# TIMERLEAK_FOLLOW: fork and exec followed as asked, and only then.
scenario_follow() {
	for follow in fork exec none; do
		mkdir "$follow"
		export TIMERLEAK_FOLLOW=$follow
		tmpl="$work/$follow/%e.%p.tlk"
		run "f_$follow" "$TL_BIN/preload_fork" exec -n 50 -- "$TL_BIN/preload_plain" timers -n 30
		expect "FOLLOW=$follow: exit status" 0 "$status"
		parent=$(line_val "f_$follow.out" role=parent pid)
		child=$(line_val "f_$follow.out" role=child pid)
		case $follow in
		fork) want="preload_fork.$child.tlk preload_fork.$parent.tlk" ;;
		exec) want="preload_fork.$parent.tlk preload_plain.$child.tlk" ;;
		none) want="preload_fork.$parent.tlk" ;;
		esac
		expect "FOLLOW=$follow: trace files" "$(echo $want | tr ' ' '\n' | sort | tr '\n' ' ')" \
			"$(cd "$follow" && ls ./*.tlk | sed 's|^\./||' | sort | tr '\n' ' ')"
		for t in "$follow"/*.tlk; do
			[ -f "$t" ] || continue
			read_trace "$t"
			expect_clean "$t"
		done
	done
}

# A program that execs itself (same executable, same pid), with the
# default output template (timerleak.%e.%p.tlk): the exec'd image needs a
# trace of its own.
scenario_exec_self() {
	tmpl="$work/timerleak.%e.%p.tlk"
	run fork "$TL_BIN/preload_fork" exec -n 50 -- "$TL_BIN/preload_fork" ops -n 70
	expect "exit status" 0 "$status"
	child=$(line_val fork.out role=child pid)
	expect "exec'd program ran" 70 "$(line_val fork.out role=single ops)"
	# The exec'd image's file is NAME.PID.2.tlk: the first name is taken.
	expect "trace files of the child's pid (before exec, after exec)" 2 \
		"$(ls ./*."$child".tlk ./*."$child".2.tlk 2>/dev/null | wc -l)"
	grep -q "timerleak: cannot create" fork.err &&
		fail "the recorder in the exec'd program: $(grep 'timerleak: cannot create' fork.err)"
}

# An exec that fails: the trace was ended before it; the process goes on
# making timers, and the trace must go on holding them.
scenario_exec_fail() {
	run single "$TL_BIN/preload_fork" exec_fail -n 200
	expect "exit status" 0 "$status"
	expect "exec's errno (ENOENT)" 2 "$(val single.out exec_errno)"
	one_trace single || return
	ops=$(val single.out ops)
	expect "operations (before and after the failed exec)" 400 "$ops"
	for fe in "create timerfd" "arm timerfd" "free timerfd" "create timer" "stop timer" \
		"release timer" "free timer"; do
		expect_ev "$trace" $fe "$ops"
	done
	expect "end record: events + dropped" $((7 * ops)) \
		"$(end_total "$trace")"
	expect "end: clean" clean "$(tc "$trace" end)"
	expect "orphans" 0 "$(tc "$trace" orphans)"
}

# fork while other threads are busy recording: every child's trace is
# whole and clean; the parent's counts all its events (recorded or
# dropped, never silently lost); nothing deadlocks.
scenario_forks_busy() {
	run forks "$TL_BIN/preload_fork" forks -n 50 -t 4 -f 20
	expect "exit status" 0 "$status"
	expect "children's worst exit status" 0 "$(line_val forks.out role=parent child_status)"
	parent=$(line_val forks.out role=parent pid)
	kids=$(line_val forks.out role=parent child_pids | tr ',' ' ')
	expect "children" 20 "$(echo $kids | wc -w)"
	for kid in $kids; do
		if [ ! -f "forks.$kid.tlk" ]; then
			fail "child $kid: trace missing"
			continue
		fi
		read_trace "forks.$kid.tlk"
		fork_expect "forks.$kid.tlk" "child $kid" 50 forked
	done
	if [ -f "forks.$parent.tlk" ]; then
		t="forks.$parent.tlk"
		read_trace "$t"
		ops=$(line_val forks.out role=parent ops)
		expect "parent: end" clean "$(tc "$t" end)"
		expect "parent: double" 0 "$(tc "$t" double)"
		in_trace=$(ev_all "$t")
		dropped=$(tc "$t" dropped)
		expect "parent: events recorded + dropped (7 per operation)" $((7 * ops)) \
			$((in_trace + dropped))
	else
		fail "the parent's trace forks.$parent.tlk: missing"
	fi
}

# threads_expect NAME TRACE: preload_threads' counts, exactly, against
# its trace.
threads_expect() {
	expect_ev "$2" create timer "$(val "$1.out" gt_created)"
	expect_ev "$2" stop timer "$(val "$1.out" gt_stopped)"
	expect_ev "$2" release timer "$(val "$1.out" gt_freed)"
	expect_ev "$2" free timer "$(val "$1.out" gt_freed)"
	expect_ev "$2" create timerfd "$(val "$1.out" timerfd_created)"
	expect_ev "$2" arm timerfd "$(val "$1.out" timerfd_created)"
	expect_ev "$2" free timerfd "$(val "$1.out" timerfd_closed)"
	expect_ev "$2" create posix "$(val "$1.out" posix_created)"
	expect_ev "$2" arm posix "$(val "$1.out" posix_created)"
	expect_ev "$2" free posix "$(val "$1.out" posix_deleted)"
}

# 32 threads x 10,000 timer operations with the default ring. On a
# machine with few CPUs the 32 threads can keep the writer off the CPU
# long enough for a thread to give up waiting for ring space; that is
# allowed, rarely (at most one event in a thousand) and never silently:
# events in the trace + dropped = events made. With no drop, every count
# is exact.
scenario_threads() {
	run threads "$TL_BIN/preload_threads" -t 32 -n 10000
	expect "exit status" 0 "$status"
	one_trace threads || return
	gt=$(val threads.out gt_created)
	tfd=$(val threads.out timerfd_created)
	posix=$(val threads.out posix_created)
	expect "operations" 320000 $((gt + tfd + posix))
	made=$(val threads.out events)
	dropped=$(tc "$trace" dropped)
	expect "events in the trace + dropped" "$made" $(($(ev_all "$trace") + dropped))
	expect "end record: events + dropped" "$made" "$(end_total "$trace")"
	expect_range "dropped (at most one in a thousand)" 0 $((made / 1000)) "$dropped"
	if [ "$dropped" != 0 ]; then
		grep ' dropped ' "$trace.events" | awk '{ print $NF }' | sort | uniq -c |
			sed 's/^/  drop records by reason: /'
		expect "end" clean "$(tc "$trace" end)"
		return
	fi
	expect_clean "$trace"
	threads_expect threads "$trace"
	expect "events" "$made" "$(ev_all "$trace")"
	expect_sites "$trace" "posix op_posix@preload_threads.c $posix; timer op_gotimer@preload_threads.c $gt; timerfd op_timerfd@preload_threads.c $tfd"
}

# The same with the smallest ring: drops may happen, and each is counted:
# events in the trace + dropped = events made, in the dropped records and
# in the end record alike.
scenario_threads_small_ring() {
	export TIMERLEAK_RING_KB=16
	run threads "$TL_BIN/preload_threads" -t 32 -n 10000
	expect "exit status" 0 "$status"
	one_trace threads || return
	made=$(val threads.out events)
	dropped=$(tc "$trace" dropped)
	echo "events made $made, in the trace $(ev_all "$trace"), dropped $dropped"
	expect "end" clean "$(tc "$trace" end)"
	expect "double" 0 "$(tc "$trace" double)"
	expect "events in the trace + dropped records" "$made" $(($(ev_all "$trace") + dropped + 0))
	expect "end record: events + dropped" "$made" \
		"$(end_total "$trace")"
	if [ "$dropped" != 0 ]; then
		expect "drop reasons" "reason=ring-full" \
			"$(grep ' dropped ' "$trace.events" | grep -o 'reason=[a-z-]*' | sort -u | tr '\n' ' ' | sed 's/ $//')"
	fi
	# A dropped create leaves at most three orphans (arm or stop, release,
	# free).
	expect_range "orphans (events of timers whose create was dropped)" 0 $((3 * dropped)) \
		"$(tc "$trace" orphans)"
}

# A signal handler arming a POSIX timer (and making a timerfd) while the
# thread it interrupts records timerfd events in a tight loop: no
# deadlock, no crash, every event recorded, or, when the machine is so
# loaded that the ring filled up, counted as dropped.
scenario_sigtimer() {
	for unwinder in libunwind fp; do
		export TIMERLEAK_UNWIND=$unwinder
		run "sig_$unwinder" "$TL_BIN/preload_sigtimer" -n 20000 -p 50
		expect "$unwinder: exit status" 0 "$status"
		one_trace "sig_$unwinder" || continue
		o="sig_$unwinder.out"
		arms=$(val "$o" handler_arms)
		hfds=$(val "$o" handler_timerfds)
		expect "$unwinder: handler failures" 0 "$(val "$o" handler_failures)"
		expect_min "$unwinder: signals handled" 1 "$arms"
		expect "$unwinder: end" clean "$(tc "$trace" end)"
		expect "$unwinder: double" 0 "$(tc "$trace" double)"
		made=$((2 + arms + 1 + 1 + 2 + 3 * 20000 + 2 * hfds))
		dropped=$(tc "$trace" dropped)
		expect "$unwinder: events in the trace + dropped" "$made" $(($(ev_all "$trace") + dropped + 0))
		if [ "$dropped" = 0 ]; then
			expect_ev "$trace" create posix 2
			expect_ev "$trace" arm posix $((arms + 1))
			expect_ev "$trace" stop posix 1
			expect_ev "$trace" free posix 2
			expect_ev "$trace" create timerfd $((20000 + hfds))
			expect_ev "$trace" arm timerfd 20000
			expect_ev "$trace" free timerfd $((20000 + hfds))
			expect "$unwinder: orphans" 0 "$(tc "$trace" orphans)"
		else
			# A handler that interrupts its thread while that thread
			# waits for room in its full ring cannot wait: its event
			# is dropped, and counted.
			echo "note: $unwinder: $dropped event(s) dropped: $(grep ' dropped ' "$trace.events" | grep -o 'reason=[a-z-]*' | sort | uniq -c | tr '\n' ' ')"
		fi
		# A handler's stack is captured only when it did not interrupt
		# the recorder; its leaf is the handler's call either way.
		expect "$unwinder: leaf frames of the creation sites" \
			"handler_timerfd@preload_sigtimer.c loop_timerfd@preload_sigtimer.c make_posix@preload_sigtimer.c" \
			"$(awk '$1 == "site" { l = $4; sub(/:[0-9]+$/, "", l); print l }' "$trace.check" | sort -u | tr '\n' ' ' | sed 's/ $//')"
	done
}

# events_summary EVENTS: trace_check's counts from --events, for ids
# trace_check cannot index (those of a reloaded libgotimer are above
# 2^40): "type kind count" lines, then orphans and double.
events_summary() {
	awk '$3 ~ /^(create|arm|stop|reset|fire|drain|release|free)$/ {
		id = $4
		if ($3 == "create") {
			if (id in kind) double++
			kind[id] = $5; sub("kind=", "", kind[id])
		} else if (!(id in kind)) {
			orphans++
		}
		if ($3 == "free") { if (id in freed) double++; freed[id] = 1 }
		n[$3 " " (id in kind ? kind[id] : "unknown")]++
	}
	END {
		for (k in n) print "events", k, n[k]
		print "orphans", orphans + 0
		print "double", double + 0
	}' "$1"
}

# A program not linked with libgotimer dlopens a plugin that is, uses it,
# dlcloses it, and again: no crash, every timer recorded, ids unique
# across loads. libgotimer is linked -z nodelete (its threads run its code
# for the life of the process), so it is loaded once and stays: one
# runtime and one module record, no unload. The plugin is unloaded and
# loaded again each time, and dlclose has the writer describe the objects
# before and after each unload: a module and an unload record per load.
scenario_dlopen_plugin() {
	run dl "$TL_BIN/preload_dlopen" plugin "$TL_PLUGIN" -r 4 -n 10
	expect "exit status" 0 "$status"
	one_trace dl || return
	expect "libgotimer stays loaded (unloaded)" 0 "$(val dl.out unloaded)"
	events_summary "$trace.events" >"$trace.summary"
	expect "end" clean "$(tc "$trace" end)"
	expect "dropped" 0 "$(tc "$trace" dropped)"
	expect "orphans" 0 "$(awk '$1 == "orphans" { print $2 }' "$trace.summary")"
	expect "double (ids reused across loads)" 0 "$(awk '$1 == "double" { print $2 }' "$trace.summary")"
	for fe in "create timer" "stop timer" "release timer" "free timer"; do
		expect "$fe events" 40 "$(summary_ev "$trace" $fe)"
	done
	for fe in "create after" "fire after" "drain after" "release after" "free after"; do
		expect "$fe events" 4 "$(summary_ev "$trace" $fe)"
	done
	expect "runtime records" 1 "$(records "$trace" runtime)"
	expect "module records of libgotimer" 1 "$(records "$trace" module 'libgotimer')"
	expect "unload records of libgotimer" 0 "$(unloads_of "$trace" libgotimer)"
	expect "module records of the plugin (one per load)" 4 \
		"$(records "$trace" module 'libpreload_plugin')"
	expect "unload records of the plugin (one per load)" 4 \
		"$(unloads_of "$trace" libpreload_plugin)"
	expect "leaf frames of the creation sites" \
		"plugin_after@preload_plugin.c plugin_timer@preload_plugin.c" \
		"$(awk '$1 == "site" { l = $4; sub(/:[0-9]+$/, "", l); print l }' "$trace.check" | sort -u | tr '\n' ' ' | sed 's/ $//')"
}

# summary_ev TRACE TYPE KIND: from events_summary's TRACE.summary.
summary_ev() {
	awk -v k="events $2 $3" '$1 " " $2 " " $3 == k { n = $4 } END { print n + 0 }' "$1.summary"
}

# unloads_of TRACE PATTERN: unload records of modules whose path matches.
unloads_of() {
	awk -v p="$2" '$2 == "module" && $0 ~ p { split($3, a, "="); mine[a[2]] = 1 }
		$2 == "module-unload" { split($3, a, "="); if (a[2] in mine) n++ }
		END { print n + 0 }' "$1.events"
}

# libgotimer dlopened and used through dlsym'd pointers: no interposer
# sees those calls, so no create is recorded; the runtime still calls its
# hooks, which the recorder does see: the fire, the drain and every free.
# The after-timer is reclaimed by the runtime's timer thread, a moment after
# it delivered its value: the program waits for that before it exits, as a
# free that happens after the trace's end cannot be in it.
scenario_dlopen_dlsym() {
	LD_LIBRARY_PATH=${TL_GOTIMER%/*} run dl "$TL_BIN/preload_dlopen" dlsym libgotimer.so.1 -n 10
	expect "exit status" 0 "$status"
	one_trace dl || return
	expect "end" clean "$(tc "$trace" end)"
	expect "dropped" 0 "$(tc "$trace" dropped)"
	expect "creates (invisible through dlsym)" 0 \
		"$(awk '$1 == "timers" { print $3 }' "$trace.check")"
	expect "fire events (the runtime's gt_hook_fired)" 1 "$(ev "$trace" fire unknown)"
	expect "drain events (the runtime's gt_hook_received)" 1 "$(ev "$trace" drain unknown)"
	expect "timer objects left when the program exits" 0 "$(val dl.out live_objects)"
	expect "free events (the runtime's gt_hook_reclaimed)" 11 "$(ev "$trace" free unknown)"
}

# kill -9 in the middle of a run: the trace reads up to its last whole
# chunk, says it is truncated, and holds events.
scenario_kill9() {
	run_bg k "$TL_BIN/preload_threads" -t 4 -n 2000 -l
	wait_for "preload_threads running" 30 grep -q running k.out
	# Reads up to the first create only: the trace grows by megabytes a
	# second, and a loaded machine must not spend the deadline reading it.
	k_created() {
		for f in "$work"/k.*.tlk; do
			"$TL_CHECK" --has-timers "$f" && return 0
		done
		return 1
	}
	wait_for "events in the trace while it runs" 30 k_created
	kill -9 "$bg_pid"
	status=0
	wait "$bg_pid" || status=$?
	expect "exit status (SIGKILL)" 137 "$status"
	one_trace k || return
	expect "end" truncated "$(tc "$trace" end)"
	expect_min "timers created in the readable prefix" 1 \
		"$(awk '$1 == "timers" { print $3 }' "$trace.check")"
	expect "double" 0 "$(tc "$trace" double)"
	# Four busy threads on a loaded machine may fill a ring: a dropped
	# create leaves at most three orphans (arm or stop, release, free).
	dropped=$(tc "$trace" dropped)
	expect_range "orphans (3 at most per dropped event: $dropped)" 0 $((3 * dropped)) \
		"$(tc "$trace" orphans)"
	# Killed between two chunks, the trace lacks its end record (a note);
	# killed in the middle of writing one, it is also cut short (a warning).
	grep -Eq 'no end record|truncated' "$trace.events.err" ||
		fail "timerleak-report --events: nothing says the trace has no end"
}

# A full disk: a 64 KiB tmpfs, mounted in a mount namespace of its own.
# The service finishes as usual; the trace is well formed and says what
# was lost.
scenario_full_disk() {
	if [ -z "${TL_IN_NAMESPACE:-}" ]; then
		command -v unshare >/dev/null || skip "no unshare(1)"
		unshare --mount --propagation private true 2>/dev/null ||
			skip "cannot make a mount namespace (the full-disk test needs root)"
		export TL_IN_NAMESPACE=1
		exec unshare --mount --propagation private sh "$0" full_disk
	fi
	mkdir -p disk
	mount -t tmpfs -o size=64k,mode=0700 tmpfs "$work/disk" ||
		skip "cannot mount a 64 KiB tmpfs on $work/disk"
	status=0
	timeout $deadline "$TL_BIN/preload_threads" -t 8 -n 20000 >plain.out 2>plain.err || status=$?
	expect "without the recorder: exit status" 0 "$status"
	tmpl="$work/disk/t.%p.tlk"
	run full "$TL_BIN/preload_threads" -t 8 -n 20000
	expect "exit status" 0 "$status"
	expect "output (as without the recorder)" "$(cat plain.out)" "$(cat full.out)"
	set -- disk/t.*.tlk
	if [ $# -ne 1 ] || [ ! -f "$1" ]; then
		fail "trace files on the full disk: expected 1, found $*"
	else
		cp "$1" "$work/full.trace.tlk"
		trace="$work/full.trace.tlk"
		read_trace "$trace"
		made=$(val full.out events)
		dropped=$(tc "$trace" dropped)
		echo "events made $made, in the trace $(ev_all "$trace"), dropped $dropped; file $(wc -c <"$1") bytes"
		expect "end" clean "$(tc "$trace" end)"
		expect "double" 0 "$(tc "$trace" double)"
		full_pid=$(basename "$1" .tlk | sed 's/^t\.//')
		expect "first record (the trace's process record)" "process pid=$full_pid" \
			"$(awk 'NR == 1 { print $2, $3 }' "$trace.events")"
		expect_min "dropped" 1 "$dropped"
		expect_min "dropped records with reason write-failed" 1 \
			"$(records "$trace" dropped 'reason=write-failed')"
		expect "events in the trace + dropped" "$made" $(($(ev_all "$trace") + dropped + 0))
		expect "end record: events + dropped" "$made" \
			"$(end_total "$trace")"
	fi
	umount "$work/disk"
}

# A program that never loads libgotimer and makes no timer: no crash, a
# valid trace with no event, and libgotimer still not loaded.
scenario_plain_none() {
	run plain "$TL_BIN/preload_plain" none
	expect "exit status" 0 "$status"
	expect "libgotimer mapped" 0 "$(val plain.out gotimer_mapped)"
	one_trace plain || return
	expect_clean "$trace"
	expect "events" 0 "$(ev_all "$trace")"
	expect "timers line" "timers created 0 freed 0 live 0" "$(grep '^timers' "$trace.check")"
	expect "end record" "events=0 dropped=0" "$(awk '$2 == "end" { print $3, $4 }' "$trace.events")"
}

# The same program making timerfds and POSIX timers: all recorded.
scenario_plain_timers() {
	run plain "$TL_BIN/preload_plain" timers -n 300
	expect "exit status" 0 "$status"
	expect "libgotimer mapped" 0 "$(val plain.out gotimer_mapped)"
	one_trace plain || return
	expect_clean "$trace"
	for fe in "create timerfd" "arm timerfd" "free timerfd" "create posix" "arm posix" \
		"free posix"; do
		expect_ev "$trace" $fe 300
	done
	expect "runtime records" 0 "$(records "$trace" runtime)"
	expect_sites "$trace" "posix plain_posix@preload_plain.c 300; timerfd plain_timerfd@preload_plain.c 300"
}

# Descriptor numbers reused, duplicated and replaced around timerfds:
# the events, in order, are the ones the program lists (expect=).
scenario_fd_reuse() {
	run fds "$TL_BIN/preload_fds"
	expect "exit status" 0 "$status"
	expect "a file opened after closing a timerfd got its number" 1 "$(val fds.out reuse_same_fd)"
	expect "close of a closed descriptor: -1, EBADF" 1 "$(val fds.out ebadf_ok)"
	one_trace fds || return
	expect_clean "$trace"
	expect "kernel-timer events, in order (c create, a arm, f free; timers numbered as created)" \
		"$(val fds.out expect)" \
		"$(awk '$3 ~ /^(create|arm|stop|free)$/ {
			if ($3 == "create") num[$4] = ++n
			printf "%s%s%d", sep, substr($3, 1, 1), num[$4]; sep = ","
		} END { print "" }' "$trace.events")"
}

# A service that closes every descriptor three ways (close_range,
# closefrom, a close() loop), then opens its own files, which get the
# lowest numbers: the trace survives, the timerfds closed on the way are
# freed, and the service's files hold what the service put there, with
# each unwinder (libunwind keeps descriptors of its own: see the report
# of close_all).
close_all() {
	export TIMERLEAK_UNWIND=$1
	mkdir files
	run closeall "$TL_BIN/preload_closeall" "$work/files"
	expect "exit status" 0 "$status"
	expect "the service's files after its own reads and writes (files_intact)" 1 \
		"$(val closeall.out files_intact)"
	expect "the service's input, as it read it" '"0123456789"' "$(val closeall.out input)"
	expect "the service's output, as written" '"hello\n"' "$(val closeall.out output)"
	one_trace closeall || return
	expect_clean "$trace"
	n=$(val closeall.out timerfds)
	expect_ev "$trace" create timerfd "$n"
	expect_ev "$trace" arm timerfd "$n"
	expect_ev "$trace" free timerfd "$(val closeall.out timerfds_closed)"
	expect_ev "$trace" create posix 1
	expect_ev "$trace" arm posix 1
	expect_ev "$trace" free posix 1
}

scenario_close_all() {
	close_all libunwind
}

scenario_close_all_fp() {
	close_all fp
}

# signals_run NAME MODE [sh-prefix]: preload_signals MODE, then kill
# -USR2 once it is ready, then GO once the signal was handled (by the
# recorder: its snapshot is in the trace; or by the service), then wait.
signals_run() {
	sr_name=$1
	sr_mode=$2
	if [ "${3:-}" = ignored ]; then
		# SIG_IGN survives exec: the service starts with SIGUSR2 ignored.
		(
			trap '' USR2
			exec env LD_PRELOAD="$TL_PRELOAD" TIMERLEAK_OUTPUT="$work/$sr_name.%p.tlk" \
				"$TL_BIN/preload_signals" "$sr_mode" "$work/go" -n 50
		) >"$sr_name.out" 2>"$sr_name.err" &
		bg_pid=$!
	else
		run_bg "$sr_name" "$TL_BIN/preload_signals" "$sr_mode" "$work/go" -n 50
	fi
	wait_for "$sr_name: ready" 30 grep -q ready "$sr_name.out" || {
		kill -9 "$bg_pid"
		return 1
	}
	kill -USR2 "$bg_pid" || fail "kill -USR2 $bg_pid: the process is gone"
	sleep 0.5
	touch "$work/go"
	wait_bg "$sr_name"
	expect "$sr_name: exit status (the process kept running)" 0 "$status"
	expect "$sr_name: waited for GO" 0 "$(val "$sr_name.out" timed_out)"
	one_trace "$sr_name" || return 1
	expect_clean "$trace"
	ops=$(val "$sr_name.out" ops)
	for fe in "create timerfd" "arm timerfd" "free timerfd"; do
		expect_ev "$trace" $fe "$ops"
	done
}

# The snapshot signal: a snapshot record in the trace, between events,
# and the process goes on.
scenario_snapshot() {
	signals_run snap snapshot || return
	expect "SIGUSR2 as the service found it" dfl "$(val snap.out found)"
	expect "snapshot records" 1 "$(records "$trace" snapshot)"
	expect "snapshot seq" "seq=1" "$(awk '$2 == "snapshot" { print $3 }' "$trace.events")"
	expect "events before and after the snapshot" "yes yes" \
		"$(awk '$2 == "snapshot" { s = 1 } $3 == "create" { if (s) a = 1; else b = 1 }
			END { print (b ? "yes" : "no"), (a ? "yes" : "no") }' "$trace.events")"
}

# A service with its own SIGUSR2 handler, installed in main(): the
# handler runs, and stays the service's.
scenario_handler_main() {
	signals_run hmain main || return
	expect "the service's handler ran (handler_runs)" 1 "$(val hmain.out handler_runs)"
	expect "the handler in place is the service's" 1 "$(val hmain.out handler_is_ours)"
	expect "snapshot records" 0 "$(records "$trace" snapshot)"
}

# The same, installed before the recorder starts (.preinit_array): the
# recorder must leave it in place.
scenario_handler_preinit() {
	signals_run hpre preinit || return
	expect "installed from .preinit_array" 1 "$(val hpre.out preinit)"
	expect "the service's handler ran (handler_runs)" 1 "$(val hpre.out handler_runs)"
	expect "the handler in place is the service's" 1 "$(val hpre.out handler_is_ours)"
	expect "snapshot records" 0 "$(records "$trace" snapshot)"
}

# A service started with SIGUSR2 ignored (SIG_IGN is inherited across
# exec): the recorder must not take the signal over, and a SIGUSR2 must
# neither kill the service nor make a snapshot.
scenario_usr2_ignored() {
	signals_run ign snapshot ignored || return
	expect "SIGUSR2 as the service found it" ign "$(val ign.out found)"
	expect "snapshot records" 0 "$(records "$trace" snapshot)"
}

# ---------------------------------------------------------------------------
# How services end: fatal signals, with and without handlers of their own

# ends_expect NAME SIGNO: NAME's trace ends cleanly, with the record of the
# signal SIGNO, and holds every timer made before it (50 of each kind).
ends_expect() {
	one_trace "$1" || return
	expect "$1: end" clean "$(tc "$trace" end)"
	expect "$1: the signal the trace ends with" "signo=$2" \
		"$(awk '$2 == "signal" { print $3 }' "$trace.events")"
	for fe in "create timerfd" "arm timerfd" "create posix" "arm posix"; do
		expect_ev "$trace" $fe 50
	done
	expect "$1: dropped" 0 "$(tc "$trace" dropped)"
}

# A crash (SIGSEGV), abort(), and a crash handler installed one-shot
# (SA_RESETHAND), all in a run's first moments, before any chunk was due:
# the trace holds every timer and ends with the signal, and the process
# dies of it exactly as it does without the recorder.
scenario_crash() {
	ulimit -c 0
	for mode in segv abort segv_oneshot; do
		bare "bare_$mode" "$TL_BIN/preload_ends" $mode -n 50
		want=$status
		run "$mode" "$TL_BIN/preload_ends" $mode -n 50
		expect "$mode: exit status (as without the recorder)" "$want" "$status"
		expect "$mode: output (as without the recorder)" "$(cat "bare_$mode.out")" \
			"$(cat "$mode.out")"
		case $mode in
		abort) ends_expect "$mode" 6 ;;
		*) ends_expect "$mode" 11 ;;
		esac
	done
}

# SIGTERM with the default action, and with a handler of the program's own
# that restores the default and raises the signal again: the trace ends
# with SIGTERM and holds everything; the process dies of SIGTERM.
scenario_sigterm() {
	for mode in term term_handler; do
		run_bg "$mode" "$TL_BIN/preload_ends" $mode -n 50
		wait_for "$mode: ready" 30 grep -q ready "$mode.out" || {
			kill -9 "$bg_pid"
			continue
		}
		kill -TERM "$bg_pid"
		wait_bg "$mode"
		expect "$mode: exit status (SIGTERM)" 143 "$status"
		if [ $mode = term_handler ]; then
			expect "$mode: the program's handler ran" 1 "$(val "$mode.out" handled)"
		fi
		ends_expect "$mode" 15
	done
}

# The program's view of its signal dispositions, through sigaction() and
# signal(), is what it set, as without the recorder.
scenario_dispositions() {
	bare bare "$TL_BIN/preload_ends" dispositions
	run disp "$TL_BIN/preload_ends" dispositions
	expect "exit status" 0 "$status"
	expect "dispositions seen by the program (as without the recorder)" "$(cat bare.out)" \
		"$(cat disp.out)"
}

# A daemon: fork, setsid, chdir("/"), standard error to /dev/null. With a
# relative output name (like the default), its trace goes where the service
# was started, not to /, for root and for a user who cannot write in /.
daemon_check() {
	expect "$1: exit status" 0 "$status"
	child=$(val "$1.out" child)
	expect "$1: the daemon's exit status" 0 "$(val "$1.out" child_status)"
	if [ -e "/$1.$child.tlk" ]; then
		fail "$1: the daemon's trace went to /$1.$child.tlk"
		rm -f "/$1.$child.tlk"
	fi
	if [ ! -f "$1.$child.tlk" ]; then
		fail "$1: the daemon's trace $1.$child.tlk: missing ($(ls ./*.tlk 2>/dev/null))"
		return
	fi
	read_trace "$1.$child.tlk"
	expect_clean "$1.$child.tlk"
	for fe in "create timerfd" "free timerfd" "create posix" "free posix"; do
		expect_ev "$1.$child.tlk" $fe 20
	done
}

# as_nobody DIR: when this runs as root with setpriv and a user nobody,
# make DIR, writable by all, and go there; else say what is not tried and
# return 1. Then $NOBODY CMD... runs CMD as nobody.
NOBODY="setpriv --reuid=nobody --regid=nogroup --clear-groups"
as_nobody() {
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && id nobody >/dev/null 2>&1; then
		mkdir "$1" && chmod 777 "$1" && cd "$1"
	else
		echo "note: not root, or no setpriv: the run as nobody ($1) is not tried"
		return 1
	fi
}

scenario_daemon() {
	tmpl="daemon.%p.tlk"
	run daemon "$TL_BIN/preload_ends" daemon -n 20
	daemon_check daemon
	# The same as a user who may not write in /.
	if as_nobody user; then
		tmpl="user.%p.tlk"
		run user $NOBODY "$TL_BIN/preload_ends" daemon -n 20
		daemon_check user
		cd "$work" || return
	fi
}

# Credentials and namespaces: a program that drops privileges keeping its
# capabilities for itself (PR_SET_KEEPCAPS, as setpriv does: glibc aborts
# the process if any thread fails the change), and one that unshares a user
# namespace, which only a process of one thread may: both work as they do
# without the recorder, whose writer thread steps aside, and the trace
# goes on after the change.
scenario_privileges() {
	if as_nobody priv; then
		tmpl="priv.%p.tlk"
		bare bare $NOBODY "$TL_BIN/preload_ends" daemon -n 5
		want=$status
		run priv $NOBODY "$TL_BIN/preload_ends" daemon -n 5
		expect "setpriv: exit status (as without the recorder)" "$want" "$status"
		expect "setpriv: the daemon's exit status" 0 "$(val priv.out child_status)"
		cd "$work" || return
	fi
	tmpl=
	bare bare_ns "$TL_BIN/preload_ends" unshare -n 10
	run ns "$TL_BIN/preload_ends" unshare -n 10
	expect "unshare(CLONE_NEWUSER) (as without the recorder)" "$(val bare_ns.out unshare)" \
		"$(val ns.out unshare)"
	one_trace ns || return
	expect_clean "$trace"
	expect_ev "$trace" create timerfd 20
	expect_ev "$trace" free posix 20
}

# A program that lowers its address-space limit (RLIMIT_AS) after its first
# timer, then makes timers of the other kind: the tables the recorder needs
# were mapped at start-up, so each timer is followed to its end, and the
# report finds no leak (it used to report every one of them leaked).
scenario_rlimit() {
	for mode in rlimit_posix rlimit_fd; do
		run "$mode" "$TL_BIN/preload_ends" $mode -n 50
		expect "$mode: exit status" 0 "$status"
		one_trace "$mode" || continue
		expect_clean "$trace"
		tfd=$(val "$mode.out" timerfds)
		posix=$(val "$mode.out" posix_timers)
		expect_ev "$trace" create timerfd "$tfd"
		expect_ev "$trace" free timerfd "$tfd"
		expect_ev "$trace" create posix "$posix"
		expect_ev "$trace" free posix "$posix"
		"$TL_REPORT" "$trace" >"$mode.report" 2>&1
		grep -q 'LEAK' "$mode.report" && fail "$mode: the report finds a leak: $(grep LEAK "$mode.report")"
	done
}

# Timerfds above the first 4,096 descriptors, made with no address space to
# spare: the table page they need cannot be mapped, and the recorder says
# so: each is counted as untracked, none goes missing silently.
scenario_untracked() {
	run hi "$TL_BIN/preload_ends" highfd -n 20
	expect "exit status" 0 "$status"
	[ "$(val hi.out skip)" = 1 ] && skip "the descriptor limit cannot be raised to 4,200"
	one_trace hi || return
	expect "end" clean "$(tc "$trace" end)"
	expect "timers counted as untracked" 20 \
		"$(awk '$2 == "dropped" && /reason=untracked/ { split($4, c, "="); n += c[2] } END { print n + 0 }' "$trace.events")"
	expect_ev "$trace" create timerfd 1
	expect_ev "$trace" create posix 20
}

# ---------------------------------------------------------------------------
# The recorder's settings and messages

# Every setting takes exact values: anything else gets one line naming
# what it takes and the default, which is then used.
scenario_settings() {
	for setting in TIMERLEAK_FOLLOW=nofork TIMERLEAK_FOLLOW=sideways TIMERLEAK_CLOCK=sundial \
		TIMERLEAK_QUIET=yes TIMERLEAK_ANNOUNCE=no TIMERLEAK_UNWIND=dwarf TIMERLEAK_DEPTH=12x \
		TIMERLEAK_RING_KB=-5 TIMERLEAK_FLUSH_MS=0 TIMERLEAK_TIME_SHIFT=21 \
		TIMERLEAK_SNAPSHOT_SIGNAL=USR3; do
		var=${setting%%=*}
		value=${setting#*=}
		name=$(echo "$var.$value" | tr -c 'A-Za-z0-9.\n' _)
		status=0
		timeout -k 5 $deadline env "$setting" LD_PRELOAD="$TL_PRELOAD" \
			TIMERLEAK_OUTPUT="$work/$name.%p.tlk" "$TL_BIN/preload_plain" none \
			>"$name.out" 2>"$name.err" || status=$?
		expect "$setting: exit status" 0 "$status"
		expect "$setting: messages about it" 1 \
			"$(grep -c "^timerleak: $var=$value: not .*; using [^ ]*\$" "$name.err")"
	done
	# The default was used: fork followed, with fork,exec the default.
	export TIMERLEAK_FOLLOW=nofork
	run follow "$TL_BIN/preload_fork" fork -n 20
	unset TIMERLEAK_FOLLOW
	expect "TIMERLEAK_FOLLOW=nofork: fork followed (the default)" 2 \
		"$(ls follow.*.tlk 2>/dev/null | wc -l)"
	# Good values, in every form they take: no message beyond where the
	# trace goes.
	for setting in TIMERLEAK_FOLLOW=exec,fork TIMERLEAK_FOLLOW=none TIMERLEAK_CLOCK=monotonic \
		TIMERLEAK_CLOCK=tsc TIMERLEAK_QUIET=0 TIMERLEAK_UNWIND=fp TIMERLEAK_DEPTH=256 \
		TIMERLEAK_SNAPSHOT_SIGNAL=SIGUSR1 TIMERLEAK_SNAPSHOT_SIGNAL=none; do
		status=0
		timeout -k 5 $deadline env "$setting" LD_PRELOAD="$TL_PRELOAD" \
			TIMERLEAK_OUTPUT="$work/good.%p.tlk" "$TL_BIN/preload_plain" none \
			>good.out 2>good.err || status=$?
		expect "$setting: messages" "timerleak: recording pid" "$(cut -c1-24 good.err)"
	done
}

# Where the trace goes is said once, at start-up, by the first process;
# loudly when the name was taken (a file, or a symlink, which is never
# followed), and not at all with TIMERLEAK_QUIET=1 or TIMERLEAK_ANNOUNCE=0.
scenario_output_name() {
	tmpl="$work/fresh.%p.tlk"
	run fresh "$TL_BIN/preload_fork" fork -n 5
	parent=$(line_val fresh.out role=parent pid)
	expect "the start-up line (once, by the parent)" \
		"timerleak: recording pid $parent to $work/fresh.$parent.tlk" "$(cat fresh.err)"
	tmpl="$work/svc.tlk"
	echo old >svc.tlk
	run taken "$TL_BIN/preload_plain" none
	expect "an existing file is left alone" old "$(cat svc.tlk)"
	[ -f svc.2.tlk ] || fail "no svc.2.tlk"
	grep -q "^timerleak: WARNING: $work/svc.tlk already exists (or is a symlink); this trace (pid [0-9]*) goes to $work/svc.2.tlk instead\$" taken.err ||
		fail "no warning that the name was taken: $(cat taken.err)"
	echo target >target
	ln -s target link.tlk
	tmpl="$work/link.tlk"
	run link "$TL_BIN/preload_plain" none
	expect "a symlink's target is left alone" target "$(cat target)"
	[ -f link.2.tlk ] || fail "no link.2.tlk"
	grep -q "WARNING: $work/link.tlk already exists" link.err ||
		fail "no warning about the symlink: $(cat link.err)"
	for quiet in TIMERLEAK_QUIET=1 TIMERLEAK_ANNOUNCE=0; do
		tmpl="$work/q.%p.tlk"
		env "$quiet" LD_PRELOAD="$TL_PRELOAD" TIMERLEAK_OUTPUT="$tmpl" \
			"$TL_BIN/preload_plain" none >q.out 2>q.err
		expect "$quiet: messages" "" "$(cat q.err)"
	done
}

# Start-up: a process that records nothing, such as each command a traced
# shell script runs, pays a few dozen system calls of the recorder's, not
# thousands: libunwind's pipe is moved with two fcntl calls instead of a
# thousand, and nothing reads /proc/self/maps.
# startup_calls NAME [VAR=value...]: the system calls of true(1), from its
# exec to its exit, in the environment given, in NAME.calls.
startup_calls() {
	sc_name=$1
	shift
	strace -f -qq -o "$sc_name.st" env "$@" "$true_cmd" >/dev/null 2>&1
	awk -v t="$true_cmd" 'index($0, "execve(\"" t "\"") { on = 1 }
		on && $2 ~ /^[a-z_0-9]+\(/' "$sc_name.st" >"$sc_name.calls"
}

scenario_startup() {
	command -v strace >/dev/null || skip "strace is not installed"
	true_cmd=/bin/true
	[ -x $true_cmd ] || true_cmd=/usr/bin/true
	startup_calls bare TIMERLEAK_PARENT=1
	base=$(wc -l <bare.calls)
	expect_min "system calls of a bare start (strace works)" 10 "$base"
	for unwinder in libunwind fp; do
		startup_calls "$unwinder" TIMERLEAK_PARENT=1 TIMERLEAK_UNWIND=$unwinder \
			LD_PRELOAD="$TL_PRELOAD" TIMERLEAK_OUTPUT="$work/s.%p.tlk"
		n=$(wc -l <"$unwinder.calls")
		echo "$unwinder: $n system calls from exec to exit (bare: $base)"
		expect_range "$unwinder: system calls the recorder adds at start-up" 0 150 $((n - base))
		expect_range "$unwinder: fcntl calls" 0 4 "$(grep -c ' fcntl(' "$unwinder.calls")"
		expect "$unwinder: reads of /proc/self/maps" 0 "$(grep -c '/proc/self/maps' "$unwinder.calls")"
	done
	expect "trace files of processes that recorded nothing" 0 "$(ls s.*.tlk 2>/dev/null | wc -l)"
}

# ---------------------------------------------------------------------------
# Sanitizers: programs built with one, and the recorder built with one

# tsan_check NAME PROG: NAME's run of PROG exited 0, TSan said nothing, and
# the trace holds the program's timers.
tsan_check() {
	expect "$1: exit status" 0 "$status"
	grep -q 'ThreadSanitizer\|AddressSanitizer\|runtime error' "$1.err" &&
		fail "$1: a sanitizer spoke: $(grep -m 3 'Sanitizer\|runtime error\|SUMMARY' "$1.err")"
	one_trace "$1" || return
	expect "$1: end" clean "$(tc "$trace" end)"
	expect_min "$1: timers created" 10 "$(awk '$1 == "timers" { print $3 }' "$trace.check")"
}

# Programs built with ThreadSanitizer (against a TSan libgotimer), under the
# plain recorder with each unwinder, run as they do without it.
scenario_tsan_programs() {
	export TSAN_OPTIONS="halt_on_error=1:exitcode=66"
	for prog in leak_ticker ok_afterfunc leak_timerfd leak_posix_timer; do
		bare "bare_$prog" "$TL_BIN/${prog}_tsan"
		expect "$prog without the recorder: exit status" 0 "$status"
		for unwinder in libunwind fp; do
			export TIMERLEAK_UNWIND=$unwinder
			run "${prog}_$unwinder" "$TL_BIN/${prog}_tsan"
			tsan_check "${prog}_$unwinder"
		done
		unset TIMERLEAK_UNWIND
	done
}

# libtimerleak.so under AddressSanitizer and UndefinedBehaviorSanitizer, in
# plain programs: every timer kind, callbacks, threads, fork, a signal.
scenario_san_asan() {
	[ -n "${TL_PRELOAD_ASAN:-}" ] || skip "this build has no sanitized recorder"
	preload="$TL_LIBASAN:$TL_PRELOAD_ASAN"
	export ASAN_OPTIONS="detect_leaks=0:halt_on_error=1"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
	for prog in leak_ticker ok_afterfunc leak_timerfd leak_posix_timer; do
		run "$prog" "$TL_TESTDATA/$prog"
		tsan_check "$prog"
	done
	run threads "$TL_BIN/preload_threads" -t 8 -n 2000
	tsan_check threads
	# -s: no thread of the parent is starting when it forks, which ASan's
	# runtime does not survive (preload_fork.c).
	run fork "$TL_BIN/preload_fork" fork -n 100 -s
	expect "fork: exit status" 0 "$status"
	expect "fork: trace files" 2 "$(ls fork.*.tlk | wc -l)"
	run_bg term "$TL_BIN/preload_ends" term -n 50
	wait_for "term: ready" 30 grep -q ready term.out && kill -TERM "$bg_pid"
	wait_bg term
	expect "term: exit status" 143 "$status"
	ends_expect term 15
}

# libtimerleak.so under ThreadSanitizer, in programs built with it: TSan
# sees both sides of every ring, and the writer thread.
scenario_san_tsan() {
	[ -n "${TL_PRELOAD_TSAN:-}" ] || skip "this build has no sanitized recorder"
	preload="$TL_LIBTSAN:$TL_PRELOAD_TSAN"
	export TSAN_OPTIONS="halt_on_error=1:exitcode=66"
	for prog in leak_ticker ok_afterfunc leak_timerfd leak_posix_timer; do
		run "$prog" "$TL_BIN/${prog}_tsan"
		tsan_check "$prog"
	done
}

# ---------------------------------------------------------------------------
# A real program nobody here wrote: stress-ng, with and without the
# recorder at the same time. Its workers are forked: each has a trace.
#
# What stress-ng reports and the trace can check (stress-timer.c,
# stress-timerfd.c of stress-ng 0.15):
#   --timer    each worker creates one POSIX timer (SIGEV_SIGNAL) and arms
#              it; its signal handler counts a bogo op and re-arms the
#              timer (timer_settime) on every signal until the run ends,
#              when it disarms it; then timer_delete. So the arms of all
#              timer workers are the timer bogo ops plus one per worker
#              (less one where the handler counted its last op after the
#              run was over).
#   --timerfd  each worker creates --timerfd-fds timerfds (1024 by
#              default), arms each once, counts as bogo ops the
#              expirations it reads, and closes them all at the end.
#              Bogo ops are no timer operation: creates = arms = frees,
#              the same in both workers, at most 1024.
scenario_stress_ng() {
	command -v stress-ng >/dev/null || skip "stress-ng is not installed"
	set -- --timerfd 2 --timer 2 -t 5 --metrics-brief
	mkdir base
	(
		cd base && timeout $deadline stress-ng "$@" >../base.out 2>&1
		echo $? >../base.status
	) &
	base_pid=$!
	tmpl="$work/stress.%p.tlk"
	run stress stress-ng "$@"
	wait $base_pid
	expect "exit status (as without the recorder: $(cat base.status))" "$(cat base.status)" "$status"
	grep -q 'successful run completed' stress.out stress.err ||
		fail "stress-ng under the recorder did not report a successful run"
	bogo_timer=$(cat stress.out stress.err | awk '$4 == "timer" && $5 ~ /^[0-9]+$/ { print $5 }')
	bogo_timerfd=$(cat stress.out stress.err | awk '$4 == "timerfd" && $5 ~ /^[0-9]+$/ { print $5 }')
	expect_min "timer bogo ops reported" 1 "$bogo_timer"
	expect_min "timerfd bogo ops reported" 1 "$bogo_timerfd"
	timer_workers=0
	timerfd_workers=0
	timer_arms=0
	timerfd_creates=
	for t in "$work"/stress.*.tlk; do
		read_trace "$t"
		b=$(basename "$t")
		expect_clean "$t"
		role=$(awk '$2 == "process" { match($0, /argv\[0\]="[^"]*"/); print substr($0, RSTART + 9, RLENGTH - 10); exit }' "$t.events")
		case $role in
		stress-ng-timerfd*)
			timerfd_workers=$((timerfd_workers + 1))
			c=$(ev "$t" create timerfd)
			expect_range "$b ($role): timerfds created" 1 1024 "$c"
			expect_ev "$t" arm timerfd "$c"
			expect_ev "$t" free timerfd "$c"
			[ -z "$timerfd_creates" ] || expect "$b: timerfds created (as the other worker)" "$timerfd_creates" "$c"
			timerfd_creates=$c
			;;
		stress-ng-timer*)
			timer_workers=$((timer_workers + 1))
			expect_ev "$t" create posix 1
			expect_ev "$t" free posix 1
			arms=$(ev "$t" arm posix)
			timer_arms=$((timer_arms + arms))
			;;
		*)
			expect "$b ($role): timer events" 0 "$(ev_all "$t")"
			;;
		esac
	done
	expect "traces of timerfd workers" 2 "$timerfd_workers"
	expect "traces of timer workers" 2 "$timer_workers"
	if isnum "$bogo_timer"; then
		expect_range "POSIX timer arms (timer bogo ops $bogo_timer, + 1 per worker)" \
			"$bogo_timer" $((bogo_timer + 2)) "$timer_arms"
	fi
}

# ---------------------------------------------------------------------------
# Event times

# clock_check NAME: every create of NAME's trace (recorded at ns resolution)
# lies within the CLOCK_MONOTONIC reads around its call, give or take 2 us
# (the recorder's TSC clock is within about a microsecond).
clock_check() {
	one_trace "$1" || return
	expect_clean "$trace"
	cc_out=$(awk -v slack=2000 '
		FNR == NR { if (split($0, a, /[ =]/) == 4) { lo[++n] = a[2]; hi[n] = a[4] } next }
		$2 == "process" { for (i = 3; i <= NF; i++) if ($i ~ /^mono_ns=/) start = substr($i, 9) }
		$3 == "create" {
			split($1, s, ".")
			t = start + s[1] * 1000000000 + s[2]
			k++
			if (t < lo[k] - slack || t > hi[k] + slack) {
				bad++
				if (!shown++) printf "create %d at %.0f, outside %s..%s; ", k, t, lo[k], hi[k]
			}
		}
		END { printf "%d creates, %d calls, %d outside\n", k, n, bad + 0 }' \
		"$1.out" "$trace.events")
	expect "event times against CLOCK_MONOTONIC" "0 outside" "${cc_out##*calls, }"
	expect_min "creates recorded" 300 "$(echo "$cc_out" | awk '{ print $(NF-5) }')"
}

# With the TSC where the machine allows it (the default), and without.
scenario_clock_tsc() {
	export TIMERLEAK_TIME_SHIFT=0
	run clock "$TL_BIN/preload_clock" --ms 400
	expect "exit status" 0 "$status"
	clock_check clock
}

scenario_clock_monotonic() {
	export TIMERLEAK_TIME_SHIFT=0 TIMERLEAK_CLOCK=monotonic
	run clock "$TL_BIN/preload_clock" --ms 400
	expect "exit status" 0 "$status"
	clock_check clock
}

if ! command -v "scenario_$scenario" >/dev/null 2>&1; then
	echo "preload_robust.sh: unknown scenario $scenario" >&2
	exit 2
fi
"scenario_$scenario"
finish
