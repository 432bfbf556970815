"""The SAD Fock matrix by PySCF's multigrid integration (fast H0 for GTH scalar runs).

The engine's reference H0 (:func:`nextham.dft.kspace_fock.fock_on_mesh`) evaluates
``get_hcore(k) + get_veff(dm, kpts_band=k)`` with PySCF's FFT density fitting, which costs one
numerical integration per k of the transform mesh for the local pseudopotential, one for
J + V_xc, and an FFT of every orbital per k for the nonlocal pseudopotential. This module
computes the same matrix as

    F(k) = T(k) + V_nl(k) + ⟨φ_k| V_loc + V_H[ρ] + V_xc[ρ] |φ_k⟩,

with T and the GTH nonlocal part V_nl analytic (PySCF ``pbc_intor('int1e_kin')`` and the
projector integrals of ``pp_int.get_pp_nl``, :func:`nonlocal_pp`) and the whole local
potential — the full local pseudopotential on the FFT mesh (the same ``get_vlocG`` as the FFT
path), Hartree and exchange–correlation of the density — integrated once by the multigrid
algorithm, whose Gaussian-pair lattice sums are independent of the number of band k-points
(:mod:`nextham.dft.realspace_grid`). It is several times faster than the reference
(``benchmarks/predict_speed.py``).

Applies to scalar-relativistic cells whose every atom has a GTH pseudopotential and an LDA or
GGA functional (:func:`applies`); anything else (ECPs, spin–orbit, meta-GGA) uses the reference.
The two integration schemes agree closely for most elements but not for all: with hard
pseudopotentials (tight d or 2p functions) the exchange–correlation integrals of the on-site
blocks differ by meV (the FFT mesh under-resolves them, and the two schemes alias
differently). ``auto`` therefore uses this build only for the elements of
:data:`VERIFIED_ELEMENTS`.
"""

from __future__ import annotations

import numpy as np
from pyscf import gto
from pyscf.dft import libxc
from pyscf.gto.ft_ao import ft_aopair
from pyscf.pbc import tools
from pyscf.pbc.gto import pseudo
from pyscf.pbc.gto.pseudo import pp_int

from nextham.dft import multigrid_tasks
from nextham.dft.pairs import image_subcell
from nextham.dft.realspace_grid import local_matrices

try:  # PySCF's multigrid internals (2.x); if they move, every cell takes the reference build
    from pyscf.pbc.dft.multigrid.multigrid import _eval_rhoG
except ImportError:  # pragma: no cover - depends on the installed PySCF
    _eval_rhoG = None


VERIFIED_ELEMENTS = {"szv": {"Si": 0.007, "Ge": 0.024, "Al": 0.001, "As": 0.001}}
"""Per basis family, the elements whose multigrid labels match the engine's reference within
0.1 meV per entry: the largest |ΔH0| or |ΔHT| (meV) over every one of the five
rattled/strained crystals of each composition (Si, Ge, AlAs; gth-szv, PBE, 2×2×2 k), each
reference label rebuilt by ``compute_record(method="multigrid")`` —
``benchmarks/verify_multigrid.sh`` (2026-12-04): Si 0.007 / 0.007, Ge 0.024 / 0.018, AlAs
0.001 / 0.000 (H0 / HT). Measured for H0 and left out (all in on-site blocks): P 0.235 (AlP),
C 0.89, B/N 3.9, Ga 33 meV. The agreement is a property of the basis too (its exponents set
the FFT mesh): in szv-molopt-sr one Si₂ cell differs by 1.3 meV (O 4.5, NaCl 8.7 / 25 meV,
2026-12-05), so no element of that family is verified."""


def verified(cell, basis: str) -> bool:
    """Whether every element of ``cell`` is verified in the basis family ``basis``
    (:data:`VERIFIED_ELEMENTS`)."""
    known = VERIFIED_ELEMENTS.get(basis, {})
    return all(cell.atom_pure_symbol(a) in known for a in range(cell.natm))


def applies(cell, xc: str) -> bool:
    """True when :func:`sad_fock` reproduces the reference Fock build for this cell and functional.

    Needs a GTH pseudopotential on every atom (no ECP, no all-electron atom) and an LDA or GGA
    functional (and PySCF's multigrid internals this module calls)."""
    if _eval_rhoG is None or getattr(cell, "_ecp", None):
        return False
    symbols = {cell.atom_symbol(a) for a in range(cell.natm)}
    if not cell._pseudo or not symbols <= set(cell._pseudo):
        return False
    return libxc.xc_type(xc) in ("LDA", "GGA")


