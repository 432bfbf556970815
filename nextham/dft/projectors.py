"""GTH nonlocal projector terms as real-space blocks per atom pair (i, j, R), in Hartree.

Both terms are sums over projector centres c (every atom and its periodic images T) of
⟨φ_i0|p_{c,T}⟩ K_c ⟨p_{c,T}|φ_jR⟩ with the projector overlaps computed analytically
(``pyscf.gto.intor_cross`` between a centre's projector functions and the basis functions of
the atom images within reach, :func:`nextham.dft.pairs.image_subcell`):

* the scalar nonlocal pseudopotential, K = ⊕_l h^l ⊗ 1_{2l+1} (``projector_blocks(cell,
  "scalar")``); its Bloch sum is PySCF's ``pp_int.get_pp_nl``;
* the spin–orbit term, K_a = ⊕_l k^l ⊗ L_a, V_SO = Σ_a S_a ⊗ V^a with S = σ/2
  (``projector_blocks(cell, "soc")``, convention in :mod:`nextham.dft.gth_soc`).

A contribution of centre c involves images (i, L₁), (j, L₂) of two atoms near it and goes to
the block (i, j, R = L₂ − L₁), so the cost grows with the atoms times the square of the
neighbours of each projector, never with the square of the cell.

Projectors follow HGH Eq. (3), p_i^l ∝ r^{l+2(i−1)} exp(−r²/2r_l²) normalized, built as PySCF's
``pp_int.fake_cell_vnl`` builds them (one normalized Gaussian shell per l, times r^{2(i−1)}
through ``int1e_r2_origi``/``int1e_r4_origi`` and the factor ``_PLI_FAC``).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from pyscf import gto as molgto
from pyscf.pbc.gto.pseudo.pp_int import _PLI_FAC

from nextham.dft.gth_soc import PAULI_HALF, angular_momentum, soc_channels
from nextham.dft.pairs import ImageTree, concat_ranges, image_subcell

INTORS = ("int1e_ovlp", "int1e_r2_origi", "int1e_r4_origi")
"""⟨g r^{2(i−1)}|φ⟩ for projector i = 1, 2, 3 of a normalized Gaussian shell g."""

DROP = 1e-13
"""Atom images whose largest projector overlap is below this are left out."""


@dataclass(frozen=True)
class Channel:
    """One angular momentum of one atom's projectors: radius r_l (Bohr), scalar h and
    spin–orbit k coefficients (n, n), Hartree, in HGH's normalization."""

    l: int
    r: float
    h: np.ndarray
    k: np.ndarray


def atom_channels(cell, symbol: str, soc: bool) -> list[Channel]:
    """The projector channels of ``symbol`` in ``cell`` (its GTH pseudopotential, and with
    ``soc`` the spin–orbit coefficients of the package data), h and k padded to one size;
    none for an atom without a GTH pseudopotential (ECP or all-electron)."""
    pp = cell._pseudo.get(symbol) if cell._pseudo else None
    if pp is None:
        return []
    scalar = {l: (r, np.asarray(h, float).reshape(n, n)) for l, (r, n, h) in
              enumerate(pp[5:]) if n > 0}  # fmt: skip
    so = soc_channels(symbol) if soc else {}
    out = []
    for l in sorted(set(scalar) | set(so)):
        r_h, h = scalar.get(l, (None, np.zeros((0, 0))))
        r_k, k = so.get(l, (None, np.zeros((0, 0))))
        if r_h is not None and r_k is not None and abs(r_h - r_k) > 1e-6:
            raise ValueError(f"{symbol} l={l}: projector radius {r_h} vs spin-orbit data {r_k}")
        n = max(len(h), len(k))
        pad = [np.zeros((n, n)), np.zeros((n, n))]
        pad[0][: len(h), : len(h)], pad[1][: len(k), : len(k)] = h, k
        out.append(Channel(l, r_h if r_h is not None else r_k, pad[0], pad[1]))
    return out


def projector_mol(channels: list[Channel], centre_bohr: np.ndarray) -> molgto.Mole:
    """A molecule-like object with one normalized Gaussian shell (exponent 1/2r_l²) per channel
    at ``centre_bohr``, in the order of ``channels``."""
    env = np.zeros(molgto.PTR_ENV_START).tolist() + list(centre_bohr)
    bas = []
    for ch in channels:
        alpha = 0.5 / ch.r**2
        bas.append([0, ch.l, 1, 1, 0, len(env), len(env) + 1, 0])
        env += [alpha, molgto.gto_norm(ch.l, alpha)]
    mol = molgto.Mole()
    mol._atm = np.array([[0, molgto.PTR_ENV_START, 1, 0, 0, 0]], dtype=np.int32)
    mol._bas = np.asarray(bas, dtype=np.int32).reshape(-1, molgto.BAS_SLOTS)
    mol._env = np.asarray(env, dtype=float)
    mol.cart = False
    return mol


