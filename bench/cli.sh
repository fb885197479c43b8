#!/usr/bin/env bash
# Whole-process timings of the grite CLI, as a user or an agent sees them.
#
#   bench/cli.sh            # RUNS=30 by default; RUNS=50 bench/cli.sh for more
#   ORDER=blocks bench/cli.sh
#   ORDER=round-robin bench/cli.sh
#
# Process start dominates on small machines, so every number is also shown
# as overhead above the floor (`grite version`, the same binary doing
# nothing), built and measured in the same run. Times with bash's
# EPOCHREALTIME (no fork for the clock, nothing forked between runs).
#
# The order decides what "the same run" means when load from elsewhere
# comes and goes, which on a shared virtual machine it does within
# seconds:
#   paired (default): each command's runs alternate with runs of the floor
#     (floor, command, floor, command ...), and its overhead is its median
#     minus the median of the floor runs interleaved with it. The empty Go
#     binary is paired with the floor the same way for their ratio.
#   blocks: each command's warm-up and runs back to back, as hyperfine
#     does (hyperfine is used for it when installed); one floor block.
#   round-robin: every command once per round, so a burst of load hits all
#     alike, but each small command also pays for the caches the big one
#     before it evicted (a show after a 10k-issue JSON listing).
# With perf available it adds each command's mean CPU time (task-clock),
# steadier than wall time on a shared machine. The repositories are filled
# in process by bench/populate, so the CLI finds its view current, and
# synced to disk before timing so that write-back of the fill does not
# land in the timed runs.
# Targets (issue tracker):
#   create ≤ floor + 3 ms, show ≤ floor + 2 ms, list 10k ≤ floor + 25 ms,
#   ready over 10k issues and 10k edges ≤ floor + 15 ms,
#   floor ≤ 2.2 × an empty Go binary.
set -euo pipefail
export LC_ALL=C # EPOCHREALTIME and awk agree on the decimal point

RUNS=${RUNS:-30}
WARMUP=${WARMUP:-3}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup bench
mkdir "$work/empty"
printf 'package main\n\nfunc main() {}\n' >"$work/empty/main.go"
(cd "$work/empty" && GO111MODULE=off go build -o "$work/empty-bin" main.go)

mkrepo() { # dir issues comments-on-first [dependency-edges] -> prints the first issue's ID
	git init -q -b main "$1"
	git -C "$1" commit -q --allow-empty -m init
	"$work/populate" -dir "$1" -n "$2" -comments "$3" -deps "${4:-0}"
}
echo "populating 1k and 10k issue repositories (in process, via tools/; the 10k one has 10k dependency edges) ..." >&2
id1k=$(mkrepo "$work/r1k" 1000 20)
mkrepo "$work/r10k" 10000 0 10000 >/dev/null
sync

have_hyperfine=0
command -v hyperfine >/dev/null 2>&1 && have_hyperfine=1
# perf stat's task-clock (CPU time of the process) moves much less than wall
# time when other work shares the machine; shown when perf is usable.
have_perf=0
perf stat -x, -e task-clock true >/dev/null 2>&1 && have_perf=1

# The commands, by index (run_cmd and argv_of must agree).
names=(
	"empty-go-binary" "grite version" "issue list (1k)" "issue list (10k)" "issue list --json (10k)"
	"issue show" "issue create" "issue comment" "issue ready (10k, 10k deps)"
)
run_cmd() { # index: runs command i in its directory, output discarded
	case $1 in
	0) cd "$work" && "$work/empty-bin" ;;
	1) cd "$work/r1k" && "$grite" version ;;
	2) cd "$work/r1k" && "$grite" issue list ;;
	3) cd "$work/r10k" && "$grite" issue list ;;
	4) cd "$work/r10k" && "$grite" issue list --json ;;
	5) cd "$work/r1k" && "$grite" issue show "${id1k:0:8}" ;;
	6) cd "$work/r1k" && "$grite" issue create --title "bench issue" --body "created by bench/cli.sh" --label bug ;;
	7) cd "$work/r1k" && "$grite" issue comment "${id1k:0:8}" --body "bench comment" ;;
	8) cd "$work/r10k" && "$grite" issue ready ;;
	esac >/dev/null 2>&1
}
argv_of() { # index: the same command for hyperfine/perf, as "dir|argv"
	case $1 in
	0) echo "$work|$work/empty-bin" ;;
	1) echo "$work/r1k|$grite version" ;;
	2) echo "$work/r1k|$grite issue list" ;;
	3) echo "$work/r10k|$grite issue list" ;;
	4) echo "$work/r10k|$grite issue list --json" ;;
	5) echo "$work/r1k|$grite issue show ${id1k:0:8}" ;;
	6) echo "$work/r1k|$grite issue create --title bench --label bug" ;;
	7) echo "$work/r1k|$grite issue comment ${id1k:0:8} --body bench" ;;
	8) echo "$work/r10k|$grite issue ready" ;;
	esac
}

ORDER=${ORDER:-paired}
echo "timing $RUNS runs each (warm-up $WARMUP, order $ORDER) ..." >&2
for i in "${!names[@]}"; do
	: >"$work/samples.$i"
	: >"$work/floor.$i"
	for ((w = 0; w < WARMUP; w++)); do run_cmd "$i" || { echo "${names[$i]} failed" >&2; exit 1; }; done
