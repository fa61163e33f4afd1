# transcript.sh - what the CLI test scripts (trace_cli.sh, analyzer_cli.sh)
# share, sourced by them after they set `me` to their own name:
#
#   the arguments CASE REPORT GEN EXPECTED_DIR WORK_DIR, as case_name,
#   report, gen and expected_dir, and WORK_DIR/CASE emptied and entered;
#   run CMD...     record the command, its output (unless quiet=1) and its
#                  exit status in ./transcript (REPORT is shown by name);
#   finish         compare ./transcript with EXPECTED_DIR/CASE.expected
#                  (exit 1 and a diff when they differ), or with UPDATE=1
#                  in the environment, rewrite the expected file.

case_name=$1
report=$2
gen=$3
expected_dir=$4
work=$5/$case_name

rm -rf "$work"
mkdir -p "$work"
cd "$work"

run() {
	status=0
	"$@" >out 2>err || status=$?
	{
		printf '$'
		for a in "$@"; do
			case $a in
			"$report") printf ' timerleak-report' ;;
			*) printf ' %s' "$a" ;;
			esac
		done
		printf '\n'
		[ "${quiet:-0}" = 1 ] || cat out
		if [ -s err ]; then
			echo '[stderr]'
			cat err
		fi
		echo "[exit $status]"
	} >>transcript
}

finish() {
	if [ "${UPDATE:-0}" = 1 ]; then
		cp transcript "$expected_dir/$case_name.expected"
		echo "updated $expected_dir/$case_name.expected"
		exit 0
	fi
	if ! diff -u "$expected_dir/$case_name.expected" transcript; then
		echo "$me: $case_name: output differs from $expected_dir/$case_name.expected" >&2
		exit 1
	fi
	echo "ok   $case_name"
}