def projector_overlaps(channels: list[Channel], centre_bohr, basis_mol) -> np.ndarray:
    """A = ⟨p|φ⟩, (P, nao) real: rows (channel, projector i, m) in that nesting, columns the
    basis functions of ``basis_mol`` (any molecule-like object, e.g. an image subcell)."""
    pmol = projector_mol(channels, np.asarray(centre_bohr, dtype=float))
    ints = [molgto.intor_cross(name, pmol, basis_mol, comp=1) for name in INTORS]
    rows, start = [], 0
    for ch in channels:
        nd = 2 * ch.l + 1
        for i in range(len(ch.h)):
            rows.append(_PLI_FAC[ch.l, i] / ch.r ** (2 * i) * ints[i][start : start + nd])
        start += nd
    return np.concatenate(rows) if rows else np.zeros((0, basis_mol.nao_nr()))


def coupling(channels: list[Channel], kind: str) -> np.ndarray:
    """K over the rows of :func:`projector_overlaps`: ``scalar`` (P, P) real ⊕ h ⊗ 1, or
    ``soc`` (3, P, P) complex ⊕ k ⊗ L_a (a = x, y, z)."""
    if kind == "scalar":
        parts = [np.kron(ch.h, np.eye(2 * ch.l + 1)) for ch in channels]
        return _block_diag(parts, ())
    parts = [np.stack([np.kron(ch.k, lm) for lm in angular_momentum(ch.l)]) if ch.l else
             np.zeros((3, len(ch.h), len(ch.h))) for ch in channels]  # fmt: skip
    return _block_diag(parts, (3,))


def _block_diag(parts: list[np.ndarray], lead: tuple) -> np.ndarray:
    size = sum(p.shape[-1] for p in parts)
    dtype = complex if any(np.iscomplexobj(p) for p in parts) else float
    out, at = np.zeros((*lead, size, size), dtype=dtype), 0
    for p in parts:
        n = p.shape[-1]
        out[..., at : at + n, at : at + n] = p
        at += n
    return out


def _reach_bohr(cell, channels: list[Channel]) -> float:
    """Distance beyond which no basis function overlaps a projector of ``channels`` by more
    than :data:`DROP`: e^{−μd²} with μ the reduced exponent of the most diffuse pair, with
    a margin for the polynomial factors (images below DROP are dropped after integration)."""
    ptr, nprim = cell._bas[:, molgto.PTR_EXP], cell._bas[:, molgto.NPRIM_OF]
    alpha_b = float(cell._env[concat_ranges(ptr, nprim)].min())
    alpha_p = min(0.5 / ch.r**2 for ch in channels)
    mu = alpha_b * alpha_p / (alpha_b + alpha_p)
    return 1.25 * math.sqrt(math.log(1.0 / DROP) / mu)


def centre_images(cell, soc: bool = False) -> ImageTree | None:
    """One k-d tree of the atom images within reach of every projector centre of ``cell``
    (None without projectors), so that each centre's images are found in O(log N) instead of
    a scan of every atom."""
    reaches = [
        _reach_bohr(cell, channels)
        for symbol in sorted({cell.atom_symbol(a) for a in range(cell.natm)})
        if (channels := atom_channels(cell, symbol, soc=soc))
    ]
    return ImageTree(cell, max(reaches)) if reaches else None


def centre_contributions(
    cell, c: int, channels: list[Channel], kind: str, images: ImageTree
) -> tuple:
    """The terms of projector centre ``c``: (atom ids (n,), shifts (n, 3), column slices (n, 2),
    M, bound) for the n atom images near c, ordered by orbital count: M = Aᵀ K A over their
    basis functions, (N, N) for ``scalar`` or (3, N, N) for ``soc`` (the imaginary parts of the
    components V^a = Aᵀ (k ⊗ L_a) A, which are purely imaginary), and bound (n,) with
    bound[n₁]·bound[n₂] ≥ every entry of the (n₁, n₂) part of M (Frobenius norms of A's
    columns times the square root of K's spectral norm). ``images``: :func:`centre_images`
    of the cell."""
    centre = cell.atom_coord(c)
    found = images.query(centre[None], _reach_bohr(cell, channels))[0]
    found = np.sort(np.asarray(found, dtype=np.int64))
    ids, shifts = images.atom[found], images.shift[found]
    sub = image_subcell(cell, ids, shifts @ cell.lattice_vectors())
    a = projector_overlaps(channels, centre, sub)
    sl = np.asarray(sub.aoslice_by_atom()[:, 2:4], dtype=np.int64)
    width = sl[:, 1] - sl[:, 0]
    col_max = np.abs(a).max(axis=0, initial=0)
    has = width > 0
    keep = np.flatnonzero(has)[np.maximum.reduceat(col_max, sl[has, 0]) > DROP]
    keep = keep[np.argsort(width[keep], kind="stable")]  # images of one width contiguous
    a = a[:, concat_ranges(sl[keep, 0], width[keep])]
    width = width[keep]
    start = np.cumsum(width) - width
    k = coupling(channels, kind)
    # soc: K_a = k ⊗ L_a is imaginary; M holds Im(Aᵀ K_a A), real arithmetic throughout
    m = a.T @ k @ a if kind == "scalar" else np.stack([a.T @ kx.imag @ a for kx in k])
    norm_k = max(np.linalg.norm(kx, 2) for kx in np.reshape(k, (-1, *k.shape[-2:])))
    col_sq = np.einsum("pn,pn->n", a, a)
    bound = np.sqrt(np.add.reduceat(col_sq, start)) if len(start) else np.zeros(0)
    cols = np.column_stack([start, start + width])
    return ids[keep], shifts[keep], cols, m, bound * norm_k**0.5


