#!/usr/bin/env bash
# The small model shipped as the default until 2026-12-07 (9 sp elements, gth-szv, 40 two-atom
# cells; docs/default-model.md, "The small model"): generate (or resume) data/scalar40k, train,
# evaluate on the held-out test split, keep the file as runs/small_model.safetensors. On a 2-core
# CPU the k-spacing data took 33 min of engine time with `--workers 2` added to the generate
# line, and the 200 epochs of training ≈ 15 min (4.4 s/epoch, one thread).
set -euo pipefail
nextham generate data/scalar40k --elements Si,C,Ge --binaries Si-C,B-N,Al-P,Ga-As,Al-As \
  --elemental-prototypes diamond --binary-prototypes zincblende --n 5 --seed 0 --kspacing 0.55
nextham train benchmarks/configs/default_model.yaml
nextham evaluate runs/default_model/model.safetensors data/scalar40k --split test --kmesh 4,4,4
cp runs/default_model/model.safetensors runs/small_model.safetensors
