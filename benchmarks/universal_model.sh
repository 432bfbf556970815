#!/usr/bin/env bash
# Train and evaluate the universal model on the universal campaign's shards (issue 22).
#
#   bash benchmarks/universal_model.sh [DATA_DIR] [OUT] [EPOCHS] [SEED]
#
# DATA_DIR (default ~/nextham-data/universal) holds one dataset per shard
# (benchmarks/universal_dataset.sh); every shard with a manifest is used, so a partial campaign
# trains a partial model. OUT (default runs/universal) gets the config, checkpoints, the model
# and the evaluations: the held-out test split and the unseen-composition ("ood") split, each
# by periodic-table block, element and prototype. Rerun to resume training. EPOCHS overrides
# the config's; SEED (default 0) sets the initialization and batch order but not the data split,
# so that models of seeds 0, 1, 2 form a committee (benchmarks/gate_universal.py). CONFIG (from
# the environment; default benchmarks/configs/universal.yaml) trains a variant of the config.
set -euo pipefail
DATA=${1:-$HOME/nextham-data/universal}
OUT=${2:-runs/universal}
EPOCHS=${3:-}
SEED=${4:-0}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
shards=()
for m in "$DATA"/*/manifest.json; do
    [ -f "$m" ] && shards+=("$(dirname "$m")")
done
[ ${#shards[@]} -gt 0 ] || { echo "no shard dataset under $DATA (run universal_dataset.sh)" >&2; exit 2; }
python - "${CONFIG:-$here/configs/universal.yaml}" "$OUT" "$EPOCHS" "$SEED" "${shards[@]}" <<'PY'
import sys, yaml
src, out, epochs, seed, shards = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
cfg = yaml.safe_load(open(src))
cfg["data"]["datasets"] = shards
cfg["out"] = out
if epochs:
    cfg["optim"]["epochs"] = int(epochs)
cfg["seed"] = int(seed)
open(f"{out}/config.yaml", "w").write(yaml.safe_dump(cfg, sort_keys=False))
PY
nextham train "$OUT/config.yaml"
for split in test ood; do
    nextham evaluate "$OUT/model.safetensors" "${shards[@]}" --split "$split" --kmesh 4,4,4 \
        --by block --by element --by prototype --json "$OUT/eval-$split.json"
done
