#!/bin/sh
# trace_cli.sh - CLI tests of `timerleak-report --events`: each case runs a
# command on a trace made by trace_gen (then cut, damaged or patched as the
# case needs) and compares what it printed, and its exit status, with
# tests/trace_cli/<case>.expected:
#
#   $ <command>
#   <standard output>
#   [stderr]
#   <standard error>
#   [exit N]
#
# Usage: trace_cli.sh CASE REPORT GEN EXPECTED_DIR WORK_DIR
# With UPDATE=1 in the environment, the expected file is (re)written instead.
set -eu

me=trace_cli.sh
. "${0%/*}/transcript.sh"

# put FILE OFFSET OCTAL: overwrite one byte.
put() {
	printf "\\$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

# nth_chunk FILE N: offset of the Nth chunk header (from 1).
nth_chunk() {
	grep -obUa TLCK "$1" | sed -n "${2}p" | cut -d: -f1
}

case $case_name in
events_small)
	"$gen" small small.tlk
	run "$report" --events small.tlk
	;;
events_shift10)
	"$gen" small small.tlk 10
	run "$report" --events small.tlk
	;;
events_pipe)
	# open() on a pipe: the reader streams, it never seeks.
	"$gen" small - | { run "$report" --events /dev/stdin; }
	;;
truncated)
	"$gen" small small.tlk
	size=$(wc -c <small.tlk)
	head -c $((size - 10)) small.tlk >cut.tlk
	run "$report" --events cut.tlk
	;;
damaged_chunk)
	"$gen" small small.tlk
	# A byte of the second chunk's compressed_size: its header check fails.
	put small.tlk $(($(nth_chunk small.tlk 2) + 5)) 377
	run "$report" --events small.tlk
	;;
damaged_payload)
	"$gen" small small.tlk
	# The last byte of the second chunk (zstd's checksum): the payload fails.
	put small.tlk $(($(nth_chunk small.tlk 3) - 1)) 000
	run "$report" --events small.tlk
	;;
not_a_trace)
	printf 'timer,id,kind\n1,2,ticker\n' >notes.csv
	run "$report" --events notes.csv
	;;
corrupt_header)
	"$gen" small small.tlk
	put small.tlk 1 164 # 'T' becomes 't'
	run "$report" --events small.tlk
	;;
events_v1_2)
	# A trace of format 1.2 (trace_gen small, as 1.2 wrote it; checked
	# in): it reads as the same records as events_small's.
	cp "$expected_dir/small-1.2.tlk" small.tlk
	run "$report" --events small.tlk
	;;
newer)
	"$gen" small small.tlk
	put small.tlk 8 003
	run "$report" --events small.tlk
	;;
empty)
	: >empty.tlk
	run "$report" --events empty.tlk
	;;
short)
	"$gen" small small.tlk
	head -c 10 small.tlk >short.tlk
	run "$report" --events short.tlk
	;;
header_only)
	"$gen" small small.tlk
	head -c 16 small.tlk >header.tlk
	run "$report" --events header.tlk
	;;
missing)
	run "$report" --events missing.tlk
	;;
directory)
	mkdir dir.tlk
	run "$report" --events dir.tlk
	;;
usage)
	run "$report"
	run "$report" --events
	run "$report" --bogus x.tlk
	run "$report" a.tlk
	run "$report" --events a.tlk b.tlk
	;;
help)
	run "$report" --help
	run "$report" --version
	# The project's version changes; the format's is what matters here.
	sed 's/^timerleak-report [0-9][0-9a-z.-]* (/timerleak-report VERSION (/' transcript >t &&
		mv t transcript
	;;
workload)
	# Not stable line by line (a simulation): counted instead.
	"$gen" workload w.tlk 20000 6
	"$report" --events w.tlk >out
	{
		echo "records by name:"
		awk '$1 != "summary" { n = ($2 ~ /^tid=/) ? $3 : $2; c[n]++ }
		     END { for (k in c) print k, c[k] }' out |
			sort
		tail -n 1 out | sed 's/ bytes=[0-9]*//'
	} >>transcript
	;;
*)
	echo "trace_cli.sh: unknown case $case_name" >&2
	exit 2
	;;
esac

finish
