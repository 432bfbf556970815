#!/usr/bin/env bash
# Train the scalar recipe and its ablations (no k-space loss, no TraceGrad), then evaluate each
# on the held-out test split next to the H0 and zero baselines. Expects data/scalar40.
set -euo pipefail
cfg=benchmarks/configs/scalar40.yaml
python - "$cfg" <<'PY'
import sys, yaml, pathlib
base = yaml.safe_load(open(sys.argv[1]))
variants = {
    "no_kspace": lambda c: c["loss"].update(k_pp=0.0, k_pq=0.0, k_qq=0.0),
    "no_tracegrad": lambda c: (c["loss"].update(tracegrad=0.0), c["model"].update(tracegrad=False)),
}
for name, edit in variants.items():
    c = yaml.safe_load(yaml.safe_dump(base)); edit(c); c["out"] = f"runs/scalar40_{name}"
    pathlib.Path(f"runs/scalar40_{name}.yaml").parent.mkdir(exist_ok=True)
    pathlib.Path(f"runs/scalar40_{name}.yaml").write_text(yaml.safe_dump(c))
PY
for c in "$cfg" runs/scalar40_no_kspace.yaml runs/scalar40_no_tracegrad.yaml; do
  nextham train "$c"
  out=$(python -c "import yaml,sys; print(yaml.safe_load(open('$c'))['out'])")
  nextham evaluate "$out/model.safetensors" data/scalar40 --split test --kmesh 4,4,4
done
