#!/usr/bin/env bash
# README command 1: build (or reuse) the project environment, then run the
# main job on synthetic data (generate -> mim train -> mim test -> report).
# Arguments go to tools/synthetic_benchmark.py (e.g. --quick, --seed 1).
set -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 1
source tools/setup_env.sh
oksnet_setup_env || exit 1
python tools/synthetic_benchmark.py "$@"