def atomic_blocks(cell, dm: np.ndarray) -> list[np.ndarray] | None:
    """Per-atom diagonal blocks of ``dm`` (nkpts, nao, nao) when it is a superposition of
    atomic densities — the same at every k and zero between atoms (the SAD guess) — else None."""
    dm = np.asarray(dm).reshape(-1, *np.shape(dm)[-2:])
    if np.abs(dm - dm[:1]).max() > 1e-12:
        return None
    rest = np.array(dm[0], dtype=complex)
    blocks = []
    for p0, p1 in cell.aoslice_by_atom()[:, 2:4]:
        blocks.append(rest[p0:p1, p0:p1].real.copy())
        rest[p0:p1, p0:p1] = 0
    return blocks if np.abs(rest).max() < 1e-12 and np.abs(dm[0].imag).max() < 1e-12 else None


def _atom_pair_mol(cell, atom: int, shift: np.ndarray) -> gto.Mole:
    """The atom's basis at the origin and at ``shift`` (Bohr), as a molecule."""
    symbol = cell.atom_symbol(atom)
    atoms = [[symbol, (0, 0, 0)], [symbol, tuple(shift)]]
    basis = {symbol: cell._basis[symbol]}
    return gto.M(atom=atoms, unit="Bohr", basis=basis, spin=0, cart=cell.cart, verbose=0)


def bvk_shifts(cell, kpts: np.ndarray) -> np.ndarray:
    """(n, 3) Cartesian lattice vectors R (Bohr) with e^{ik·R} = 1 at every k of ``kpts`` and
    |R| ≤ 2 ``cell.rcut``, R = 0 first: where a k-independent density matrix D(k) = D puts
    D(R) = D (the Born–von Kármán images of the k-mesh)."""
    a = cell.lattice_vectors()
    radius = 2 * cell.rcut
    nmax = np.ceil(radius * np.linalg.norm(np.linalg.inv(a), axis=0)).astype(int)
    grid = np.stack(np.meshgrid(*[np.arange(-m, m + 1) for m in nmax], indexing="ij"), -1)
    cart = grid.reshape(-1, 3) @ a
    phase = np.exp(1j * np.reshape(kpts, (-1, 3)) @ cart.T)
    keep = (np.abs(phase - 1).max(axis=0) < 1e-8) & (np.linalg.norm(cart, axis=1) <= radius)
    cart = cart[keep]
    return cart[np.argsort(np.linalg.norm(cart, axis=1), kind="stable")]


SF_CHUNK_BYTES = 2.5e8
"""Largest (atoms × m1 m2) complex factor of :func:`structure_factor_sums` at once."""


