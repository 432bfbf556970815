#!/usr/bin/env bash
# DeepH-dock (the DeepX cross-check of benchmarks/deepx_vs_deephdock.py) in its own virtual
# environment outside the work tree: deepx-dock needs Python >= 3.12 and pins its own
# numpy/scipy/h5py, so it stays out of nextham's environment.
#
#   bash benchmarks/setup_deephdock.sh [ENV_DIR]   # default ~/nextham-data/envs/deephdock
#   DEEPHDOCK_ENV=/path bash benchmarks/setup_deephdock.sh
#   PYTHON=/path/to/python3.12 bash benchmarks/setup_deephdock.sh
#
# What it takes: Python >= 3.12 with venv (`python3.12`, or a pyenv 3.12.x), network access
# to PyPI. `deeph-dock` on PyPI is an alias of `deepx-dock`; this installs `deepx-dock` with
# its `pyscf` extra (DeepH-dock's PySCF converter, whose orbital order the cross-check compares
# with nextham's; PySCF ships manylinux wheels, no compiler needed).
# Check: `$ENV_DIR/bin/python -c "import deepx_dock"` works.
set -euo pipefail
ENV_DIR="${1:-${DEEPHDOCK_ENV:-$HOME/nextham-data/envs/deephdock}}"
VERSION="${DEEPHDOCK_VERSION:-}"  # e.g. "==0.1.0"; empty: the newest release

find_python() {
    if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; return; fi
    for cand in python3.12 python3.13; do
        if command -v "$cand" >/dev/null && "$cand" -c "import venv" 2>/dev/null; then
            echo "$cand"; return
        fi
    done
    for cand in "$HOME"/.pyenv/versions/3.1[23]*/bin/python3; do
        if [ -x "$cand" ]; then echo "$cand"; return; fi
    done
    echo "no Python >= 3.12 found; set PYTHON=/path/to/python3.12" >&2
    exit 1
}

if [ ! -x "$ENV_DIR/bin/python" ]; then
    PY="$(find_python)"
    mkdir -p "$(dirname "$ENV_DIR")"
    "$PY" -m venv "$ENV_DIR"
fi
OMP_NUM_THREADS=1 "$ENV_DIR/bin/pip" install --quiet "deepx-dock[pyscf]${VERSION}"
"$ENV_DIR/bin/python" - <<'PY'
import importlib.metadata as md
import sys

import deepx_dock
import pyscf

print("python", sys.version.split()[0], "deepx-dock", md.version("deepx-dock"),
      "pyscf", md.version("pyscf"),
      "numpy", md.version("numpy"), "h5py", md.version("h5py"))
PY
echo "DeepH-dock environment: $ENV_DIR (benchmarks/deepx_vs_deephdock.py --python $ENV_DIR/bin/python)"
