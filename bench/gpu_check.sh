#!/usr/bin/env bash
# Every GPU check in one command, for a GPU machine that has torch, numpy and safetensors (no
# Streamlit, no plotly, nothing to install): the CUDA tests, the engine against the plain loop,
# and 4 jobs together against one alone. Writes each step's output to OUTPUT_DIR and prints a
# summary. About 2-4 minutes on an H100/H200 (each step has a time limit; 6 minutes at most).
#
#   bash bench/gpu_check.sh OUTPUT_DIR            on a GPU machine
#   bash bench/gpu_check.sh --dry-run OUTPUT_DIR  the same steps on the CPU, tiny (CI runs this)
#
# PYTHON picks the interpreter (default: .venv/bin/python if there, else python3). The project
# is used from this checkout (PYTHONPATH), not installed. Exit status: 0 when every step passed.
set -uo pipefail

usage() { echo "usage: bash bench/gpu_check.sh [--dry-run] OUTPUT_DIR" >&2; exit 2; }
DRY_RUN=0
OUT=""
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    -h|--help) usage ;;
    -*) usage ;;
    *) [ -z "$OUT" ] || usage; OUT="$arg" ;;
  esac
done
[ -n "$OUT" ] || usage

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
cd "$ROOT"
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
export PLAYGROUND_RUNS="$OUT/runs"
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
FAILED=0

say() { echo "$*" | tee -a "$SUMMARY"; }

# step NAME LIMIT_S FILE COMMAND...: run it with a time limit, its output to FILE and the screen.
step() {
  local name="$1" limit="$2" label="$3" file="$OUT/$3"; shift 3
  echo "== $name: $*" | tee "$file"
  local started=$SECONDS
  timeout "$limit" "$@" 2>&1 | tee -a "$file"
  local status=${PIPESTATUS[0]}
  local took=$((SECONDS - started))
  if [ "$status" -eq 0 ]; then
    say "$name: ok (${took} s, $label)"
  else
    if [ "$status" -eq 124 ]; then
      say "$name: FAILED: over its ${limit} s limit ($label)"
    else
      say "$name: FAILED with status $status (${took} s, $label)"
    fi
    FAILED=1
  fi
}

"$PYTHON" - > "$OUT/machine.txt" 2>&1 <<'PY'
import os, platform, torch
print(f"python {platform.python_version()}, torch {torch.__version__}, {os.cpu_count()} CPU cores")
if torch.cuda.is_available():
    print(f"GPU: {torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}, CUDA {torch.version.cuda}")
else:
    print("GPU: none (torch.cuda.is_available() is False)")
PY
say "gpu_check: $( [ "$DRY_RUN" -eq 1 ] && echo "DRY RUN on the CPU, tiny sizes" || echo "full run" ), results in $OUT"
while read -r line; do say "machine: $line"; done < "$OUT/machine.txt"
if [ "$DRY_RUN" -eq 0 ] && ! "$PYTHON" -c "import torch, sys; sys.exit(not torch.cuda.is_available())"; then
  say "gpu_check: this machine has no CUDA GPU; run with --dry-run to check the steps on the CPU"
  exit 1
fi

# 1. The CUDA tests (they skip without CUDA, as in a dry run).
if "$PYTHON" -c "import pytest" 2>/dev/null; then
  step "cuda tests" 120 cuda_tests.txt \
    "$PYTHON" -m pytest -m cuda tests/gpu -q -p no:cacheprovider -o addopts="-ra --strict-markers"
else
  say "cuda tests: skipped: pytest is not installed on this machine (the benches still run)"
fi

# 2. The engine against the plain PyTorch loop, batch 128.
if [ "$DRY_RUN" -eq 1 ]; then
  step "engine vs plain loop" 120 bench_train.txt \
    "$PYTHON" bench/bench_train.py --device cpu --iterations 2 --rounds 1 --threads 1
else
  step "engine vs plain loop" 75 bench_train.txt \
    "$PYTHON" bench/bench_train.py --device cuda --iterations 200 --rounds 3
fi

# 3. 4 jobs together against one alone, on worker processes (the default) and on threads.
for executor in local threads; do
  if [ "$DRY_RUN" -eq 1 ]; then
    step "4 jobs vs 1 ($executor)" 150 "bench_jobs_$executor.txt" \
      "$PYTHON" bench/bench_jobs.py --part gpu --jobs 4 --executor "$executor" --dry-run
  else
    step "4 jobs vs 1 ($executor)" 75 "bench_jobs_$executor.txt" \
      "$PYTHON" bench/bench_jobs.py --part gpu --jobs 4 --epochs 2 --executor "$executor"
  fi
done

say "---"
grep -h -E "passed|skipped|failed|error" "$OUT/cuda_tests.txt" 2>/dev/null | tail -1 | sed 's/^/cuda tests: /' | tee -a "$SUMMARY"
grep -h "^median:" "$OUT/bench_train.txt" 2>/dev/null | sed 's/^/engine: /' | tee -a "$SUMMARY"
grep -h -E "^gpu: executor" "$OUT"/bench_jobs_*.txt 2>/dev/null | tee -a "$SUMMARY"
say "gpu_check: $( [ "$FAILED" -eq 0 ] && echo "every step passed" || echo "SOME STEPS FAILED" )"
exit "$FAILED"
