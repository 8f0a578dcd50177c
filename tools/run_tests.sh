#!/usr/bin/env bash
# README command 2: build (or reuse) the project environment, then run the
# whole test suite.  Extra arguments go to pytest (e.g. -k metric).
set -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
source tools/setup_env.sh
oksnet_setup_env || exit 1

echo "[tests] step 'pytest' ..."
quiet=()
[ "${CI:-}" = "true" ] && quiet=(-q -p no:cacheprovider)
python -m pytest tests "${quiet[@]}" -W ignore::DeprecationWarning "$@"
status=$?
[ $status -eq 0 ] || echo "[tests] FAILED at step 'pytest' (exit status $status)" >&2
exit $status
