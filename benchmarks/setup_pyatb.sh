#!/usr/bin/env bash
# PYATB (the optics cross-check of benchmarks/optics_vs_pyatb.py) in its own virtual
# environment outside the work tree: PYATB pins its own numpy/scipy/ase and needs MPI
# (mpi4py), which nextham does not, so it stays out of nextham's environment.
#
#   bash benchmarks/setup_pyatb.sh [ENV_DIR]      # default ~/nextham-data/envs/pyatb
#
# What it takes: python3.11 (with venv), network access to PyPI. pyatb 1.1.2 ships a
# manylinux wheel (C++ core with Eigen and OpenMP built in) and `mpich` 5.0.2 from PyPI
# provides the MPI library and mpirun/mpiexec that mpi4py loads; no compiler is needed on
# x86_64 Linux. Where no wheel fits, pip builds pyatb from source: that needs a C++17
# compiler (g++), CMake and the MPI headers (mpicc from the mpich wheel).
# Check: `$ENV_DIR/bin/pyatb` exists (it reads `Input` in the current folder and writes `Out/`).
set -euo pipefail
ENV_DIR="${1:-$HOME/nextham-data/envs/pyatb}"
PY="${PYTHON:-python3.11}"
if [ ! -x "$ENV_DIR/bin/python" ]; then
    "$PY" -m venv "$ENV_DIR"
fi
OMP_NUM_THREADS=1 "$ENV_DIR/bin/pip" install --quiet "mpich==5.0.2" "pyatb==1.1.2"
"$ENV_DIR/bin/python" - <<'PY'
import importlib.metadata as md
print("pyatb", md.version("pyatb"), "mpich", md.version("mpich"), "mpi4py", md.version("mpi4py"))
PY
echo "PYATB environment: $ENV_DIR (benchmarks/optics_vs_pyatb.py --pyatb $ENV_DIR)"
