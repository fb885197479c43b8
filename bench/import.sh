#!/usr/bin/env bash
# Bulk import: N beads issues with a comment each, loaded by
# `grite import beads` (whole process) into a fresh repository, RUNS times.
#
#   bench/import.sh              # N=5000, RUNS=5
#   N=20000 RUNS=3 bench/import.sh
#
# Reported: the median import time, the median time of importing the same
# file again (every issue skipped), and the size of .git after the last
# import, before and after `grite gc` (grite packs its loose objects in
# the background once enough accumulate; gc does it at once).
# Target (issue tracker): 5,000 issues with a comment each <= 5 s.
set -euo pipefail
export LC_ALL=C

N=${N:-5000}
RUNS=${RUNS:-5}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup importbench
export GRITE_AUTO_PACK=0 # the size is measured before and after gc

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'; }
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

file=$work/issues.jsonl
awk -v n="$N" 'BEGIN {
	for (i = 1; i <= n; i++)
		printf "{\"id\":\"bench-%d\",\"title\":\"Issue %d\",\"description\":\"Body of issue %d\",\"status\":\"open\",\"priority\":%d,\"issue_type\":\"task\",\"created_at\":\"2026-01-02T03:04:05Z\",\"updated_at\":\"2026-01-02T03:04:05Z\",\"labels\":[\"bench\"],\"comments\":[{\"author\":\"Ann\",\"text\":\"Comment on %d\",\"created_at\":\"2026-01-02T03:04:06Z\"}]}\n", i, i, i, i % 5, i
}' >"$file"

: >"$work/first"
: >"$work/again"
for ((r = 1; r <= RUNS; r++)); do
	repo=$work/repo$r
	git init -q -b main "$repo"
	(cd "$repo" && "$grite" init --no-agents-md >/dev/null)
	t0=$EPOCHREALTIME
	(cd "$repo" && "$grite" import beads "$file" -q)
	t1=$EPOCHREALTIME
	(cd "$repo" && "$grite" import beads "$file" -q)
	t2=$EPOCHREALTIME
	ms "$t0" "$t1" >>"$work/first"
	ms "$t1" "$t2" >>"$work/again"
	[[ $r -lt $RUNS ]] && rm -rf "$repo"
done
echo "import of $N issues with a comment each: median $(median "$work/first") ms over $RUNS runs"
echo "the same import again (all skipped): median $(median "$work/again") ms"
echo ".git after the import: $(du -sk "$repo/.git" | cut -f1) KiB, objects $(du -sk "$repo/.git/objects" | cut -f1) KiB, view $(du -ck "$repo"/.git/grite/actors/*/view.db* | tail -1 | cut -f1) KiB"
(cd "$repo" && "$grite" gc -q)
echo ".git after grite gc: $(du -sk "$repo/.git" | cut -f1) KiB, objects $(du -sk "$repo/.git/objects" | cut -f1) KiB"
