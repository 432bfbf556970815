#!/usr/bin/env bash
# How well the universal architecture fits ten elemental cells of the universal recipe when it
# sees nothing else (docs/training.md, "What limits it"): supercells, vacancy cells and two
# primitive cells of B, C, O, Al, Si, S, labelled in gth-szv-molopt-sr (≈ 80 CPU-s), then one
# 150-epoch training per variant of benchmarks/configs/universal.yaml on all ten (≈ 5 min each
# on one core), each scored on every structure by benchmarks/fit_by_structure.py.
#
#   bash benchmarks/elemental_fit.sh [DATA_DIR] [EPOCHS]
#
# DATA_DIR (default ~/nextham-data/elemental-fit) gets the dataset and one run per variant;
# rerun to resume (finished labels and trainings are kept).
set -euo pipefail
DATA=${1:-$HOME/nextham-data/elemental-fit}
EPOCHS=${2:-150}
here=$(cd "$(dirname "$0")" && pwd)
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
NAMES=B_hcp_p0,B_hcp_vac,C_fcc_d0,C_diamond_d0,O_bcc_d0,Al_hcp_d0,Si_diamond_d0,S_fcc_d0,S_bcc_vac,S_hcp_p0
mkdir -p "$DATA/structures"
python - "$DATA/structures" "$NAMES" <<'PY'
import sys
from ase.io import write
from nextham.dft.settings import MOLOPT_ELEMENTS
from nextham.structures.universal import UniversalSpec, universal_structures
out, names = sys.argv[1], sys.argv[2].split(",")
spec = UniversalSpec(elements=MOLOPT_ELEMENTS, n_per_prototype=2, supercell_fraction=0.2)
found = {n: a for n, a in universal_structures(spec).structures if n in names}
missing = sorted(set(names) - set(found))
if missing:
    sys.exit(f"not in the universal recipe: {missing}")
for n, atoms in found.items():
    write(f"{out}/{n}.extxyz", atoms)
PY
nextham generate "$DATA/cells" "$DATA"/structures/*.extxyz --basis szv-molopt-sr --kspacing 1.2

# variant name → changes to the universal config (Python statements on `cfg`)
declare -A VARIANTS=(
    [universal]=''
    [no-envelope]='cfg["model"]["h0_envelope"] = None'
    [l2]='cfg["loss"]["l2"] = 30.0'
)
for name in universal no-envelope l2; do
    run="$DATA/runs/$name"
    mkdir -p "$run"
    python - "$here/configs/universal.yaml" "$run" "$DATA/cells" "$EPOCHS" "${VARIANTS[$name]}" <<'PY'
import sys, yaml
src, run, data, epochs, change = sys.argv[1:6]
cfg = yaml.safe_load(open(src))
cfg["data"].update(datasets=[data], split=[1.0, 0.0, 0.0], split_by="structure",
                   holdout_pair_fraction=0.0, cache_mb=500)
cfg["optim"]["epochs"] = int(epochs)
cfg["out"] = run
exec(change)
open(f"{run}/config.yaml", "w").write(yaml.safe_dump(cfg, sort_keys=False))
PY
    [ -f "$run/model.safetensors" ] && grep -q '^model:' "$run/train.log" 2>/dev/null \
        || nextham train "$run/config.yaml" > "$run/train.log"
    echo "== $name: ${VARIANTS[$name]:-the universal config}"
    python "$here/fit_by_structure.py" "$run" "$DATA/cells"
done
