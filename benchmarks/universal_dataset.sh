#!/usr/bin/env bash
# The universal dataset campaign (docs/structures.md): every shard of `--recipe universal` in
# gth-szv-molopt-sr, computed in rounds so that a partial run is a usable, spread-out dataset.
#
#   bash benchmarks/universal_dataset.sh [DATA_DIR] [ROUND] [WORKERS] [KSPACING]
#
# DATA_DIR (default ~/nextham-data/universal) gets one dataset per shard (p-light, s, p-heavy,
# 3d, 4d, 5d). The campaign goes through rising caps on the projected cost of a label (CAPS,
# from the environment; default "15 30 60 120 240 480 960 1920 none" CPU-seconds, calibrated
# on each shard's finished labels: `nextham generate --max-label-seconds`), so that it labels
# the cheapest structures of every shard first: 3,000 labels cost about a quarter of what
# equal rounds per shard cost (docs/structures.md). A shard with no finished label yet takes
# the other shards' calibration (`--calibrate-from`), so that its cheapest labels come under
# the first caps too. Under each cap, each round computes at most
# ROUND (default 25) unfinished structures of every shard, one per composition first
# (`nextham generate --limit`), until a round adds nothing. Rerun the same command to resume:
# finished labels are skipped. Each `generate` prints its projected cost (calibrated on the shard's finished
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
CAPS=${CAPS:-15 30 60 120 240 480 960 1920 none}
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

chain() {  # per cost cap, rounds over the shards named in $@, one worker, until one adds nothing
    for cap in $CAPS; do
        budget=()
        [ "$cap" != none ] && budget=(--max-label-seconds "$cap")
        while true; do
            before=$(progress "$@")
            # a round begins with the least-computed shard, so that a dear shard (3d) whose
            # round outlasts a session does not keep the next one (5d) from starting
            for s in $(fewest_first "$@"); do
                echo "== shard $s (round of $ROUND, cap $cap, $(date -u +%FT%TZ))"
                # a shard with no finished label yet is calibrated on the others' labels
                others=()
                for o in $SHARDS; do [ "$o" != "$s" ] && others+=(--calibrate-from "$DATA/$o"); done
                nextham generate "$DATA/$s" --recipe universal --basis szv-molopt-sr \
                    --shard "$s" --n 2 --supercell-fraction 0.2 --limit "$ROUND" --workers 1 \
                    --kspacing "$KSPACING" "${budget[@]}" "${others[@]}"
            done
            after=$(progress "$@")
            echo "== round done ($*, cap $cap): $after labels (finished or failed)," \
                "$((after - before)) new"
            [ "$after" -eq "$before" ] && break
        done
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
