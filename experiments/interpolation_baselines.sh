#!/usr/bin/env bash
# Interpolation baselines on Indian Pines across misalignment levels; then the table.
# Usage: bash experiments/interpolation_baselines.sh [extra hydra overrides]
set -euo pipefail
FRESCO=${FRESCO:-fresco}
command -v "$FRESCO" >/dev/null || FRESCO=.venv/bin/fresco
"$FRESCO" experiment=interpolation_baselines "$@"
"$FRESCO" report outputs/experiments/interpolation_baselines
