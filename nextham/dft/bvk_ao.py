"""Bloch sums of the orbitals at every k of a mesh for the cost of about one k-point.

PySCF evaluates Φ_k(r) = Σ_L e^{ik·L} φ(r − L) on a block of grid points for all requested k
at once (``PBCGTOval``): the values of every image L, then a product with the phase matrix
e^{ik·L}, (n_images × n_k) per value. For the hundreds of k-points of a label's transform mesh
that product is most of the label's time. On a Γ-centred mesh N₁×N₂×N₃ the phase depends only
on L mod N, so

    Φ_k(r) = Σ_n e^{i2π m·n/N} Φ̃_n(r),    Φ̃_n(r) = Σ_{L ≡ n (mod N)} φ(r − L),   k = m/N.

:class:`Folder` computes the real folded sums Φ̃_n with PySCF's own evaluator, image
list and cutoffs — its phase matrix replaced by the 0/1 matrix of the classes n, a few classes
per call — and :func:`mesh_transform` takes them to every k of the mesh with one real FFT
over the classes. The terms are PySCF's, summed in another order: the values agree to
rounding (``tests/test_dft_mesh_fock.py``). PySCF's screening mask (``non0tab``) is not applied
(every image inside the cutoff is summed, as PySCF does without a mask).
"""

from __future__ import annotations

import ctypes

import numpy as np
import scipy.fft
from pyscf import lib
from pyscf.gto import moleintor
from pyscf.pbc.gto import eval_gto as pbc_eval

MIN_KPTS = 8
"""Fewer k-points than this are left to PySCF (no gain from the fold)."""
CLASSES_PER_CALL = 16
"""Image classes summed per evaluator call (the 0/1 phase matrix is n_images × this)."""


def on_mesh(frac: np.ndarray, mesh) -> np.ndarray:
    """(nk,) bool: which fractional k-points (nk, 3) lie on the Γ-centred ``mesh``."""
    x = np.asarray(frac, dtype=float) * np.asarray(mesh)
    return (np.abs(x - np.rint(x)) < 1e-8).all(axis=1)


def mesh_indices(frac: np.ndarray, mesh) -> np.ndarray:
    """Flat indices m (C order over ``mesh``) of fractional k-points on the mesh."""
    mesh = np.asarray(mesh, dtype=int)
    m = np.mod(np.rint(np.asarray(frac) * mesh).astype(int), mesh)
    return np.ravel_multi_index(tuple(m.T), tuple(mesh))


def image_classes(cell, ls: np.ndarray, mesh: np.ndarray) -> np.ndarray:
    """(nL,) flat index of each image's class n = L mod N (``ls`` Cartesian, Bohr)."""
    n = np.rint(ls @ np.linalg.inv(cell.lattice_vectors())).astype(int)
    return np.ravel_multi_index(tuple(np.mod(n, mesh).T), tuple(mesh))


