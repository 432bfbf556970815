"""DeepH-dock side of the DeepX cross-check; runs inside DeepH-dock's own environment
(``benchmarks/setup_deephdock.sh``; imports ``deepx_dock``, numpy and, for ``--pyscf-basis``,
PySCF, never ``nextham``).
Called by ``benchmarks/deepx_vs_deephdock.py`` through a subprocess; data go through files.

Reads one DeepX directory (``POSCAR``, ``info.json``, ``overlap.h5``, ``hamiltonian.h5``) with
DeepH-dock's ``HamiltonianObj`` (which checks that H and S hold the same atom pairs and that
``orbits_quantity`` fits ``elements_orbital_map`` and the POSCAR) and writes a JSON file:

- ``eigenvalues``: (n_k, n_bands) in eV at the given fractional k-points, from
  ``HamiltonianObj.diag`` (H(k) = Σ_R e^{i2πk·R} H(R), SciPy's generalized ``eigh``);
- ``fermi_mesh``: DeepH-dock's Fermi level from ``info.json``'s ``occupation``
  (``FermiEnergyAndDOSGenerator.find_fermi_energy``, method "counting": the midpoint of the
  N-th and (N+1)-th lowest eigenvalue over its mesh, N = n_k · occupation / (2 − spinful)),
  with that mesh's k-points (n_mesh, 3);
- ``pyscf_overlap`` (with ``--pyscf-basis``, needs DeepH-dock's ``pyscf`` extra): max |ΔS(k)|
  at the k-points between S(k) from ``overlap.h5`` and PySCF's S(k) of the same structure and
  basis put in DeepX order by DeepH-dock's own PySCF converter (``PySCFDataHooker``'s
  per-atom ``basis_trans_index``). Eigenvalues cannot see the orbital order inside an atom
  (any order applied to H and S alike leaves them unchanged); this does. PySCF sums every
  lattice vector, the file only the stored pairs: the difference is the pair cutoff's;
- what DeepH-dock read: ``elements``, ``frac_coords``, ``lattice`` (Å), ``spinful``,
  ``occupation``, ``fermi_energy_eV``, ``orbits_quantity``, ``n_R``.

    python benchmarks/deephdock_eigs.py DEEPX_DIR --kpts kpts.json --out eigs.json [--dk 0.3]
        [--pyscf-basis '{"Si": "gth-szv"}']

``kpts.json`` holds a list of fractional k-points [[k1, k2, k3], ...].
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import tempfile
from pathlib import Path

import numpy as np
from deepx_dock.compute.eigen.fermi_dos import FermiEnergyAndDOSGenerator
from deepx_dock.compute.eigen.hamiltonian import HamiltonianObj
from deepx_dock.compute.eigen.matrix_obj import AOMatrixObj


def eigenvalues(obj: HamiltonianObj, kpts: np.ndarray) -> np.ndarray:
    """DeepH-dock's band energies (n_k, n_bands) in eV at fractional ``kpts`` (n_k, 3)."""
    return np.asarray(obj.diag(kpts, bands_only=True)).T


def mesh_fermi_level(folder: Path, obj: HamiltonianObj, dk: float) -> dict | None:
    """DeepH-dock's own Fermi level from ``occupation`` on its mesh of spacing ``dk`` (Å⁻¹,
    2π included), or None when ``info.json`` states no occupation."""
    if obj.occupation is None:
        return None
    if (folder / "fermi_energy.json").exists():
        raise SystemExit(f"{folder}: holds a cached fermi_energy.json; remove it first")
    gen = FermiEnergyAndDOSGenerator(folder, obj)
    gen.fermi_energy = None  # find it from the occupation, not from info.json
    gen.find_fermi_energy(dk=dk, method="counting")
    return {"fermi_level": float(gen.fermi_energy), "kpts": np.asarray(gen.ks).tolist()}


def pyscf_overlap(folder: Path, basis: dict[str, str], kpts: np.ndarray) -> float:
    """max |S_file(k) − S_PySCF(k)| over ``kpts`` (n_k, 3), PySCF's S(k) of the POSCAR's
    structure in ``basis`` (symbol → PySCF basis name) ordered by DeepH-dock's converter."""
    from deepx_dock.compute.pyscf.pyscf_hooker import PySCFDataHooker  # deferred: [pyscf] extra
    from pyscf.pbc import gto, scf  # deferred: DeepH-dock's optional [pyscf] extra

    ovl = AOMatrixObj(folder, matrix_type="overlap")
    xyz = np.asarray(ovl.frac_coords) @ np.asarray(ovl.lattice)
    cell = gto.Cell(atom=list(zip(ovl.elements, xyz.tolist())), a=np.asarray(ovl.lattice),
                    basis=basis, unit="Angstrom", verbose=0)  # fmt: skip
    cell.spin = cell.nelectron % 2
    cell.build()
    kcart = cell.get_abs_kpts(kpts)
    with tempfile.TemporaryDirectory() as tmp:
        hook = PySCFDataHooker(tmp, export_H=False)
        hook._analyze_info(scf.KRKS(cell, kpts=kcart))  # its orbital order, nothing written
    order = np.concatenate([hook.basis_trans_index[a] for a in range(cell.natm)])
    s_pyscf = np.asarray(cell.pbc_intor("int1e_ovlp", hermi=1, kpts=kcart))[:, order][:, :, order]
    m = int(ovl.orbits_quantity)  # a spinful S(k) is S ⊗ I₂ in DeepH-dock: its ↑↑ block
    return float(np.abs(ovl.r2k(kpts)[:, :m, :m] - s_pyscf).max())


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("folder", type=Path, help="a DeepX structure directory")
    p.add_argument("--kpts", type=Path, required=True, help="JSON list of fractional k-points")
    p.add_argument("--out", type=Path, required=True, help="JSON file written")
    p.add_argument("--dk", type=float, default=0.3, help="mesh spacing of the Fermi level")
    p.add_argument("--pyscf-basis", type=json.loads, default=None,
                   help="JSON symbol → PySCF basis: also compare S(k) with PySCF's")  # fmt: skip
    args = p.parse_args()
    kpts = np.asarray(json.loads(args.kpts.read_text()), dtype=np.float64).reshape(-1, 3)
    obj = HamiltonianObj(args.folder)
    result = {
        "deepx_dock": importlib.metadata.version("deepx-dock"),
        "elements": list(obj.elements),
        "frac_coords": np.asarray(obj.frac_coords).tolist(),
        "lattice": np.asarray(obj.lattice).tolist(),
        "spinful": bool(obj.spinful),
        "occupation": obj.occupation,
        "fermi_energy_eV": obj.fermi_energy,
        "orbits_quantity": int(obj.orbits_quantity),
        "n_R": int(obj.R_quantity),
        "kpts": kpts.tolist(),
        "eigenvalues": eigenvalues(obj, kpts).tolist(),
        "fermi_mesh": mesh_fermi_level(args.folder, obj, args.dk),
        "pyscf_overlap": None,
    }
    if args.pyscf_basis:
        result["pyscf_overlap"] = pyscf_overlap(args.folder, args.pyscf_basis, kpts)
    tmp = args.out.with_name(args.out.name + ".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(args.out)


if __name__ == "__main__":
    main()
