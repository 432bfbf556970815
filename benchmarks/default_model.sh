#!/usr/bin/env bash
# Rebuild the shipped default model: a committee of universal models (docs/default-model.md).
#
#   bash benchmarks/default_model.sh [DATA_DIR] [OUT] [EPOCHS] [MEMBERS]
#
# DATA_DIR (default ~/nextham-data/universal): the universal campaign's shards
# (benchmarks/universal_dataset.sh; copy a running campaign's shard directories first, so that
# the members train on the same labels). MEMBERS (default 3) seeds of
# benchmarks/configs/universal.yaml, EPOCHS (default 60) each, are trained side by side, one
# thread each (benchmarks/universal_model.sh: each also evaluates itself), joined by
# `nextham committee` (calibrated on their validation split), the committee evaluated on the
# test and unseen-composition splits, and copied into the package.
set -euo pipefail
DATA=${1:-$HOME/nextham-data/universal}
OUT=${2:-runs/default}
EPOCHS=${3:-60}
MEMBERS=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
export OMP_NUM_THREADS=1
mkdir -p "$OUT"
members=()
for ((s = 0; s < MEMBERS; s++)); do
    bash "$here/universal_model.sh" "$DATA" "$OUT/m$s" "$EPOCHS" "$s" > "$OUT/m$s.log" 2>&1 &
    members+=("$OUT/m$s/model.safetensors")
done
wait
for m in "${members[@]}"; do
    [ -f "$m" ] || { echo "member $m missing: see $(dirname "$m").log" >&2; exit 1; }
done
nextham committee "${members[@]}" --out "$OUT/committee.safetensors"
shards=()
for m in "$DATA"/*/manifest.json; do shards+=("$(dirname "$m")"); done
for split in test ood; do
    nextham evaluate "$OUT/committee.safetensors" "${shards[@]}" --split "$split" \
        --kmesh 4,4,4 --by block --json "$OUT/committee-$split.json"
done
cp "$OUT/committee.safetensors" "$here/../nextham/data/models/default.safetensors"
echo "shipped $OUT/committee.safetensors as nextham/data/models/default.safetensors"
