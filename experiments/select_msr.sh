#!/usr/bin/env bash
# Stage-1 hyperparameter selection without ground truth (method.md section 5): sweep the paper's
# grid, then rank the settings by the fit of the observed images and name the best.
# Usage: bash experiments/select_msr.sh [extra hydra overrides, e.g. dataset=pavia_university]
set -euo pipefail
FRESCO=${FRESCO:-fresco}
command -v "$FRESCO" >/dev/null || FRESCO=.venv/bin/fresco
OUT=${FRESCO_OUTPUTS:-outputs}
"$FRESCO" experiment=select_msr paths.output_root="$OUT" "$@"
"$FRESCO" report "$OUT/experiments/select_msr" --select fit.psnr \
  --metrics fit.psnr,fit.msi_psnr,fit.hsi_psnr,m_sri.psnr,m_sri.ssim,m_sri.sam,time_s.total
