#!/usr/bin/env bash
# The checks that need a GPU, as one script of about 10 minutes on one recent GPU:
#   1. the CUDA tests (tests/hsr/test_hsr_cuda.py, tests/msr/test_msr_solver.py::test_cuda_matches_cpu;
#      they are skipped on a machine without CUDA, so CI never runs them);
#   2. benchmarks/bench_hsr.py --device cuda: stage-2 iterations/s and peak memory for both profiles,
#      inference time against the HSI size;
#   3. FRESCO and IAT on the default Indian Pines pair on the GPU, stage 2 for ITERATIONS iterations with
#      the H-SRI scored every EVAL_EVERY iterations (reporting only), gathered into one curve table, in
#      two setups: "paper" (profile=paper: reference widths and options, random initialisation) and
#      "wide_cpu" (the cpu profile's options, warm start and consistency steps, at the reference widths).
# Each step has its own time limit and a failed step does not stop the next one.
#
# Usage: bash experiments/gpu_session.sh [extra hydra overrides for step 3, e.g. hsr.back_projection=5]
# Environment (defaults in brackets): PYTHON [python3; .venv/bin/python when present], FRESCO_OUTPUTS
#   [outputs], ITERATIONS [1500, of the paper's 40000], EVAL_EVERY [250], SEEDS [0], METHODS [fresco iat],
#   SETUPS [paper wide_cpu], STEP_TIMEOUT [240 s per step], SKIP ["", any of: tests bench curves]
# Writes $FRESCO_OUTPUTS/gpu_session/: tests.log, bench_hsr.log, curves.log, curves.csv, and the runs.
set -uo pipefail
PYTHON=${PYTHON:-}
if [ -z "$PYTHON" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
OUT=${FRESCO_OUTPUTS:-outputs}/gpu_session
ITERATIONS=${ITERATIONS:-1500}
EVAL_EVERY=${EVAL_EVERY:-250}
SEEDS=${SEEDS:-0}
METHODS=${METHODS:-fresco iat}
SETUPS=${SETUPS:-paper wide_cpu}
STEP_TIMEOUT=${STEP_TIMEOUT:-240}
SKIP=${SKIP:-}
export PYTHONUNBUFFERED=1 FRESCO_PROGRESS=0
mkdir -p "$OUT"

step() {  # step NAME LOG COMMAND...: run with a time limit, keep going on failure
  local name=$1 logfile=$2; shift 2
  case " $SKIP " in *" $name "*) echo "== $name: skipped"; return;; esac
  echo "== $name (limit ${STEP_TIMEOUT}s): $*"
  local t0=$SECONDS
  timeout "$STEP_TIMEOUT" "$@" 2>&1 | tee "$logfile"
  local rc=${PIPESTATUS[0]}
  echo "== $name: exit $rc after $((SECONDS - t0)) s"
}

"$PYTHON" -c "import torch; print('torch', torch.__version__, '| CUDA:', torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else '')"

step tests "$OUT/tests.log" "$PYTHON" -m pytest -q -rs tests/hsr/test_hsr_cuda.py \
  "tests/msr/test_msr_solver.py::test_cuda_matches_cpu"
step bench "$OUT/bench_hsr.log" "$PYTHON" benchmarks/bench_hsr.py --device cuda

curves() {
  for setup in $SETUPS; do
    case $setup in
      paper) setup_args=();;
      wide_cpu) setup_args=(hsr=cpu hsr.unet_width=64 hsr.inv_width=64 hsr.disc_width=64);;
      *) echo "unknown setup $setup (choose from: paper wide_cpu)"; continue;;
    esac
    for method in $METHODS; do
      for seed in $SEEDS; do
        "$PYTHON" -m fresco method="$method" seed="$seed" profile=paper "${setup_args[@]}" \
          hsr.iterations="$ITERATIONS" hsr.eval_every="$EVAL_EVERY" metrics.perceptual.enabled=false \
          save.figure=false paths.output_root="$OUT" run_name="gpu_${setup}_${method}_s${seed}" "$@" \
          || echo "run $setup $method seed $seed failed"
      done
    done
  done
  # One table of H-SRI PSNR / SSIM against iterations from every run's stage-2 log.
  "$PYTHON" - "$OUT" <<'EOF'
import csv, sys
from pathlib import Path
rows = []
for log in sorted(Path(sys.argv[1]).glob("runs/*/*_gpu_*/logs/hsr/metrics.csv")):
    run = log.parents[2].name.split("_gpu_", 1)[1]
    for rec in csv.DictReader(open(log)):
        if rec.get("eval/h_sri_psnr"):
            rows.append({"run": run, "iteration": int(float(rec["step"])), "h_sri_psnr": float(rec["eval/h_sri_psnr"]),
                         "h_sri_ssim": float(rec["eval/h_sri_ssim"])})
if not rows:
    sys.exit("no H-SRI evaluations found in the runs' logs/hsr/metrics.csv")
with open(Path(sys.argv[1]) / "curves.csv", "w", newline="") as fh:
    writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
print(f"{'run':<24}{'iteration':>10}{'H-SRI PSNR':>12}{'SSIM':>8}")
for r in rows:
    print(f"{r['run']:<24}{r['iteration']:>10}{r['h_sri_psnr']:>12.2f}{r['h_sri_ssim']:>8.4f}")
EOF
}
export -f curves
export PYTHON OUT ITERATIONS EVAL_EVERY SEEDS METHODS SETUPS
STEP_TIMEOUT=$((STEP_TIMEOUT * 2)) step curves "$OUT/curves.log" bash -c 'curves "$@"' curves "$@"
