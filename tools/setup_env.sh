#!/usr/bin/env bash
# Create (or reuse) the project-local environment `.venv` with the MMPose 1.x
# stack on CPU, then check that it works.  Sourced by tools/run_tests.sh and
# tools/run_main_job.sh; can also be run on its own.
#
# Why it is not a plain `pip install -r`: see ../shared/ENVIRONMENT.md and the
# docs/installation.md.  mmcv has no wheel on PyPI (source build with
# ops, ~13 min on 2 cores, cached by pip afterwards), xtcocotools' wheel is
# built for numpy 1 (rebuilt from source against numpy 2), mmpose declares
# chumpy, which no longer builds (installed with --no-deps plus its real
# runtime dependencies), and openmim would downgrade setuptools and requests
# through openxlab (installed with --no-deps plus what `mim train/test` use).
#
# Environment variables:
#   OKSNET_VENV    where the environment lives (default: <repo>/.venv)
#   OKSNET_PYTHON  interpreter to create it with (default: python3.11)
#   MAX_JOBS       parallel compile jobs for the mmcv build (default: nproc)

set -o pipefail

OKSNET_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OKSNET_VENV="${OKSNET_VENV:-$OKSNET_ROOT/.venv}"
OKSNET_PYTHON="${OKSNET_PYTHON:-python3.11}"
_log_dir="$OKSNET_VENV/setup-logs"
_stamp="$OKSNET_VENV/.oksnet-env-stamp"

_say() { echo "[setup] $*"; }

# Run one named installation step, its output in a log file; on failure say
# which step failed and show the end of its log.
_step() {
    local name="$1"; shift
    local log="$_log_dir/$name.log"
    local start=$SECONDS
    _say "step '$name' ..."
    if ! "$@" >"$log" 2>&1; then
        echo "[setup] FAILED at step '$name' (full log: $log). Last lines:" >&2
        tail -n 15 "$log" | sed 's/^/    /' >&2
        return 1
    fi
    _say "step '$name' done ($((SECONDS - start)) s)"
}

_pip() { "$OKSNET_VENV/bin/python" -m pip --disable-pip-version-check "$@"; }

_env_hash() {
    cat "$OKSNET_ROOT/tools/setup_env.sh" "$OKSNET_ROOT"/requirements/*.txt \
        | sha256sum | cut -c1-16
}

_install_mmcv() {
    # Already-built wheels come from pip's cache in seconds.
    MMCV_WITH_OPS=1 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
        _pip install --no-build-isolation mmcv==2.1.0
}

_install_xtcocotools() {
    _pip install --no-build-isolation --no-binary xtcocotools xtcocotools==1.14.3
}

_install_openmmlab() {
    _pip install mmengine==0.10.7 mmdet==3.3.0 &&
    _pip install --no-deps mmpose==1.3.2 openmim==0.3.9 &&
    # mmpose's runtime dependencies without chumpy; openmim's without openxlab.
    _pip install json-tricks munkres matplotlib opencv-python pillow scipy \
        click colorama model-index pandas requests rich tabulate &&
    # What stock recipes need (requirements/recipes.txt): mmpretrain for
    # ViTPose, albumentations 1.3.1 for RTMPose / CSPNeXt (2.x breaks MMPose
    # 1.3.2's Albumentation). albumentations and qudida without their deps:
    # opencv-python-headless would replace opencv-python's cv2.
    _pip install --no-deps albumentations==1.3.1 qudida==0.0.4 &&
    _pip install -r "$OKSNET_ROOT/requirements/recipes.txt"
}

oksnet_setup_env() {
    local wanted; wanted="$(_env_hash)"
    if [ -x "$OKSNET_VENV/bin/python" ] && [ "$(cat "$_stamp" 2>/dev/null)" = "$wanted" ]; then
        _say "reusing environment $OKSNET_VENV"
    else
        if ! command -v "$OKSNET_PYTHON" >/dev/null 2>&1; then
            echo "[setup] FAILED: '$OKSNET_PYTHON' not found; install Python 3.11 or set OKSNET_PYTHON" >&2
            return 1
        fi
        _say "building environment $OKSNET_VENV (first run on a new machine: about 11 min on 2 cores, 9 of them the mmcv build)"
        mkdir -p "$OKSNET_VENV" || return 1
        [ -x "$OKSNET_VENV/bin/python" ] || "$OKSNET_PYTHON" -m venv "$OKSNET_VENV" || return 1
        mkdir -p "$_log_dir"
        rm -f "$_stamp"
        _step build-tools _pip install -r "$OKSNET_ROOT/requirements/build.txt" || return 1
        _step torch _pip install -r "$OKSNET_ROOT/requirements/torch.txt" || return 1
        _step mmcv _install_mmcv || return 1
        _step xtcocotools _install_xtcocotools || return 1
        _step openmmlab _install_openmmlab || return 1
        _step test-tools _pip install -r "$OKSNET_ROOT/requirements/tests.txt" || return 1
        _step oksnet-mmpose _pip install --no-deps --no-build-isolation -e "$OKSNET_ROOT" || return 1
    fi
    _say "checking the environment ..."
    PATH="$OKSNET_VENV/bin:$PATH" "$OKSNET_VENV/bin/python" "$OKSNET_ROOT/tools/check_env.py" || {
        echo "[setup] FAILED at step 'check' (the environment above is broken; delete $OKSNET_VENV to rebuild it)" >&2
        return 1
    }
    echo "$wanted" >"$_stamp"
    export PATH="$OKSNET_VENV/bin:$PATH"
}

# Run directly: build/check only.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    oksnet_setup_env
fi