def projector_blocks(cell, kind: str = "scalar", threshold: float = 1e-12) -> dict:
    """The projector term ``kind`` in real space, Hartree: (i, j, (R₁, R₂, R₃)) → ⟨φ_i0|V|φ_jR⟩,
    (n_i, n_j) real for ``scalar`` (V_nl), spin-major (2n_i, 2n_j) complex for ``soc`` (V_SO).

    Contributions whose entries are bounded by ``threshold`` (Hartree) are left out. Atoms
    without projectors of that kind (no GTH pseudopotential, or every k zero) add nothing.
    The image pairs of each centre are gathered per pair of orbital counts as arrays and summed
    per key once at the end (sort + ``np.add.reduceat``), never one pair at a time."""
    if kind not in ("scalar", "soc"):
        raise ValueError(f"kind must be 'scalar' or 'soc', got {kind!r}")
    width = np.diff(np.asarray(cell.aoslice_by_atom()[:, 2:4]), axis=1).ravel()
    parts: dict[tuple[int, int], list] = {}
    images = centre_images(cell, soc=kind == "soc")
    for c in range(cell.natm):
        channels = atom_channels(cell, cell.atom_symbol(c), soc=kind == "soc")
        if kind == "soc":
            channels = [ch for ch in channels if ch.l > 0 and np.abs(ch.k).max() > 0]
        if channels:
            terms = centre_contributions(cell, c, channels, kind, images)
            _gather(terms, width, threshold, cell.natm, parts)
    out = {}
    for group in parts.values():
        keys = np.concatenate([k for k, _ in group])
        vals = np.concatenate([v for _, v in group])
        order = np.argsort(keys, kind="stable")
        keys, vals = keys[order], vals[order]
        start = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
        summed = np.add.reduceat(vals, start, axis=0)
        if kind == "soc":  # Σ_a S_a ⊗ V^a, spin-major, V^a = i Im V^a
            n, _, wi, wj = summed.shape
            summed = np.einsum("ast,napq->nsptq", 1j * PAULI_HALF, summed)
            summed = summed.reshape(n, 2 * wi, 2 * wj)
        out.update(zip(_decode(keys[start], cell.natm), summed))
    return out


_OFF = 1000  # lattice shifts |R_a| < _OFF
_SPAN = 2 * _OFF + 1


def _encode(i: np.ndarray, j: np.ndarray, shift: np.ndarray, natm: int) -> np.ndarray:
    code = ((shift[:, 0] + _OFF) * _SPAN + shift[:, 1] + _OFF) * _SPAN + shift[:, 2] + _OFF
    return (i * natm + j) * _SPAN**3 + code


def _decode(keys: np.ndarray, natm: int) -> list[tuple]:
    """Inverse of :func:`_encode`: one (i, j, (R₁, R₂, R₃)) per key."""
    ij, code = np.divmod(keys, _SPAN**3)
    i, j = np.divmod(ij, natm)
    r0, rest = np.divmod(code, _SPAN**2)
    r1, r2 = np.divmod(rest, _SPAN)
    rs = np.column_stack([r0, r1, r2]) - _OFF
    return [(a, b, (x, y, z)) for a, b, (x, y, z) in zip(i.tolist(), j.tolist(), rs.tolist())]


