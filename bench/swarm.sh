#!/usr/bin/env bash
# A swarm of agents sharing one tracker, on this machine (targets with the
# defaults, from the swarm-contention issue):
#
#   bench/swarm.sh [sync|claim|all]     # default all
#
# sync:  CLONES clones (8) each run LOOPS (20) x (issue create, sync) at
#        once against one bare remote (a path). Reports failed syncs, push
#        attempts and retries, wall time; then every clone syncs until it
#        succeeds (at most 5 rounds) and must list the same issues, all
#        CLONES x LOOPS of them, with no event twice in any clone's WAL.
#        Targets: 0 failed syncs, 0 lost, 0 duplicated events.
# claim: SESSIONS grite-mcp sessions (8), one actor each, drain ISSUES (100)
#        ready issues at once with issue_claim {next} + issue_update
#        {closed} (bench/swarm). Reports claim p50/p99/max, double claims.
#        Targets: 0 double claims; claim p50 <= 15 ms, p99 <= 250 ms,
#        max <= 1 s. RUNS (3) drains, each on a fresh repository.
#
# It exits non-zero for a functional failure (lost or duplicated issues or
# events, a double claim, issues left open), not for a missed timing target
# or a failed sync (those are what it reports).
set -euo pipefail
export LC_ALL=C

part=${1:-all}
CLONES=${CLONES:-8} LOOPS=${LOOPS:-20} SESSIONS=${SESSIONS:-8} ISSUES=${ISSUES:-100} RUNS=${RUNS:-3}
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
bench_setup swarm
(cd "$root" && go build -o "$work/grite-mcp" ./cmd/grite-mcp && go build -o "$work/swarm" ./bench/swarm)
fail=0

sync_part() {
	local w=$work/sync
	mkdir -p "$w"
	git init -q --bare "$w/remote.git"
	for ((i = 1; i <= CLONES; i++)); do
		git init -q "$w/c$i"
		git -C "$w/c$i" remote add origin "$w/remote.git"
		(cd "$w/c$i" && "$grite" init >/dev/null)
	done
	echo "sync: $CLONES clones x $LOOPS (create, sync), in parallel ..." >&2
	local t0=$EPOCHREALTIME
	for ((i = 1; i <= CLONES; i++)); do
		(
			cd "$w/c$i"
			for ((j = 1; j <= LOOPS; j++)); do
				"$grite" issue create --title "clone $i issue $j" >/dev/null
				"$grite" sync --json >>"$w/out$i.json" 2>/dev/null || echo fail >>"$w/fails$i"
			done
		) &
	done
	wait
	local t1=$EPOCHREALTIME
	local fails attempts retries maxatt
	fails=$(cat "$w"/fails* 2>/dev/null | wc -l || true) # no file at all when no sync failed
	attempts=$(cat "$w"/out*.json | jq -s '[.[] | .data.attempts // 0] | add // 0')
	maxatt=$(cat "$w"/out*.json | jq -s '[.[] | .data.attempts // 0] | max // 0')
	retries=$(cat "$w"/out*.json | jq -s '[.[] | .data.retries // 0] | add // 0')
	# Convergence: sync every clone until all succeed, at most 5 rounds.
	local round ok
	for ((round = 1; round <= 5; round++)); do
		ok=1
		for ((i = 1; i <= CLONES; i++)); do
			(cd "$w/c$i" && "$grite" sync >/dev/null 2>&1) || ok=0
		done
		[ $ok = 1 ] && break
	done
	local want=$((CLONES * LOOPS)) lost=0 dups=0 first=""
	for ((i = 1; i <= CLONES; i++)); do
		local ids n counts
		ids=$(cd "$w/c$i" && "$grite" issue list --json | jq -r '.data.issues[].issue_id' | sort)
		n=$(printf '%s\n' "$ids" | grep -c . || true)
		[ "$n" = "$want" ] || { echo "clone $i lists $n issues, want $want" >&2; lost=$((lost + want - n)); }
		[ -z "$first" ] && first=$ids
		[ "$ids" = "$first" ] || { echo "clone $i lists other issues than clone 1" >&2; lost=$((lost + 1)); }
		read -r all distinct < <("$work/swarm" -count-wal -dir "$w/c$i")
		dups=$((dups + all - distinct))
	done
	echo
	echo "sync: $CLONES clones x $LOOPS loops: $fails of $((CLONES * LOOPS)) syncs failed; $attempts push attempts ($retries retries, at most $maxatt in one sync); wall $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
	echo "      converged after $round round(s) of syncs: $lost lost, $dups duplicated events   (targets: 0 failed, 0 lost, 0 duplicated)"
	if [ "$fails" -gt 0 ]; then
		echo "      failed syncs' messages:"
		cat "$w"/out*.json | jq -r 'select(.ok == false) | .error.message' | sed -E 's/[0-9a-f]{40}/<hash>/g; s/[0-9]+ attempts over [0-9.]+s/N attempts/' | sort | uniq -c | sed 's/^/       /'
	fi
	echo "RESULT sync {\"clones\":$CLONES,\"loops\":$LOOPS,\"failed\":$fails,\"attempts\":$attempts,\"retries\":$retries,\"lost\":$lost,\"duplicated\":$dups}"
	[ "$lost" = 0 ] && [ "$dups" = 0 ] || fail=1
}

claim_part() {
	local r
	echo "claim: $SESSIONS grite-mcp sessions drain $ISSUES issues, $RUNS runs ..." >&2
	for ((r = 1; r <= RUNS; r++)); do
		local d=$work/claim$r
		git init -q "$d"
		"$work/populate" -dir "$d" -n "$ISSUES" >/dev/null
		"$work/swarm" -mcp "$work/grite-mcp" -dir "$d" -sessions "$SESSIONS" | tee "$work/claim$r.out" | grep -v '^RESULT' || fail=1
		local open
		# No background packing from this check: it would pack this run's
		# repository (removing its loose files) in the middle of the next run.
		open=$(cd "$d" && GRITE_AUTO_PACK=0 "$grite" issue list --state open --json | jq '.data.total')
		[ "$open" = 0 ] || { echo "claim run $r left $open issues open" >&2; fail=1; }
	done
	echo
	echo "claim: medians of $RUNS runs (targets: 0 double claims; p50 <= 15 ms, p99 <= 250 ms, max <= 1 s):"
	grep -h '^RESULT' "$work"/claim*.out | sed 's/^RESULT //' | jq -s -r '
		def med: sort | if length % 2 == 1 then .[length / 2 | floor] else (.[length / 2 - 1] + .[length / 2]) / 2 end;
		"       claim p50 \(map(.claim_p50_ms) | med) ms, p99 \(map(.claim_p99_ms) | med) ms, max \(map(.claim_max_ms) | med) ms (worst run \(map(.claim_max_ms) | max) ms); close p50 \(map(.close_p50_ms) | med) ms; double claims \(map(.double_claims) | add)"'
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$work/swarm" -probe-disk -dir "$work"
case $part in
sync) sync_part ;;
claim) claim_part ;;
all) claim_part && sync_part ;; # the claim drains first: the sync part's churn of files slows some disks for minutes
*) echo "usage: bench/swarm.sh [sync|claim|all]" >&2; exit 2 ;;
esac
exit $fail