def _evaluate(cell, feval: str, coords, comp: int, ls, weights, rcut, cutoff) -> np.ndarray:
    """PySCF's ``PBCGTOval`` driver with a given (nL, nw) weight matrix in place of the
    phases: (nw, comp, nao, ngrids) complex, Σ_L weights[L, w] φ(r − L)."""
    atm = np.asarray(cell._atm, dtype=np.int32, order="C")
    bas = np.asarray(cell._bas, dtype=np.int32, order="C")
    env = np.asarray(cell._env, dtype=np.double, order="C")
    name = "PBC" + feval
    ao_loc = moleintor.make_loc(bas, name)
    nao, ngrids = int(ao_loc[-1]), len(coords)
    mask = np.full(((ngrids + pbc_eval.BLKSIZE - 1) // pbc_eval.BLKSIZE, len(bas)), 0xFF, np.uint8)
    out = np.empty((weights.shape[1], comp, nao, ngrids), dtype=np.complex128)
    ls = np.ascontiguousarray(ls)
    weights = np.ascontiguousarray(weights, dtype=np.complex128)
    coords = np.asarray(coords, order="F")
    ptr = ctypes.c_void_p
    with cell.with_integral_screen(cutoff):
        getattr(pbc_eval.libpbc, name)(
            ctypes.c_int(ngrids), (ctypes.c_int * 2)(0, len(bas)), ao_loc.ctypes.data_as(ptr),
            ls.ctypes.data_as(ptr), ctypes.c_int(len(ls)), weights.ctypes.data_as(ptr),
            ctypes.c_int(weights.shape[1]), out.ctypes.data_as(ptr),
            coords.ctypes.data_as(ptr), rcut.ctypes.data_as(ptr), mask.ctypes.data_as(ptr),
            atm.ctypes.data_as(ptr), ctypes.c_int(len(atm)), bas.ctypes.data_as(ptr),
            ctypes.c_int(len(bas)), env.ctypes.data_as(ptr),
        )  # fmt: skip
    return out


class Folder:
    """Evaluates Φ̃_n on any points for one cell, mesh and derivative order (the image list,
    classes and 0/1 weight matrices prepared once)."""

    def __init__(self, cell, mesh, deriv: int = 0, cutoff=None):
        self.cell, self.mesh, self.cutoff = cell, np.asarray(mesh, dtype=int), cutoff
        self.comp = (deriv + 1) * (deriv + 2) * (deriv + 3) // 6
        self.feval = ("GTOval_cart_deriv%d" if cell.cart else "GTOval_sph_deriv%d") % deriv
        self.rcut = pbc_eval._estimate_rcut(cell, deriv)
        ls = pbc_eval.get_lattice_Ls(cell, rcut=self.rcut.max())
        ls = ls[np.argsort(lib.norm(ls, axis=1), kind="stable")]
        cls = image_classes(cell, ls, self.mesh)
        self.n_classes = int(np.prod(self.mesh))
        self.calls = []  # (first class, last class + 1, images, weights)
        self.empty = []  # (first class, last class + 1) without any image
        for c0 in range(0, self.n_classes, CLASSES_PER_CALL):
            c1 = min(c0 + CLASSES_PER_CALL, self.n_classes)
            members = np.flatnonzero((cls >= c0) & (cls < c1))
            if len(members):
                # two classes per complex column: class c0 + 2w in the real part, c0 + 2w + 1
                # in the imaginary part (real values, so nothing mixes)
                rel = cls[members] - c0
                weights = np.zeros((len(members), (c1 - c0 + 1) // 2), dtype=np.complex128)
                weights[np.arange(len(members)), rel // 2] = np.where(rel % 2, 1j, 1.0)
                self.calls.append((c0, c1, np.ascontiguousarray(ls[members]), weights))
            else:
                self.empty.append((c0, c1))

    def values(self, coords: np.ndarray) -> np.ndarray:
        """Φ̃_n on ``coords``: (comp, N₁N₂N₃, nao, ngrids) real (each component's classes
        contiguous, ready for :func:`half_transform`)."""
        out = np.empty((self.comp, self.n_classes, self.cell.nao_nr(), len(coords)))
        for c0, c1 in self.empty:
            out[:, c0:c1] = 0.0
        for c0, c1, ls, weights in self.calls:
            vals = _evaluate(
                self.cell, self.feval, coords, self.comp, ls, weights, self.rcut, self.cutoff
            ).swapaxes(0, 1)  # (comp, nw, nao, ngrids)
            out[:, c0:c1:2] = vals.real[:, : (c1 - c0 + 1) // 2]
            out[:, c0 + 1 : c1 : 2] = vals.imag[:, : (c1 - c0) // 2]
        return out


def half_transform(folded: np.ndarray, mesh) -> np.ndarray:
    """Σ_n e^{−i2π m·n/N} Φ̃_n — the Bloch sums at k = −m/N — for the m of the half mesh
    (N₁, N₂, ⌊N₃/2⌋ + 1) that a real FFT (``scipy.fft.rfftn``) over the leading class axes
    keeps: (n_half, *folded.shape[1:]) complex, m in C order (no transposes, no gather). With
    their complex conjugates (k = +m/N) they hold every k of the mesh (:func:`half_rows`)."""
    shape = tuple(int(x) for x in mesh)
    half = scipy.fft.rfftn(folded.reshape(*shape, -1), axes=(0, 1, 2))
    return half.reshape(-1, *folded.shape[1:])


def half_rows(mesh) -> tuple[np.ndarray, np.ndarray]:
    """For every k of the mesh (flat index m, C order): the row of :func:`half_transform` that
    holds it and whether that row holds its complex conjugate, two (N₁N₂N₃,) arrays (int,
    bool). Row r (m in the half mesh) is the Bloch sum at k = −m/N; its conjugate, k = +m/N;
    where both are rows, the direct one is used."""
    shape = tuple(int(x) for x in mesh)
    half_shape = (shape[0], shape[1], shape[2] // 2 + 1)
    m = np.stack(np.unravel_index(np.arange(int(np.prod(half_shape))), half_shape), axis=1)
    rows = np.arange(len(m))
    row = np.empty(int(np.prod(shape)), dtype=np.int64)
    conj = np.empty(len(row), dtype=bool)
    plus = np.ravel_multi_index(tuple(m.T), shape)
    row[plus], conj[plus] = rows, True
    minus = np.ravel_multi_index(tuple(np.mod(-m, shape).T), shape)
    row[minus], conj[minus] = rows, False
    return row, conj


def mesh_transform(folded: np.ndarray, mesh, select: np.ndarray) -> np.ndarray:
    """Σ_n e^{i2π m·n/N} Φ̃_n for the flat mesh indices ``select`` of m: (len(select),
    *folded.shape[1:]) complex, from :func:`half_transform` (rows or their conjugates)."""
    row, conj = half_rows(mesh)
    select = np.asarray(select)
    out = half_transform(folded, mesh)[row[select]]
    flip = conj[select]
    out[flip] = out[flip].conj()
    return out


def mesh_ao_values(
    cell, coords: np.ndarray, kpts: np.ndarray, mesh, deriv: int = 0, cutoff=None
) -> list[np.ndarray]:
    """PySCF's ``eval_ao_kpts`` values — a list over ``kpts`` of ([comp,] ngrids, nao)
    arrays, real at Γ — with the k-points on the Γ-centred ``mesh`` done by the fold and any
    others by PySCF."""
    kpts = np.reshape(kpts, (-1, 3))
    frac = cell.get_scaled_kpts(kpts)
    on = on_mesh(frac, mesh)
    out: list = [None] * len(kpts)
    if on.any():
        mesh = np.asarray(mesh, dtype=int)
        folded = Folder(cell, mesh, deriv, cutoff).values(coords).swapaxes(0, 1)
        values = mesh_transform(folded, mesh, mesh_indices(frac[on], mesh))
        for pos, v in zip(np.flatnonzero(on), values):
            v = v.transpose(0, 2, 1)  # (comp, ngrids, nao), PySCF's layout (a view)
            if abs(kpts[pos]).sum() < 1e-9:
                v = np.ascontiguousarray(v.real)
            out[pos] = v[0] if deriv == 0 else v
    rest = np.flatnonzero(~on)
    if len(rest):
        comp = (deriv + 1) * (deriv + 2) * (deriv + 3) // 6
        feval = ("GTOval_cart_deriv%d" if cell.cart else "GTOval_sph_deriv%d") % deriv
        extra = pbc_eval.eval_gto(cell, feval, coords, comp, kpts[rest], cutoff=cutoff)
        for pos, v in zip(rest, extra):
            out[pos] = v
    return out
