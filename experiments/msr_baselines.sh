#!/usr/bin/env bash
# M-SRI baselines against the unregistration level (conf/experiment/msr_baselines.yaml), then the
# co-registered upper bounds at misalignment=none, then one report over both sweeps.
# Usage: bash experiments/msr_baselines.sh [extra hydra overrides, e.g. dataset=pavia_university]
set -euo pipefail
FRESCO=${FRESCO:-fresco}
command -v "$FRESCO" >/dev/null || FRESCO=.venv/bin/fresco
OUT=${FRESCO_OUTPUTS:-outputs}
"$FRESCO" experiment=msr_baselines paths.output_root="$OUT" "$@"
"$FRESCO" experiment=msr_baselines paths.output_root="$OUT" method=cnmf,registered_ll1 misalignment=none \
  hydra.sweep.dir="$OUT/experiments/msr_baselines/upper_bounds" "$@"
"$FRESCO" report "$OUT/experiments/msr_baselines" --metrics m_sri.psnr,m_sri.sam,m_sri.ssim,time_s.total
