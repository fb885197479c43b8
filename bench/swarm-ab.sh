#!/usr/bin/env bash
# Two or more grite-mcp builds compared on the swarm drain, alternated drain
# by drain so that a change in the machine (this one's disk is several times
# slower for minutes after mass file removals) moves every build alike:
#
#   bench/swarm-ab.sh ROUNDS OLD_REV NEW_REV ...   # e.g. 8 HEAD~1 HEAD
#
# Each build is a git revision of this repository, built once; each round
# drains a fresh repository per build: bench/populate writes ISSUES (100)
# issues, then bench/swarm runs SESSIONS (8) sessions of claim next + close,
# with packing off (PACK=1 leaves it on) so that no drain packs and removes
# files in the middle of another's. Prints, per build, the medians over the
# rounds of claim p50, p99 and max, close p50, drain wall time and the CPU
# time of the driver and its sessions, and the double claims in all.
# Nothing is removed until the end, for the same reason.
set -euo pipefail
export LC_ALL=C

[ $# -ge 3 ] || { echo "usage: bench/swarm-ab.sh ROUNDS REV REV..." >&2; exit 2; }
rounds=$1
shift
SESSIONS=${SESSIONS:-8} ISSUES=${ISSUES:-100} PACK=${PACK:-0}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup swarm-ab
(cd "$root" && go build -o "$work/swarm" ./bench/swarm)
builds=()
for rev in "$@"; do
	name=$(git -C "$root" rev-parse --short "$rev")
	git -C "$root" worktree add -q --detach "$work/src-$name" "$rev"
	(cd "$work/src-$name" && go build -o "$work/grite-mcp-$name" ./cmd/grite-mcp)
	git -C "$root" worktree remove --force "$work/src-$name"
	builds+=("$name")
done

for ((i = 1; i <= rounds; i++)); do
	for b in "${builds[@]}"; do
		d=$work/repo-$b-$i
		git init -q "$d"
		"$work/populate" -dir "$d" -n "$ISSUES" >/dev/null 2>&1
		/usr/bin/time -f "CPU %U %S" -a -o "$work/$b.out" env GRITE_AUTO_PACK="$PACK" \
			"$work/swarm" -mcp "$work/grite-mcp-$b" -dir "$d" -sessions "$SESSIONS" | grep '^RESULT' >>"$work/$b.out"
	done
	echo "round $i of $rounds done" >&2
done

for b in "${builds[@]}"; do
	python3 - "$work/$b.out" "$b" <<'PY'
import json, statistics as st, sys
rs, cpu = [], []
for line in open(sys.argv[1]):
    if line.startswith('RESULT '):
        rs.append(json.loads(line[7:]))
    elif line.startswith('CPU '):
        a = line.split()
        cpu.append(float(a[1]) + float(a[2]))
m = lambda k: st.median(r[k] for r in rs)
print("%-10s drains %d: claim p50 %.1f ms, p99 %.1f ms, max %.1f ms; close p50 %.1f ms; wall %.2f s; CPU %.2f s; double claims %d" % (
    sys.argv[2], len(rs), m('claim_p50_ms'), m('claim_p99_ms'), m('claim_max_ms'), m('close_p50_ms'), m('wall_s'), st.median(cpu),
    sum(r['double_claims'] for r in rs)))
PY
done
