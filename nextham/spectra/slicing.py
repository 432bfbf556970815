"""Spectrum slicing of sparse pencils H(k) c = ε S(k) c: counts, windows, band edges, E_F.

Counting (exact)
----------------
By Sylvester's law of inertia, with S(k) positive definite, the number of eigenvalues of the
pencil below ε equals the number of negative eigenvalues of the Hermitian matrix H − εS,
i.e. of negative pivots of its LDLᴴ factorization (:mod:`nextham.spectra.direct`: MKL
PARDISO, or SuperLU restricted to diagonal pivots). Cost: one sparse factorization per (k, ε).

Eigenvalues (shift-invert Lanczos)
----------------------------------
States near a target σ: block shift-invert Krylov on (H − σS)⁻¹ S
(:mod:`nextham.spectra.block_krylov`, eight vectors per solve), or where that does not converge
ARPACK (``eigsh``/``eigs`` mode 3) with the same factorization as the operator, relative
residual :data:`ARPACK_TOL`. A window [a, b) is
solved exactly by first counting its states at each k (inertia at a and b), then asking for
that many states nearest the window's centre (plus a margin, doubled until every counted
state is found).

Band edges and the Fermi level
------------------------------
Over the sampled k-points (equal weights) the count N(ε) = Σ_k ν_k(ε) is bisected to a
window holding the wanted global level indices with a few states of slack; the window is then
solved exactly. VBM/CBM are the levels n_occ and n_occ + 1 (n_occ = N_e n_k / g). The Fermi
level follows :func:`nextham.spectra.occupations.fermi_level`: mid-gap for an insulator (gap
wider than ``INSULATOR_GAP_SMEARINGS`` σ, or σ = 0); for a metal the exact levels within
``window_smearings`` σ of μ enter the Fermi–Dirac count, the levels below the window count as
full (error < g N e^{−window_smearings}).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from scipy.optimize import brentq
from scipy.special import expit

from nextham.errors import InputError
from nextham.spectra.block_krylov import nearest_block
from nextham.spectra.direct import Factor, factor_by_size
from nextham.spectra.occupations import INSULATOR_GAP_SMEARINGS

BOUND_MARGIN = 0.05
"""Fraction of the Lanczos spectral width added on each side of the bounds of the spectrum."""
ARPACK_TOL = 1e-10
"""Relative residual of ARPACK's shift-invert Ritz pairs: eigenvalues to ~1e-14 eV (4,096-atom
Si at Γ: the same six levels as at machine precision to 5e-15 eV, 141 solves instead of 244)."""
ARPACK_MIN_NCV = 40
"""Lanczos vectors kept at least (ARPACK's default 2k + 1 restarts more often on clusters)."""
SINGULAR_NUDGE_EV = 1e-9
"""An ε that hits an eigenvalue exactly (zero pivot) is moved by this much, times (1 + |ε|)."""


def factor(h: sp.spmatrix, s: sp.spmatrix, sigma: float) -> Factor:
    """H − σS factored, with its inertia (:func:`nextham.spectra.direct.factor_by_size`)."""
    return factor_by_size((h - sigma * s).tocsr())


@dataclass
class Pencil:
    """The pencil (H(k), S(k)) of one k-point, CSR (M, M), S positive definite."""

    h: sp.spmatrix
    s: sp.spmatrix
    _s_fact: Factor | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def n(self) -> int:
        return self.h.shape[0]

    def s_factor(self) -> Factor:
        """Factorization of S(k), computed once per pencil (Lanczos bounds and KPM share it;
        :func:`nextham.spectra.direct.factor_by_size`)."""
        if self._s_fact is None:
            self._s_fact = factor_by_size(self.s.tocsr(), definite=True)
        return self._s_fact

    def drop_s_factor(self) -> None:
        """Free S(k)'s factorization (made again when next needed): the peak memory of a
        large cell is one factorization, not two."""
        self._s_fact = None

    def factor_near(self, sigma: float) -> tuple[Factor, float]:
        """H − σ'S factored, σ' = σ or σ nudged off an exact eigenvalue; returns (factor, σ')."""
        for attempt in range(4):
            shift = sigma + attempt * SINGULAR_NUDGE_EV * (1.0 + abs(sigma))
            try:
                return factor(self.h, self.s, shift), shift
            except RuntimeError as err:
                if "singular" not in str(err).lower():
                    raise
        raise RuntimeError(f"H − εS stays singular near ε = {sigma} eV")

    def count_below(self, energy: float) -> int:
        """Number of eigenvalues below ``energy`` (eV), by the inertia of H − εS."""
        lu, _ = self.factor_near(energy)
        return lu.negative

    def nearest(self, sigma: float, count: int) -> np.ndarray:
        """The ``count`` eigenvalues nearest ``sigma`` (eV), ascending, by shift-invert."""
        if count <= 0:
            return np.zeros(0)
        if count >= self.n - 1:  # ARPACK needs k < n − 1: a tiny pencil, solved densely
            ev = scipy.linalg.eigh(self.h.toarray(), self.s.toarray(), eigvals_only=True)
            return np.sort(ev[np.argsort(np.abs(ev - sigma))[:count]])
        return self._shift_invert(*self.factor_near(sigma), count)

    def _shift_invert(self, lu: Factor, shift: float, count: int) -> np.ndarray:
        """``count`` eigenvalues nearest ``shift``: block shift-invert Krylov
        (:func:`nextham.spectra.block_krylov.nearest_block`), ARPACK mode 3 where that does
        not converge; ``lu`` factors H − shift S."""
        vals = nearest_block(self.h, self.s, lu, shift, count)
        if vals is not None:
            return vals
        dtype = np.result_type(self.h.dtype, self.s.dtype)
        op = sla.LinearOperator(self.h.shape, matvec=lu.solve, dtype=dtype)
        solver = sla.eigs if np.iscomplexobj(np.zeros(0, dtype)) else sla.eigsh
        ncv = min(self.n - 1, max(2 * count + 1, ARPACK_MIN_NCV))
        vals = solver(
            self.h, k=count, M=self.s, sigma=shift, OPinv=op, which="LM",
            return_eigenvectors=False, tol=ARPACK_TOL, ncv=ncv,
        )  # fmt: skip
        return np.sort(np.real(vals))

    def by_index(self, first: int, count: int, sigma: float) -> np.ndarray:
        """Eigenvalues with ascending index ``first`` … ``first + count − 1`` (0-based), shape
        (count,), by shift-invert around ``sigma`` (eV), which should lie near them."""
        if first < 0 or count < 1 or first + count > self.n:
            raise InputError(
                f"levels {first}..{first + count - 1} asked of a {self.n}-level pencil; ask for "
                "levels inside the spectrum"
            )
        lu, shift = self.factor_near(sigma)
        nu = lu.negative
        want = 2 * max(nu - first, first + count - nu, 1) + 4
        while True:
            m = min(want, self.n)
            if m >= self.n - 1:
                vals = self.nearest(shift, self.n)
            else:
                vals = self._shift_invert(lu, shift, m)
            start = first - (nu - int(np.count_nonzero(vals < shift)))
            if 0 <= start and start + count <= len(vals):
                return vals[start : start + count]
            want *= 2

    def between(self, lo: float, hi: float, n_lo: int, n_hi: int) -> np.ndarray:
        """All eigenvalues in [lo, hi), knowing ν(lo) = ``n_lo`` and ν(hi) = ``n_hi``."""
        want = n_hi - n_lo
        if want <= 0:
            return np.zeros(0)
        extra = 4
        while True:
            count = min(want + extra, self.n)
            vals = self.nearest(0.5 * (lo + hi), count)
            inside = vals[(vals >= lo) & (vals < hi)]
            if len(inside) >= want or count == self.n:
                return inside[:want] if len(inside) > want else inside
            extra *= 2


class Slicer:
    """Counts and exact windows over the pencils of several k-points (equal weights).

    Counts ν(ε) per k are cached, so bisections and windows reuse every factorization's result.
    """

    def __init__(self, pencils: Sequence[Pencil]):
        if not pencils:
            raise InputError("no k-points given; pass at least one k-point")
        self.pencils = list(pencils)
        self._counts: dict[float, np.ndarray] = {}

    @property
    def n_states(self) -> int:
        """Total number of levels over all k-points."""
        return sum(p.n for p in self.pencils)

    def counts(self, energy: float) -> np.ndarray:
        """ν_k(ε) for every k-point, shape (n_k,) int."""
        key = float(energy)
        if key not in self._counts:
            self._counts[key] = np.array([p.count_below(key) for p in self.pencils])
        return self._counts[key]

    def count(self, energy: float) -> int:
        """N(ε) = Σ_k ν_k(ε)."""
        return int(self.counts(energy).sum())

    def levels_between(self, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
        """Exact levels in [lo, hi) over all k: (energies ascending, k index of each)."""
        c_lo, c_hi = self.counts(lo), self.counts(hi)
        vals, ks = [], []
        for q, pencil in enumerate(self.pencils):
            v = pencil.between(lo, hi, int(c_lo[q]), int(c_hi[q]))
            vals.append(v)
            ks.append(np.full(len(v), q))
        e, k = np.concatenate(vals), np.concatenate(ks)
        order = np.argsort(e, kind="stable")
        return e[order], k[order]

    def _narrow(self, lo: float, hi: float, target: int, slack: int, below: bool) -> float:
        """An ε in [lo, hi] with target − slack ≤ N(ε) ≤ target (``below``) or
        target ≤ N(ε) ≤ target + slack, by bisection (N(lo) ≤ target ≤ N(hi))."""
        for _ in range(200):
            n_edge = self.count(lo if below else hi)
            if (below and n_edge >= target - slack) or (not below and n_edge <= target + slack):
                break
            mid = 0.5 * (lo + hi)
            if hi - lo < 1e-10 * (1.0 + abs(mid)):
                break  # a cluster of degenerate levels: the window takes all of it
            n_mid = self.count(mid)
            if (below and n_mid <= target) or (not below and n_mid < target):
                lo = mid
            else:
                hi = mid
        return lo if below else hi

    def levels_by_index(
        self, first: int, last: int, bounds: tuple[float, float], slack: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Global levels with ascending index in [first, last) over all k, exactly.

        ``bounds`` (lo, hi) must hold every level (N(lo) = 0, N(hi) = total). Returns
        (energies, k index of each), shape (last − first,).
        """
        total = self.n_states
        if not 0 <= first < last <= total:
            raise InputError(f"levels {first}..{last - 1} asked of {total} (all k-points)")
        slack = 4 * len(self.pencils) if slack is None else slack
        a = self._narrow(bounds[0], bounds[1], first, slack, below=True)
        b = self._narrow(a, bounds[1], last, slack, below=False)
        e, k = self.levels_between(a, b)
        offset = first - self.count(a)
        return e[offset : offset + last - first], k[offset : offset + last - first]

    def spectral_bounds(self, guess: tuple[float, float]) -> tuple[float, float]:
        """(lo, hi) with N(lo) = 0 and N(hi) = total, widening ``guess`` until it holds."""
        lo, hi = guess
        for _ in range(60):
            width = max(hi - lo, 1.0)
            if self.count(lo) > 0:
                lo -= width
            elif self.count(hi) < self.n_states:
                hi += width
            else:
                return lo, hi
        raise RuntimeError("could not bracket the spectrum")

    def bracket(self, steps: int = 40, verify: bool = True) -> tuple[float, float]:
        """Bounds holding every level: Lanczos Ritz values of each pencil (plus their
        residuals) widened by :data:`BOUND_MARGIN` of the width, then checked (and widened)
        by inertia counts unless ``verify`` is False (two factorizations per k saved)."""
        ritz = np.array([lanczos_bounds(p, steps) for p in self.pencils])
        lo, hi = float(ritz[:, 0].min()), float(ritz[:, 1].max())
        margin = BOUND_MARGIN * max(hi - lo, 1e-3)
        guess = (lo - margin, hi + margin)
        return self.spectral_bounds(guess) if verify else guess


def lanczos_bounds(pencil: Pencil, steps: int = 40, seed: int = 0) -> tuple[float, float]:
    """Extreme Ritz values of S⁻¹H after ``steps`` Lanczos steps in the S inner product.

    Each step is one product with H and one solve with S (factored once). The Ritz values
    lie inside the spectrum; callers widen them (residual and a margin) and check the
    bracket by inertia (:meth:`Slicer.spectral_bounds`).
    Returns (θ_min − r_min, θ_max + r_max) with r the Ritz residual norms (eV).
    """
    n = pencil.n
    m = min(steps, n)
    s_fact = pencil.s_factor() if n > 0 else None
    rng = np.random.default_rng(seed)
    v = rng.normal(size=n).astype(np.result_type(pencil.h.dtype, pencil.s.dtype))
    v /= np.sqrt(np.real(np.vdot(v, pencil.s @ v)))
    v_prev, beta_prev = np.zeros_like(v), 0.0
    alphas, betas = [], []
    for _ in range(m):
        hv = pencil.h @ v
        alpha = float(np.real(np.vdot(v, hv)))
        w = s_fact.solve(hv) - alpha * v - beta_prev * v_prev
        beta = float(np.sqrt(max(np.real(np.vdot(w, pencil.s @ w)), 0.0)))
        alphas.append(alpha)
        betas.append(beta)
        if beta < 1e-10 * (1.0 + abs(alpha)):
            break
        v_prev, v, beta_prev = v, w / beta, beta
    theta, y = scipy.linalg.eigh_tridiagonal(np.array(alphas), np.array(betas[:-1]))
    resid = abs(betas[-1]) * np.abs(y[-1, :])
    return float(theta[0] - resid[0]), float(theta[-1] + resid[-1])


@dataclass(frozen=True)
class BandEdges:
    """Highest occupied and lowest unoccupied level over the sampled k-points (eV).

    ``k_vbm``, ``k_cbm`` are indices into the k-points; ``gap = cbm − vbm`` (≤ 0: a metal or
    a partly filled level).
    """

    vbm: float
    cbm: float
    gap: float
    k_vbm: int
    k_cbm: int


def band_edges(slicer: Slicer, n_occ: int, bounds: tuple[float, float]) -> BandEdges:
    """VBM and CBM: global levels n_occ and n_occ + 1 (1-based) over all k-points.

    ``bounds`` must bracket the spectrum (:meth:`Slicer.spectral_bounds`).
    """
    _check_occupied(n_occ, slicer.n_states)
    e, k = slicer.levels_by_index(n_occ - 1, n_occ + 1, bounds)
    return BandEdges(float(e[0]), float(e[1]), float(e[1] - e[0]), int(k[0]), int(k[1]))


def band_edges_near(pencil: Pencil, n_occ: int, sigma: float) -> BandEdges:
    """VBM and CBM of one pencil (levels n_occ and n_occ + 1) from one factorization at
    ``sigma``, an energy near the gap (e.g. a KPM estimate of E_F): its inertia says how
    many levels lie below, and shift-invert around it finds the two
    (:meth:`Pencil.by_index`). The closer ``sigma`` to the gap, the fewer levels are solved;
    the result is exact wherever ``sigma`` lies."""
    _check_occupied(n_occ, pencil.n)
    vbm, cbm = pencil.by_index(n_occ - 1, 2, sigma)
    return BandEdges(float(vbm), float(cbm), float(cbm - vbm), 0, 0)


def _check_occupied(n_occ: int, n_states: int) -> None:
    """Refuse an occupied-level count with no band edge among ``n_states`` levels."""
    if not 0 < n_occ < n_states:
        raise InputError(
            f"{n_occ} occupied levels of {n_states}: no band edge; check the electron count "
            "of the record"
        )


WINDOW_SMEARINGS = 40.0
"""Half-width, in smearing widths, of the window of exact levels a metal's μ is solved with."""


def sliced_fermi_level(
    slicer: Slicer,
    n_electrons: float,
    smearing_ev: float,
    degeneracy: float,
    bounds: tuple[float, float] | None = None,
    window_smearings: float = WINDOW_SMEARINGS,
    edges: BandEdges | None = None,
) -> float:
    """μ (eV) as :func:`nextham.spectra.occupations.fermi_level`, without all eigenvalues.

    ``n_electrons`` per cell, equal k weights, ``degeneracy`` electrons per level. Insulator:
    the middle of the gap between levels n_occ and n_occ + 1. Metal: Fermi–Dirac count of the
    exact levels within ``window_smearings`` σ of μ plus the levels below the window (full);
    the window is re-centred until μ sits at least ``window_smearings`` − 10 σ inside it.
    ``bounds`` hold every level (default :meth:`Slicer.bracket`); ``edges``: the band edges
    when already known (e.g. :func:`band_edges_near`), else found by bisection from the bounds.
    """
    nk = len(slicer.pencils)
    n_occ = round(n_electrons * nk / degeneracy)
    if n_occ <= 0 or n_occ > slicer.n_states:
        raise InputError(
            f"cannot place {n_electrons} electrons in {slicer.n_states // nk} bands; check the "
            "electron count of the record"
        )
    if n_occ == slicer.n_states:
        top = float(slicer.levels_by_index(n_occ - 1, n_occ, bounds or slicer.bracket())[0][0])
        homo = lumo = top
    else:
        edges = edges or band_edges(slicer, n_occ, bounds or slicer.bracket())
        homo, lumo = edges.vbm, edges.cbm
    if smearing_ev <= 0 or lumo - homo > INSULATOR_GAP_SMEARINGS * smearing_ev:
        return float(0.5 * (homo + lumo))
    target, mu = n_electrons * nk, 0.5 * (homo + lumo)
    half = window_smearings * smearing_ev
    for _ in range(20):
        lo, hi = mu - half, mu + half
        levels, _ = slicer.levels_between(lo, hi)
        n_below = slicer.count(lo)

        def excess(m: float, levels=levels, n_below=n_below) -> float:
            return degeneracy * (n_below + expit((m - levels) / smearing_ev).sum()) - target

        if excess(lo) > 0:
            mu -= 0.5 * half
            continue
        if excess(hi) < 0:
            mu += 0.5 * half
            continue
        new = float(brentq(excess, lo, hi, xtol=1e-12, maxiter=500))
        if min(new - lo, hi - new) >= half - 10.0 * smearing_ev:
            return new
        mu = new
    raise RuntimeError("the Fermi level did not settle inside its window of exact levels")
