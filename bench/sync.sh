#!/usr/bin/env bash
# Whole-process timings of `grite sync` through a bare remote on the local
# file system, as the pulling clone sees them.
#
#   bench/sync.sh            # RUNS=20 by default
#
# Scenario: clone A writes 1,000 events (1,000 one-event WAL commits, as
# 1,000 `issue create` calls would) and pushes them; each timed run of the
# pulling side starts from its own copy of clone B as it was before, so
# every run pulls, validates and applies the same 1,000 events. The no-op
# case runs `grite sync` in a clone already up to date. The floor
# (`grite version`) is measured in the same run. The same pull is also
# timed through git's own transport (the copy's remote given an explicit
# remote.origin.uploadpack, which makes grite run git fetch): the measure
# of what reading a local remote's objects directly saves.
# Targets (issue tracker): pull of 1,000 events <= 150 ms, no-op <= 60 ms.
set -euo pipefail
export LC_ALL=C

RUNS=${RUNS:-20}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup syncbench

git init -q --bare -b main "$work/remote.git"
git init -q -b main "$work/seed"
git -C "$work/seed" commit -q --allow-empty -m init
git -C "$work/seed" remote add origin "$work/remote.git"
git -C "$work/seed" push -q origin main
(cd "$work/seed" && "$grite" issue create --title "first" >/dev/null && "$grite" sync >/dev/null)
git clone -q "$work/remote.git" "$work/a"
git clone -q "$work/remote.git" "$work/b"
(cd "$work/a" && "$grite" sync --pull >/dev/null)
(cd "$work/b" && "$grite" sync --pull >/dev/null && "$grite" issue list >/dev/null)
echo "clone A writes 1,000 events and pushes ..." >&2
"$work/populate" -dir "$work/a" -n 1000 >/dev/null
(cd "$work/a" && "$grite" sync --push >/dev/null)
for ((r = 0; r < RUNS; r++)); do
	cp -a "$work/b" "$work/b.pull.$r"
	cp -a "$work/b" "$work/b.full.$r"
	cp -a "$work/b" "$work/b.git.$r"
	git -C "$work/b.git.$r" config remote.origin.uploadpack git-upload-pack
done

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'; }
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
: >"$work/floor" && : >"$work/pull" && : >"$work/full" && : >"$work/noop" && : >"$work/git"
for ((r = 0; r < RUNS; r++)); do
	t0=$EPOCHREALTIME && (cd "$work/b" && "$grite" version >/dev/null) && t1=$EPOCHREALTIME
	ms "$t0" "$t1" >>"$work/floor"
	t0=$EPOCHREALTIME && (cd "$work/b.pull.$r" && "$grite" sync --pull >/dev/null) && t1=$EPOCHREALTIME
	ms "$t0" "$t1" >>"$work/pull"
	t0=$EPOCHREALTIME && (cd "$work/b.git.$r" && "$grite" sync --pull >/dev/null) && t1=$EPOCHREALTIME
	ms "$t0" "$t1" >>"$work/git"
	t0=$EPOCHREALTIME && (cd "$work/b.full.$r" && "$grite" sync >/dev/null) && t1=$EPOCHREALTIME
	ms "$t0" "$t1" >>"$work/full"
	t0=$EPOCHREALTIME && (cd "$work/a" && "$grite" sync >/dev/null) && t1=$EPOCHREALTIME
	ms "$t0" "$t1" >>"$work/noop"
done
# Every pulling copy must hold all 1,001 issues afterwards.
for ((r = 0; r < RUNS; r++)); do
	for c in full git; do
		n=$(cd "$work/b.$c.$r" && "$grite" issue list --json | jq '.data.total')
		[ "$n" = 1001 ] || { echo "copy $c.$r has $n issues after sync, want 1001" >&2; exit 1; }
	done
done

echo
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs, file remote"
floor=$(median "$work/floor")
printf "%-34s %9s  %s\n" "command" "median ms" "target"
printf "%-34s %9.2f\n" "grite version (floor)" "$floor"
p=$(median "$work/pull") f=$(median "$work/full") n=$(median "$work/noop")
verdict() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t) ? "met" : "MISSED" }'; }
printf "%-34s %9.2f  <= 150 ms: %s\n" "sync --pull, 1,000 new events" "$p" "$(verdict "$p" 150)"
printf "%-34s %9.2f\n" "  the same pull through git fetch" "$(median "$work/git")"
printf "%-34s %9.2f  <= 150 ms: %s\n" "sync (full), 1,000 new events" "$f" "$(verdict "$f" 150)"
printf "%-34s %9.2f  <= 60 ms: %s\n" "sync (full), nothing new" "$n" "$(verdict "$n" 60)"