def structure_factor_sums(cell, mesh, groups: list[list[int]]) -> np.ndarray:
    """Σ_{a ∈ group} e^{−iG·r_a} on the FFT mesh for each group of atoms, (ngroups, ngrids).

    Equals sums of rows of PySCF's ``cell.get_SI(mesh=mesh)`` (same G order), computed
    without the per-atom array: e^{−iG·r} factorises over the three reciprocal directions, and
    the sum over atoms of the product is one matrix product per group, taken over chunks of
    atoms so that the (atoms × m1 m2) factor stays within :data:`SF_CHUNK_BYTES`."""
    mesh = np.asarray(mesh)
    if cell.dimension == 3:  # the integer frequencies, without the (ngrids, 3) G vectors
        base = [np.fft.fftfreq(m, 1.0 / m) for m in mesh]
    else:
        base = cell.get_Gv_weights(mesh)[1]
    rb = cell.atom_coords() @ cell.reciprocal_vectors().T  # (natm, 3), G·r = Σ_d rb_d n_d
    out = np.zeros((len(groups), int(np.prod(mesh))), dtype=complex)
    step = max(1, int(SF_CHUNK_BYTES // (16 * mesh[0] * mesh[1])))
    for g, atoms in enumerate(groups):
        for a0 in range(0, len(atoms), step):
            part = np.asarray(atoms[a0 : a0 + step])
            fx, fy, fz = (np.exp(-1j * np.outer(rb[part, d], base[d])) for d in range(3))
            xy = (fx[:, :, None] * fy[:, None, :]).reshape(len(part), -1)  # (n, m1 m2)
            out[g] += (xy.T @ fz).reshape(-1)
    return out


def atom_groups(cell, blocks: list[np.ndarray] | None = None) -> list[list[int]]:
    """Atoms grouped by element (and, given ``blocks``, by identical density block), in the
    order of first appearance."""
    groups: dict[tuple, list[int]] = {}
    for a in range(cell.natm):
        key = (cell.atom_symbol(a), b"" if blocks is None else blocks[a].tobytes())
        groups.setdefault(key, []).append(a)
    return list(groups.values())


def superposition_density_g(
    cell, blocks: list[np.ndarray], mesh, kpts: np.ndarray | None = None, known=None, gv=None
) -> np.ndarray:
    """ρ(G) = ∫_cell ρ(r) e^{−iG·r} dr of atomic density blocks, (ngrids,) complex.

    The density matrix is D(k) = blockdiag(D_a) at every k of ``kpts`` (default Γ only), i.e.
    D(R) = blockdiag(D_a) on the Born–von Kármán lattice of that mesh (:func:`bvk_shifts`), so
    ρ = Σ_a Σ_R Σ_μν D_a,μν φ_μ(r − R_a) φ_ν(r − R_a − R). Each distinct atom's Gaussian-pair
    Fourier transforms are analytic (images with overlap < 1e-12 dropped), then the summed
    structure factors of its group (:func:`structure_factor_sums`) place the atoms.
    ``known``: (groups, their structure factor sums) computed already, used where the groups
    are this density's; ``gv``: the mesh's G vectors, where computed already."""
    gv = cell.get_Gv(mesh) if gv is None else gv
    shifts = bvk_shifts(cell, np.zeros((1, 3)) if kpts is None else kpts)
    groups = atom_groups(cell, blocks)
    if known is not None and known[0] == groups:
        sf = known[1]
    else:
        sf = structure_factor_sums(cell, mesh, groups)
    rho = np.zeros(len(gv), dtype=complex)
    for atoms, phase in zip(groups, sf):
        rho += _atom_density_g(cell, atoms[0], blocks[atoms[0]], shifts, gv) * phase
    return rho


RADIAL_MAX_SHARE = 0.25
""":func:`_atom_density_g` evaluates a spherical atom on the distinct |G| only when they are
at most this share of the mesh (cubic and orthorhombic cells; not triclinic ones)."""


def _atom_density_g(cell, atom: int, block, shifts, gv) -> np.ndarray:
    """Σ_R Σ_μν D_μν FT[φ_μ(r) φ_ν(r − R)](G) for one atom at the origin, (ngrids,)."""
    if len(shifts) == 1:  # the atom's own density only (a large cell at Γ)
        radial = _radial_density_g(cell, atom, block, gv)
        if radial is not None:
            return radial
    out = np.zeros(len(gv), dtype=complex)
    step = max(1, int(2e6 // max(block.size, 1)))  # ≈ 32 MB of transforms per call
    for shift in shifts:
        mol = _atom_pair_mol(cell, atom, shift)
        nb = mol.nbas // 2
        if np.linalg.norm(shift) > 0:
            ovlp = mol.intor("int1e_ovlp", shls_slice=(0, nb, nb, 2 * nb))
            if np.abs(ovlp).max() < 1e-12:
                continue
        for g0 in range(0, len(gv), step):
            ft = ft_aopair(mol, gv[g0 : g0 + step], shls_slice=(0, nb, nb, 2 * nb))
            out[g0 : g0 + step] += np.einsum("gij,ij->g", ft, block)
    return out


def _radial_density_g(cell, atom: int, block, gv) -> np.ndarray | None:
    """The atom's own density FT[Σ_μν D_μν φ_μ φ_ν](G), (ngrids,), from its values on the
    distinct |G| of the mesh (along x), where the density is spherical (checked on eight
    vectors of the mesh: the SAD atom is) and the distinct |G| are few
    (:data:`RADIAL_MAX_SHARE`); else None."""
    g2 = np.einsum("gx,gx->g", gv, gv)
    _, first, where = np.unique(np.round(g2, 9), return_index=True, return_inverse=True)
    if len(first) > RADIAL_MAX_SHARE * len(gv):
        return None
    mol = _atom_pair_mol(cell, atom, np.zeros(3))
    nb = mol.nbas // 2

    def ft(vectors: np.ndarray) -> np.ndarray:
        pairs = ft_aopair(mol, vectors, shls_slice=(0, nb, nb, 2 * nb))
        return np.einsum("gij,ij->g", pairs, block)

    on_x = np.zeros((len(first), 3))
    on_x[:, 0] = np.sqrt(g2[first])  # one exact |G| of each distinct value
    values = ft(on_x)
    probe = np.random.default_rng(0).choice(len(gv), min(8, len(gv)), replace=False)
    if np.abs(ft(gv[probe]) - values[where[probe]]).max() > 1e-10 * np.abs(values).max():
        return None
    return values[where]


def density_g(
    ni, cell, dm, kpts: np.ndarray, xctype: str, blocks=None, known=None, gv=None
) -> np.ndarray:
    """(1 or 4, ngrids) density (and, for GGA, its gradient iGρ) in multigrid's convention;
    ``blocks``: the per-atom blocks of a SAD ``dm`` where the caller has them (``dm`` unused);
    ``known``, ``gv``: structure factor sums (:func:`superposition_density_g`) and the mesh's G
    vectors where the caller has them."""
    blocks = atomic_blocks(cell, dm) if blocks is None else blocks
    if blocks is None:
        return _eval_rhoG(ni, dm, 1, kpts, 0 if xctype == "LDA" else 1, xctype=xctype)[0]
    rho = superposition_density_g(cell, blocks, ni.mesh, kpts, known, gv)
    if xctype == "LDA":
        return rho[None]
    gv = cell.get_Gv(ni.mesh) if gv is None else gv
    return np.concatenate([rho[None], 1j * rho[None] * gv.T])


def local_potential_g(ni, cell, xc: str, dm, kpts: np.ndarray, blocks=None) -> np.ndarray:
    """The local potential V_loc + V_H + V_xc of density ``dm`` in G space, (ngrids,) complex
    (``blocks``: see :func:`density_g`).

    Scaled as PySCF's multigrid integration expects (the convention of its ``nr_rks``);
    GGA terms are folded into the LDA-like potential through i G · ∂f/∂∇ρ, as there."""
    xctype = libxc.xc_type(xc)
    mesh = np.asarray(ni.mesh)
    ngrids = int(np.prod(mesh))
    gv = cell.get_Gv(mesh)
    groups = atom_groups(cell)  # one local pseudopotential per element
    sf = structure_factor_sums(cell, mesh, groups)  # the density's too where blocks match
    rho_g = density_g(ni, cell, dm, kpts, xctype, blocks, known=(groups, sf), gv=gv)
    weight = cell.vol / ngrids
    rho_r = tools.ifft(rho_g.reshape(-1, ngrids), mesh).real / weight
    rho_in = rho_r[0] if xctype == "LDA" else rho_r
    vxc = ni.eval_xc_eff(xc, rho_in, deriv=1, xctype=xctype)[1]
    wv = tools.fft(weight * np.asarray(vxc), mesh).reshape(-1, ngrids)
    v = wv[0] + rho_g[0] * tools.get_coulG(cell, mesh=mesh, Gv=gv)
    reps = np.array([atoms[0] for atoms in groups])  # V_loc(G) of one atom per group only
    vloc = pseudo.get_vlocG(image_subcell(cell, reps, np.zeros((len(reps), 3))), gv)
    v -= np.einsum("ij,ij->j", sf, vloc)
    if xctype == "GGA":
        v -= np.einsum("xp,px->p", 1j * wv[1:4], gv)
    return v


def sad_fock_split(
    cell, xc: str, dm, kpts: np.ndarray, kband: np.ndarray
) -> tuple[np.ndarray, dict]:
    """The Fock matrix of density ``dm`` (on ``kpts``) in two parts, Hartree.

    Returns
    -------
    fock_k : (nband, nao, nao) complex at the band k-points: T, V_nl and the local potential
        of the multigrid's plain-FFT task
    by_shift : dict, integer lattice shift R → (nao, nao) real ⟨φ_i(r)|v|φ_j(r − R)⟩ of the
        local potential's other tasks (:func:`nextham.dft.realspace_grid.local_matrices`)

    F(k) = fock_k + Σ_R e^{ik·R} by_shift[R] (:func:`sad_fock`).
    """
    ni = multigrid_tasks.numint_for(cell)
    kpts, kband = np.reshape(kpts, (-1, 3)), np.reshape(kband, (-1, 3))
    v_g = local_potential_g(ni, cell, xc, np.asarray(dm), kpts)
    by_shift, fock = local_matrices(ni, cell, v_g, kband)
    fock += np.asarray(cell.pbc_intor("int1e_kin", 1, 1, kband)).reshape(fock.shape)
    fock += nonlocal_pp(cell, kband).reshape(fock.shape)
    return fock, by_shift


def nonlocal_pp(cell, kpts: np.ndarray) -> np.ndarray:
    """GTH nonlocal pseudopotential at ``kpts``, (nk, nao, nao) complex, Hartree.

    PySCF's ``pp_int.get_pp_nl`` (same projector integrals), with the contraction
    Σ_a Σ_ij ⟨φ|p_ai⟩ h_ij ⟨p_aj|φ⟩ done as one matrix product per k and distinct projector
    set instead of one small product per atom, angular momentum and k."""
    kpts = np.reshape(kpts, (-1, 3))
    if not hasattr(pp_int, "_int_vnl"):  # PySCF internals moved: its own (slower) contraction
        return np.asarray(pp_int.get_pp_nl(cell, kpts), dtype=complex).reshape(
            len(kpts), *2 * (cell.nao_nr(),)
        )
    fakecell, hl_blocks = pp_int.fake_cell_vnl(cell)
    nao = cell.nao_nr()
    out = np.zeros((len(kpts), nao, nao), dtype=complex)
    if not hl_blocks:
        return out
    half = pp_int._int_vnl(cell, fakecell, hl_blocks, kpts)
    groups: dict[bytes, tuple[np.ndarray, list]] = {}
    offset = [0, 0, 0]
    for ib, hl in enumerate(hl_blocks):
        nd = 2 * fakecell.bas_angular(ib) + 1
        rows = []
        for i in range(hl.shape[0]):
            rows.append((i, offset[i], nd))
            offset[i] += nd
        key = np.asarray(hl).tobytes() + bytes([nd])
        groups.setdefault(key, (np.asarray(hl), []))[1].append(rows)
    nk = len(kpts)
    for hl, members in groups.values():
        # ilp[m, i, k, d, p] = ⟨p_m,i,d | φ_k,p⟩ (member m, channel i, component d)
        ilp = np.stack(
            [np.stack([half[i][:, p0 : p0 + nd] for i, p0, nd in rows]) for rows in members]
        )
        right = np.einsum("ij,mjkdq->kmidq", hl, ilp).reshape(nk, -1, nao)
        left = ilp.transpose(2, 0, 1, 3, 4).conj().reshape(nk, -1, nao)
        out += np.matmul(left.transpose(0, 2, 1), right)
    return out


def sad_fock(cell, xc: str, dm, kpts: np.ndarray, kband: np.ndarray) -> np.ndarray:
    """Fock matrices (Hartree) of density ``dm`` given on ``kpts`` at the band k-points.

    Parameters
    ----------
    cell : built pyscf.pbc.gto.Cell (GTH pseudopotentials, see :func:`applies`)
    xc : functional name (LDA or GGA)
    dm : (nkpts, nao, nao) density matrices on ``kpts``
    kpts, kband : (nkpts, 3), (nband, 3) absolute k-points (1/Bohr)

    Returns
    -------
    (nband, nao, nao) complex Fock matrices, Hermitian
    """
    fock, by_shift = sad_fock_split(cell, xc, dm, kpts, kband)
    a = cell.lattice_vectors()
    for shift, mat in by_shift.items():
        fock += (
            np.exp(1j * np.reshape(kband, (-1, 3)) @ (np.asarray(shift) @ a))[:, None, None] * mat
        )
    return fock


def add_shift_blocks(
    blocks: list, by_shift: dict, edge_index, cell_shift, ao_slices, mesh: tuple[int, int, int]
) -> None:
    """Add the real-space part to each pair's block (i, j, R), in place.

    Adds Σ_{R' ≡ R mod mesh} ``by_shift[R'][i rows, j cols]``: exactly what a Fourier transform
    from the Γ-centred k-mesh ``mesh`` gives (it folds the images R' beyond its Born–von Kármán
    supercell onto R), so the blocks equal those of the engine's k-space transform."""
    n = np.asarray(mesh, dtype=int)
    folded: dict[tuple, np.ndarray] = {}
    for shift, mat in by_shift.items():
        key = tuple(int(x) for x in np.mod(shift, n))
        folded[key] = folded[key] + mat if key in folded else mat.copy()
    for e, ((i, j), shift) in enumerate(zip(edge_index, cell_shift)):
        mat = folded.get(tuple(int(x) for x in np.mod(shift, n)))
        if mat is not None:
            rows, cols = slice(*ao_slices[i]), slice(*ao_slices[j])
            blocks[e] = blocks[e] + mat[rows, cols]