done
# Samples are kept as start:end clock pairs and turned into milliseconds
# after all runs, so nothing else runs between two timed commands.
stamps=()
time_one() { # index [file]: runs command i once, recording its clock pair
	local t0 t1
	t0=$EPOCHREALTIME
	run_cmd "$1" || { echo "${names[$1]} failed" >&2; exit 1; }
	t1=$EPOCHREALTIME
	stamps+=("${2:-$work/samples.$1}|$t0:$t1")
}
if [ "$ORDER" = blocks ] && [ "$have_hyperfine" = 1 ]; then
	for i in "${!names[@]}"; do
		IFS='|' read -r dir argv <<<"$(argv_of "$i")"
		(cd "$dir" && hyperfine -N -w "$WARMUP" -r "$RUNS" --export-json "$work/h.json" -- "$argv" >/dev/null 2>&1)
		python3 -c 'import json,sys; [print(t*1000) for t in json.load(open(sys.argv[1]))["results"][0]["times"]]' "$work/h.json" >"$work/samples.$i"
	done
else
	case $ORDER in
	paired)
		# The floor (1) pairs with the empty binary (0), every other
		# command with the floor; floor.i holds the floor runs of pair i.
		for i in "${!names[@]}"; do
			[ "$i" = 1 ] && continue
			for ((w = 0; w < WARMUP; w++)); do run_cmd 1; run_cmd "$i"; done
			for ((r = 0; r < RUNS; r++)); do
				time_one 1 "$work/floor.$i"
				time_one "$i"
			done
		done
		;;
	round-robin)
		for ((r = 0; r < RUNS; r++)); do
			for i in "${!names[@]}"; do time_one "$i"; done
		done
		;;
	blocks)
		for i in "${!names[@]}"; do
			for ((w = 0; w < WARMUP; w++)); do run_cmd "$i"; done
			for ((r = 0; r < RUNS; r++)); do time_one "$i"; done
		done
		;;
	*)
		echo "ORDER must be paired, blocks or round-robin" >&2
		exit 2
		;;
	esac
	for st in "${stamps[@]}"; do
		IFS='|' read -r file pair <<<"$st"
		echo "$pair" >>"$file"
	done
	for f in "$work"/samples.* "$work"/floor.*; do
		awk -F: '{ printf "%.3f\n", ($2 - $1) * 1000 }' "$f" >"$f.ms" && mv "$f.ms" "$f"
	done
	if [ "$ORDER" = paired ]; then
		cat "$work"/floor.* >"$work/samples.1" # the floor's own line: all its runs
	fi
fi
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { printf "%.3f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: >"$work/results"
for i in "${!names[@]}"; do
	cpu=-1
	if [ "$have_perf" = 1 ]; then
		IFS='|' read -r dir argv <<<"$(argv_of "$i")"
		# shellcheck disable=SC2086 # argv is split on purpose
		cpu=$(cd "$dir" && perf stat -x, -e task-clock -r "$RUNS" $argv 2>&1 >/dev/null | awk -F, '$3 == "task-clock" { print $1 }')
	fi
	# The floor this command is measured against: the runs paired with it,
	# or (other orders) none here, and the floor's own median is used.
	pf=-1
	if [ -s "$work/floor.$i" ]; then pf=$(median "$work/floor.$i"); fi
	printf '%s|%s|%s|%s|%s\n' "${names[$i]}" "$(median "$work/samples.$i")" "$(sort -n "$work/samples.$i" | head -1)" "${cpu:--1}" "$pf" >>"$work/results"
done

echo
timer="bash EPOCHREALTIME loop"
[ "$ORDER" = blocks ] && [ "$have_hyperfine" = 1 ] && timer=hyperfine
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs; $timer, order $ORDER"
[ "$ORDER" = paired ] && echo "each overhead is above the floor runs interleaved with that command (column 'floor')"
awk -F'|' '
	function target(n) {
		if (n == "issue create") return 3
		if (n == "issue show") return 2
		if (n == "issue list (10k)") return 25
		if (n == "issue ready (10k, 10k deps)") return 15
		return -1
	}
	{ names[NR] = $1; med[NR] = $2; mn[NR] = $3; cpu[NR] = $4; pf[NR] = $5 }
	$1 == "empty-go-binary" { empty = $2; emptycpu = $4; emptyfloor = $5 }
	$1 == "grite version" { floor = $2; floorcpu = $4 }
	END {
		printf "%-26s %9s %8s %8s %9s %9s  %s\n", "command", "median ms", "min ms", "floor", "- floor", "cpu ms", "target (median - floor)"
		for (i = 1; i <= NR; i++) {
			f = (pf[i] > 0) ? pf[i] : floor
			over = (i > 2) ? sprintf("%+.2f", med[i] - f) : "-"
			fl = (i > 2) ? sprintf("%.2f", f) : "-"
			c = (cpu[i] >= 0) ? sprintf("%.2f", cpu[i]) : "n/a"
			t = target(names[i]); tt = ""
			if (t > 0) tt = sprintf("<= +%d ms: %s", t, (med[i] - f <= t) ? "met" : "MISSED")
			printf "%-26s %9.2f %8.2f %8s %9s %9s  %s\n", names[i], med[i], mn[i], fl, over, c, tt
		}
		if (emptyfloor > 0) floor = emptyfloor # the floor runs paired with the empty binary
		printf "\nfloor / empty Go binary = %.2f / %.2f ms = %.2fx (target <= 2.2x: %s)\n", floor, empty, floor / empty, (floor / empty <= 2.2) ? "met" : "MISSED"
		if (floorcpu > 0) printf "cpu: floor %.2f ms, empty %.2f ms (%.2fx)\n", floorcpu, emptycpu, floorcpu / emptycpu
	}' "$work/results"
