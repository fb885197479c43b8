#!/usr/bin/env bash
# Size on disk, push time and create cost of N issues created one by one
# through the CLI, with grite's background packing on (as users run it).
#
#   bench/storage.sh            # N=500
#   N=5000 bench/storage.sh
#   N=10000 bench/storage.sh    # create cost: last 100 vs first 100
#
# Reported: .git size (du), loose objects and packs (git count-objects),
# the time of the first push of all issues to an empty bare remote
# (`grite sync --push`, whole process, median of RUNS pushes from copies),
# and the median create time of the first and the last 100 issues. When a
# git-bug binary is on PATH, the same N issues go through `git bug bug new`
# in another repository and its size and push time are printed beside.
# Targets (issue tracker): 500 issues <= 2 MB, 5,000 <= 15 MB, push of 500
# <= 0.5 s, last 100 of 10,000 creates within 1.2x of the first 100.
set -euo pipefail
export LC_ALL=C

N=${N:-500}
RUNS=${RUNS:-5}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup storagebench
export GRITE_AUTO_PACK=1

ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }'; }
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

git init -q -b main "$work/repo"
git -C "$work/repo" commit -q --allow-empty -m init
(cd "$work/repo" && "$grite" init --no-agents-md >/dev/null)
echo "creating $N issues through the CLI ..." >&2
: >"$work/creates"
for ((i = 1; i <= N; i++)); do
	t0=$EPOCHREALTIME
	(cd "$work/repo" && "$grite" issue create --title "issue $i" --body "body of issue $i" -q >/dev/null)
	t1=$EPOCHREALTIME
	ms "$t0" "$t1" >>"$work/creates"
done
# Let a packing still running in the background finish (bounded).
for ((i = 0; i < 600; i++)); do
	[ -e "$work/repo/.git/grite/packs.lock" ] || break
	sleep 0.1
done
head -100 "$work/creates" >"$work/first"
tail -100 "$work/creates" >"$work/last"

for ((r = 0; r < RUNS; r++)); do
	cp -a "$work/repo" "$work/push.$r"
	git init -q --bare "$work/remote.$r.git"
	git -C "$work/push.$r" remote add origin "$work/remote.$r.git"
done
: >"$work/push"
for ((r = 0; r < RUNS; r++)); do
	t0=$EPOCHREALTIME && (cd "$work/push.$r" && "$grite" sync --push >/dev/null) && t1=$EPOCHREALTIME
	ms "$t0" "$t1" >>"$work/push"
done
n=$(cd "$work/repo" && "$grite" issue list --json | jq '.data.total')
[ "$n" = "$N" ] || { echo "the repository holds $n issues, want $N" >&2; exit 1; }
git -C "$work/repo" fsck --strict --no-dangling 2>/dev/null

echo
echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg); N=$N, $RUNS pushes"
printf '%-34s %s\n' "grite .git size" "$(du -sk "$work/repo/.git" | cut -f1) KiB"
git -C "$work/repo" count-objects -v | awk '/^(count|packs|size-pack):/ { printf "  %-32s %s\n", $1, $2 }'
printf '%-34s %s ms\n' "grite push of $N issues (median)" "$(median "$work/push")"
printf '%-34s %s ms\n' "create, first 100 (median)" "$(median "$work/first")"
printf '%-34s %s ms\n' "create, last 100 (median)" "$(median "$work/last")"
awk -v a="$(median "$work/first")" -v b="$(median "$work/last")" 'BEGIN { printf "%-34s %.2fx\n", "last / first", b / a }'

if command -v git-bug >/dev/null; then
	git init -q -b main "$work/gb"
	git -C "$work/gb" commit -q --allow-empty -m init
	(cd "$work/gb" && git bug user new --name bench --email bench@localhost --non-interactive >/dev/null 2>&1 || true)
	for ((i = 1; i <= N; i++)); do
		(cd "$work/gb" && git bug bug new --title "issue $i" --message "body of issue $i" --non-interactive >/dev/null)
	done
	git init -q --bare "$work/gb-remote.git"
	git -C "$work/gb" remote add origin "$work/gb-remote.git"
	t0=$EPOCHREALTIME && (cd "$work/gb" && git bug push origin >/dev/null) && t1=$EPOCHREALTIME
	printf '%-34s %s KiB\n' "git-bug .git size" "$(du -sk "$work/gb/.git" | cut -f1)"
	printf '%-34s %s ms\n' "git-bug push of $N issues" "$(ms "$t0" "$t1")"
else
	echo "git-bug: not installed (put a git-bug binary on PATH to compare in the same run)"
fi
