#!/usr/bin/env bash
# The universal dataset campaign (docs/structures.md): every shard of `--recipe universal` in
# gth-szv-molopt-sr, computed in rounds so that a partial run is a usable, spread-out dataset.
#
#   bash benchmarks/universal_dataset.sh [DATA_DIR] [ROUND] [WORKERS] [KSPACING]
#
# DATA_DIR (default ~/nextham-data/universal) gets one dataset per shard (p-light, s, p-heavy,
# 3d, 4d, 5d). Each round computes at most ROUND (default 25) unfinished structures of every
# shard, one per composition first (`nextham generate --limit`), so after a few rounds every
# element of the recipe is present. Rerun the same command to resume: finished labels are
# skipped. Each `generate` prints its projected cost (calibrated on the shard's finished
# labels) before it starts and the spent cost when it ends; the last line sums the campaign.
# WORKERS chains (default 1), each one process of one thread over its share of the shards
# (dealt round-robin), run side by side: keep WORKERS ≤ the free cores.
# KSPACING (Å⁻¹, 2π included; default 1.2) sets each cell's SCF k-mesh, so that a supercell
# samples the Brillouin zone as densely as its primitive cell (2×2×2 for most primitive cells,
# Γ or 2×1×1 for 8–16-atom supercells); see docs/structures.md.
set -u
DATA=${1:-$HOME/nextham-data/universal}
ROUND=${2:-25}
WORKERS=${3:-1}
KSPACING=${4:-1.2}
SHARDS="p-light s p-heavy 3d 4d 5d"
export OMP_NUM_THREADS=1
# orbital values cached per label (nextham/dft/ao_cache.py): 4 GB per worker unless set
export NEXTHAM_AO_CACHE_GB=${NEXTHAM_AO_CACHE_GB:-4}
mkdir -p "$DATA"

progress() {  # finished + failed labels over the shards named in $@
    python - "$DATA" "$@" <<'EOF'
import json, pathlib, sys
n = 0
for shard in sys.argv[2:]:
    m = pathlib.Path(sys.argv[1]) / shard / "manifest.json"
    if m.exists():
        d = json.loads(m.read_text())
        n += len(d["entries"]) + len(d["failed"])
print(n)
EOF
}

fewest_first() {  # the shards named in $@, those with the fewest labels first
    for s in "$@"; do echo "$(progress "$s") $s"; done | sort -n -s -k1,1 | cut -d' ' -f2
}

chain() {  # rounds over the shards named in $@, one worker: ends when a round adds nothing
    while true; do
        before=$(progress "$@")
        # a restarted campaign begins with its least-computed shard, so that a dear shard
        # (3d) whose round outlasts a session does not keep the next one (5d) from starting
        for s in $(fewest_first "$@"); do
            echo "== shard $s (round of $ROUND, $(date -u +%FT%TZ))"
            nextham generate "$DATA/$s" --recipe universal --basis szv-molopt-sr --shard "$s" \
                --n 2 --supercell-fraction 0.2 --limit "$ROUND" --workers 1 \
                --kspacing "$KSPACING"
        done
        after=$(progress "$@")
        echo "== round done ($*): $after labels (finished or failed), $((after - before)) new"
        [ "$after" -eq "$before" ] && break
    done
}

# one chain of shards per worker, side by side (shards dealt round-robin): a worker never
# waits for another's last label of a round
read -r -a all <<< "$SHARDS"
for ((w = 0; w < WORKERS; w++)); do
    mine=()
    for ((i = w; i < ${#all[@]}; i += WORKERS)); do mine+=("${all[i]}"); done
    [ ${#mine[@]} -gt 0 ] && chain "${mine[@]}" &
done
wait
dirs=()
for m in "$DATA"/*/manifest.json; do [ -f "$m" ] && dirs+=("$(dirname "$m")"); done
# the campaign's card: every shard as one dataset (per element, per prototype, cost, failures)
[ ${#dirs[@]} -gt 0 ] && nextham inspect "${dirs[@]}" --card --json "$DATA/card.json" | tail -n 3
