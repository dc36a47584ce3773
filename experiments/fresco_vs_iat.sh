#!/usr/bin/env bash
# FRESCO vs the IAT ablation (same budget), 3 seeds, with the interpolation baselines alongside
# (bicubic, Lanczos, and bicubic + back-projection).
# Usage: bash experiments/fresco_vs_iat.sh [extra hydra overrides, e.g. profile=paper]
set -euo pipefail
FRESCO=${FRESCO:-fresco}
command -v "$FRESCO" >/dev/null || FRESCO=.venv/bin/fresco
OUT=${FRESCO_OUTPUTS:-outputs}
"$FRESCO" experiment=fresco_vs_iat paths.output_root="$OUT" "$@"
"$FRESCO" report "$OUT/experiments/fresco_vs_iat" --no-figures --metrics \
  m_sri.psnr,m_sri.ssim,h_sri.psnr,h_sri.ssim,h_sri.sam,ref.bicubic.h_sri.psnr,ref.bicubic.h_sri.ssim,ref.lanczos.h_sri.psnr,ref.lanczos.h_sri.ssim,ref.bicubic_bp.h_sri.psnr,ref.bicubic_bp.h_sri.ssim,time_s.total
