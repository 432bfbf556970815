#!/usr/bin/env bash
# Spin–orbit labels of heavy p-block crystals on the GTH path (issue 24), with the universal
# campaign's engine settings (szv-molopt-sr, k-spacing 1.2 Å⁻¹), so that the universal scalar
# model predicts them and fine-tunes on their scalar part (benchmarks/soc_gth_model.py).
#
#   bash benchmarks/soc_dataset.sh [DATA_DIR] [WORKERS]
#
# DATA_DIR (default ~/nextham-data/soc-gth5) gets six training datasets and a held-out one:
#   train    elemental Sn, Pb, Bi, Sb, Te in diamond, fcc, bcc, sc (3 copies each, 60)
#   train2   PbTe, PbSe, PbS, SnTe, GeTe, AlSb, TlBr, CsI in rocksalt, zincblende, CsCl (72)
#   train3   GeSe, GeS, BiSe, SbTe, TlI, PbTe, SnTe, CsI, other draws (72)
#   train4   elemental Tl, Ge, Se, I, Po (diamond, fcc, bcc, sc) and the halides and
#            chalcogenides PbI, BiI, SbI, SnI, CsBr, TlCl, BaTe, BiTe, SbSe, GeSb (150)
#   train5   the held-out pairs' elements with other partners (BaS, BaSe, TlS, TlSe, BiS, SbS,
#            GeSn, PbSn, SnBi, SnSb, CsCl, PbBr) in rocksalt, zincblende, CsCl (108)
#   train6   new draws of train2's compounds (48)
#   train7   heavy d and group-11/12 elements: elemental Au, Pt, W, Hg (fcc, bcc, sc) and
#            TlTe, TlSb, HgS, HgSe, CdSe, CdS, CsAu, PtTe, AgBr, ZnSe (84)
#   train8   new draws of the ionic compounds (CsI, CsBr, CsCl, BaSe, BaTe, BaS, TlCl, PbI; 48)
#   heldout  SnSe and SnS in rocksalt and zincblende (8): element pairs never trained on
#   symmetric  ideal zincblende and diamond cells (no strain, no rattle) whose valence top at Γ
#            is a j = 3/2 / 1/2 pair, for the spin–orbit splitting: AlSb, GeTe, PbTe, SnTe
#            (pairs in training) and CdTe, HgTe, ZnTe, AgI, AlBi, SnSe, SnS (never trained
#            on), diamond Ge and Sn (13)
# 28 elements (each one the universal campaign has, so that its model can start the training),
# ≈ 663 labels, ≈ 2 CPU-s each (one thread). Resumable: rerun the command.
set -euo pipefail
DATA=${1:-$HOME/nextham-data/soc-gth5}
WORKERS=${2:-1}
export OMP_NUM_THREADS=1
mkdir -p "$DATA"
engine=(--spin soc --soc-method gth --basis szv-molopt-sr --kspacing 1.2 --workers "$WORKERS")
three=rocksalt,zincblende,cesiumchloride
nextham generate "$DATA/train" "${engine[@]}" --elements Sn,Pb,Bi,Sb,Te \
    --elemental-prototypes diamond,fcc,bcc,sc --n 3 --seed 0
nextham generate "$DATA/train2" "${engine[@]}" \
    --binaries Pb-Te,Pb-Se,Pb-S,Sn-Te,Ge-Te,Al-Sb,Tl-Br,Cs-I --binary-prototypes "$three" \
    --n 3 --seed 1
nextham generate "$DATA/train3" "${engine[@]}" \
    --binaries Ge-Se,Ge-S,Bi-Se,Sb-Te,Tl-I,Pb-Te,Sn-Te,Cs-I --binary-prototypes "$three" \
    --n 3 --seed 2
nextham generate "$DATA/train4" "${engine[@]}" --elements Tl,Ge,Se,I,Po \
    --elemental-prototypes diamond,fcc,bcc,sc \
    --binaries Pb-I,Bi-I,Sb-I,Sn-I,Cs-Br,Tl-Cl,Ba-Te,Bi-Te,Sb-Se,Ge-Sb --binary-prototypes "$three" \
    --n 3 --seed 4
nextham generate "$DATA/train5" "${engine[@]}" \
    --binaries Ba-S,Ba-Se,Tl-S,Tl-Se,Bi-S,Sb-S,Ge-Sn,Pb-Sn,Sn-Bi,Sn-Sb,Cs-Cl,Pb-Br \
    --binary-prototypes "$three" --n 3 --seed 5
nextham generate "$DATA/train6" "${engine[@]}" \
    --binaries Pb-Te,Pb-Se,Pb-S,Sn-Te,Ge-Te,Al-Sb,Tl-Br,Cs-I --binary-prototypes "$three" \
    --n 2 --seed 6
nextham generate "$DATA/heldout" "${engine[@]}" --binaries Sn-Se,Sn-S \
    --binary-prototypes rocksalt,zincblende --n 2 --seed 3
nextham generate "$DATA/train7" "${engine[@]}" --elements Au,Pt,W,Hg \
    --elemental-prototypes fcc,bcc,sc \
    --binaries Tl-Te,Tl-Sb,Hg-S,Hg-Se,Cd-Se,Cd-S,Cs-Au,Pt-Te,Ag-Br,Zn-Se \
    --binary-prototypes "$three" --n 2 --seed 7
nextham generate "$DATA/train8" "${engine[@]}" \
    --binaries Cs-I,Cs-Br,Cs-Cl,Ba-Se,Ba-Te,Ba-S,Tl-Cl,Pb-I --binary-prototypes "$three" \
    --n 2 --seed 8
nextham generate "$DATA/symmetric" "${engine[@]}" --elements Ge,Sn --elemental-prototypes diamond \
    --binaries Al-Sb,Ge-Te,Pb-Te,Sn-Te,Cd-Te,Hg-Te,Zn-Te,Ag-I,Al-Bi,Sn-Se,Sn-S \
    --binary-prototypes zincblende --n 1 --strain 0 --rattle 0 --seed 9
