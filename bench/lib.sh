# Shared set-up of the bench scripts (sourced): a scratch directory removed
# on exit, a fixed identity and no user or system git config (as the tests
# use), and grite plus bench/populate built into the scratch directory.
# Sets root, work and grite.
bench_setup() { # name
	root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
	work=$(mktemp -d "${TMPDIR:-/tmp}/grite-$1-XXXXXX")
	trap 'rm -rf "$work"' EXIT
	export GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null
	export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@localhost GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@localhost
	unset GRITE_HOME GIT_DIR GIT_WORK_TREE
	echo "building into $work ..." >&2
	(cd "$root" && go build -o "$work/grite" ./cmd/grite && go build -o "$work/populate" ./bench/populate)
	grite=$work/grite
}
