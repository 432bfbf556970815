#!/usr/bin/env bash
# Per-element verification of the multigrid labels (VERIFIED_ELEMENTS in nextham/dft/gridfock.py):
# reference labels of every rattled/strained cell of a composition (the scalar40k recipe's
# settings: gth-szv, PBE, 2×2×2 k), then each rebuilt by the multigrid path, H0 and HT compared.
#   OMP_NUM_THREADS=1 bash benchmarks/verify_multigrid.sh ~/nextham-data/verify Si Ge Al-As
set -euo pipefail
work=${1:?usage: verify_multigrid.sh WORKDIR COMPOSITION...}
shift
for comp in "$@"; do
    if [[ $comp == *-* ]]; then
        gen=(--binaries "$comp" --binary-prototypes zincblende)
    else
        gen=(--elements "$comp" --elemental-prototypes diamond)
    fi
    nextham generate "$work/$comp" "${gen[@]}" --n 5 --seed 0 --kmesh 2,2,2 --method reference
    python "$(dirname "$0")/h0_multigrid_accuracy.py" "$work/$comp" --labels | tee "$work/$comp.md"
done