def image_pair_blocks(terms: tuple, width: np.ndarray, threshold: float) -> Iterator[tuple]:
    """One centre's image-pair blocks (its :func:`centre_contributions` ``terms``), one group
    per pair of orbital counts (w_i, w_j): (i (P,), j (P,), R (P, 3), blocks (P, [3,] w_i,
    w_j)) for the pairs whose bound exceeds ``threshold`` (``width``: orbitals per atom)."""
    ids, shifts, cols, m, bound = terms
    w = width[ids]
    lead = m.shape[:-2]
    for wi in np.unique(w):
        n1 = np.flatnonzero(w == wi)  # contiguous (images sorted by width)
        rows = slice(cols[n1[0], 0], cols[n1[-1], 1])
        for wj in np.unique(w):
            n2 = np.flatnonzero(w == wj)
            a, b = np.nonzero(np.outer(bound[n1], bound[n2]) > threshold)
            if not len(a):
                continue
            sub = m[..., rows, cols[n2[0], 0] : cols[n2[-1], 1]]
            sub = sub.reshape(*lead, len(n1), wi, len(n2), wj)
            sub = np.moveaxis(sub, (-4, -2), (0, 1))[a, b]  # (P, [3,] wi, wj)
            yield ids[n1[a]], ids[n2[b]], shifts[n2[b]] - shifts[n1[a]], sub


def _gather(terms: tuple, width: np.ndarray, threshold: float, natm: int, parts: dict) -> None:
    """Append one centre's image-pair blocks, (keys (P,), blocks (P, [3,] w_i, w_j)), to
    ``parts`` under (w_i, w_j), for the pairs whose bound exceeds ``threshold``."""
    for i, j, shift, sub in image_pair_blocks(terms, width, threshold):
        wi, wj = sub.shape[-2:]
        parts.setdefault((int(wi), int(wj)), []).append((_encode(i, j, shift, natm), sub))


def spinor_block(components: np.ndarray) -> np.ndarray:
    """Σ_a S_a ⊗ V^a: (3, n, m) components → spin-major (2n, 2m) complex block."""
    return sum(np.kron(PAULI_HALF[a], components[a]) for a in range(3))


def bloch_sum(cell, blocks: dict[tuple, np.ndarray], kpts: np.ndarray, spinor: bool) -> np.ndarray:
    """Σ_R e^{ik·R} V_ij(R) into PySCF's AO matrices at absolute ``kpts`` (nk, 3) 1/Bohr:
    (nk, M, M) complex, M = nao, or 2 nao in PySCF's GHF order (all ↑ AOs, then all ↓)."""
    kpts = np.reshape(kpts, (-1, 3))
    nao = cell.nao_nr()
    size = 2 * nao if spinor else nao
    rows = [np.arange(p0, p1) for p0, p1 in cell.aoslice_by_atom()[:, 2:4]]
    if spinor:
        rows = [np.concatenate([r, r + nao]) for r in rows]
    out = np.zeros((len(kpts), size, size), dtype=complex)
    lattice = cell.lattice_vectors()
    for (i, j, shift), blk in blocks.items():
        phase = np.exp(1j * kpts @ (np.asarray(shift) @ lattice))
        out[:, rows[i][:, None], rows[j][None, :]] += phase[:, None, None] * blk
    return out


def blocks_for_pairs(blocks: dict[tuple, np.ndarray], edge_index, cell_shift, shape_of) -> list:
    """The blocks of the pairs (i, j, R) given, zeros (of ``shape_of(i, j)``) where the term has
    none."""
    out = []
    for (i, j), shift in zip(np.asarray(edge_index), np.asarray(cell_shift)):
        key = (int(i), int(j), tuple(int(x) for x in shift))
        out.append(blocks[key] if key in blocks else np.zeros(shape_of(int(i), int(j))))
    return out


def add_gth_spin_orbit(mf) -> None:
    """Make the KGKS object ``mf`` include V_SO in its core Hamiltonian wherever it builds one
    (SCF, Fock matrices at band k-points, round-trip and spectral checks), as a Bloch sum of
    :func:`projector_blocks` (``soc``), computed once for ``mf.cell``. Like PySCF's SO-ECP
    term it follows ``mf.with_soc`` (so H0 without spin–orbit switches it off the same way).
    The real-space blocks of ``mf.cell`` are kept as ``mf.nextham_so_blocks``."""
    known = [(mf.cell, projector_blocks(mf.cell, "soc"))]  # (cell, its V_SO blocks)
    mf.nextham_so_blocks = known[0][1]  # the real-space term, for the folded spinor build
    base = mf.get_hcore

    def get_hcore(cell=None, kpts=None):
        cell = mf.cell if cell is None else cell
        kpts = mf.kpts if kpts is None else kpts
        h = np.asarray(base(cell, kpts))
        if not mf.with_soc:
            return h
        blocks = next((b for c, b in known if c is cell), None)
        if blocks is None:
            blocks = projector_blocks(cell, "soc")
            known.append((cell, blocks))
        v = bloch_sum(cell, blocks, np.reshape(kpts, (-1, 3)), spinor=True)
        return h + v.reshape(h.shape)

    mf.get_hcore = get_hcore
