"""Write ``nextham/data/gth_soc_pbe.json``: the spin–orbit coefficients of the GTH-PBE potentials.

Source: CP2K's data file ``data/GTH_SOC_POTENTIALS`` (M. Krack, 2023; GTH parameters of
Goedecker, Teter, Hutter, PRB 54, 1703 (1996), Hartwigsen, Goedecker, Hutter, PRB 58, 3641
(1998) and Krack, TCA 114, 145 (2005), with the spin–orbit coefficients k_ij^l of HGH's
Eq. (19) after each l ≥ 1 block). Only its PBE section is read. Each element is paired with the
potential PySCF loads for ``gth-pbe`` (the one the engine's GTH runs and the MOLOPT-SR basis
families use): same name, same valence, and r_loc, C_i, r_l, h_ij equal to 1e-6; elements
whose potentials differ are listed under ``mismatches`` and get no entry. (PySCF's Na
GTH-PBE-q9 is CP2K's ``GTH-PBE-q9_old``: the entry is found by its parameters, not its name.)

    python benchmarks/gth_soc_data.py PATH/TO/GTH_SOC_POTENTIALS --commit SHA

(the file at that commit of https://github.com/cp2k/cp2k, e.g. from
``git show SHA:data/GTH_SOC_POTENTIALS``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import tempfile
from pathlib import Path

import numpy as np
from ase.data import chemical_symbols
from pyscf.pbc.gto import pseudo

OUT = Path(__file__).resolve().parents[1] / "nextham" / "data" / "gth_soc_pbe.json"
TOL = 1e-6


def pbe_section(text: str) -> list[str]:
    """The lines of the file's PBE section (between its banner and the next functional's)."""
    lines = text.splitlines()
    start = next(n for n, s in enumerate(lines) if s.strip() == "# PBE functional")
    stop = next(
        (n for n in range(start + 1, len(lines)) if lines[n].strip().endswith(" functional")),
        len(lines),
    )
    return lines[start + 1 : stop - 1]


def entries(lines: list[str]) -> list[dict]:
    """Parse every potential: symbol, names, n_elec, r_loc, C_i and per l (r_l, h, k)."""
    out, block = [], []
    for line in [*lines, "#"]:
        if line.startswith("#") or not line.strip():
            if block:
                out.append(_parse(block))
            block = []
        else:
            block.append(line)
    return out


def _upper(tokens: list[str], n: int) -> tuple[np.ndarray, list[str]]:
    """Symmetric (n, n) matrix from its upper triangle, row by row; the rest of the tokens."""
    m, pos = np.zeros((n, n)), 0
    for i in range(n):
        for j in range(i, n):
            m[i, j] = m[j, i] = float(tokens[pos])
            pos += 1
    return m, tokens[pos:]


def _parse(block: list[str]) -> dict:
    head = block[0].split()
    nelec = [int(x) for x in block[1].split()]
    tok = " ".join(block[2:]).split()
    rloc, nexp = float(tok[0]), int(tok[1])
    coef = [float(x) for x in tok[2 : 2 + nexp]]
    tok = tok[2 + nexp :]
    nproj, tok = int(tok[0]), tok[1:]
    soc = bool(tok) and tok[0] == "SOC"
    tok = tok[1:] if soc else tok
    channels = []
    for l in range(nproj):
        r, n, tok = float(tok[0]), int(tok[1]), tok[2:]
        h, tok = _upper(tok, n)
        k = np.zeros((n, n))
        if soc and l > 0:
            k, tok = _upper(tok, n)
        channels.append({"r": r, "h": h, "k": k})
    if tok:
        raise ValueError(f"{head[:2]}: unread tokens {tok[:5]}")
    return {"symbol": head[0], "names": head[1:], "nelec": nelec, "rloc": rloc,
            "c": coef, "channels": channels}  # fmt: skip


def _padded(m: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, n))
    out[: len(m), : len(m)] = m
    return out


def compare(entry: dict, pp: list) -> list[str]:
    """Differences (> TOL) between a parsed entry and PySCF's loaded potential ``pp``."""
    diff = []
    if sum(entry["nelec"]) != sum(pp[0]):
        diff.append(f"valence {sum(entry['nelec'])} vs PySCF {sum(pp[0])}")
    if abs(entry["rloc"] - pp[1]) > TOL:
        diff.append(f"r_loc {entry['rloc']} vs {pp[1]}")
    c_ours, c_pyscf = np.zeros(4), np.zeros(4)
    c_ours[: len(entry["c"])], c_pyscf[: pp[2]] = entry["c"], pp[3]
    if np.abs(c_ours - c_pyscf).max() > TOL:
        diff.append(f"C_i {entry['c']} vs {pp[3]}")
    theirs = pp[5:]
    for l, ch in enumerate(entry["channels"]):
        if l >= len(theirs):
            if np.abs(ch["h"]).max(initial=0) > TOL or np.abs(ch["k"]).max(initial=0) > TOL:
                diff.append(f"l={l} absent in PySCF")
            continue
        r, n = theirs[l][0], theirs[l][1]
        h = np.asarray(theirs[l][2], dtype=float).reshape(n, n)
        size = max(n, len(ch["h"]))
        if n and abs(r - ch["r"]) > TOL:
            diff.append(f"r_{l} {ch['r']} vs {r}")
        if size and np.abs(_padded(ch["h"], size) - _padded(h, size)).max() > TOL:
            diff.append(f"h^{l} differs")
    return diff


def build(text: str, commit: str) -> dict:
    """The package data: per element the potential's name, valence and k_ij^l (l = 1, 2, 3)."""
    parsed = entries(pbe_section(text))
    elements, mismatches = {}, {}
    for z in range(1, 119):
        symbol = chemical_symbols[z]
        try:
            pp = pseudo.load("gth-pbe", symbol)
        except (KeyError, RuntimeError):
            continue
        name = f"GTH-PBE-q{sum(pp[0])}"
        same = [e for e in parsed if e["symbol"] == symbol]
        match = [e for e in same if not compare(e, pp)]
        if not match:
            named = [e for e in same if name in e["names"]]
            why = "; ".join(compare(named[0], pp)) if named else f"no {name}"
            mismatches[symbol] = why
            continue
        found = match
        k = {
            str(l): {"r": ch["r"], "k": ch["k"].tolist()}
            for l, ch in enumerate(found[0]["channels"])
            if l > 0 and np.abs(ch["k"]).max(initial=0) > 0
        }
        elements[symbol] = {"potential": found[0]["names"][0], "valence": sum(pp[0]), "soc": k}
    return {
        "description": (
            "Spin-orbit coefficients k_ij^l (Hartree, HGH's projector normalization; "
            "V_SO = sum_l sum_ij sum_mm' |p_i^lm> k_ij^l <lm|L.S|lm'> <p_j^lm'|, S = sigma/2) "
            "of the GTH-PBE potentials PySCF loads as 'gth-pbe': per element, per l with a "
            "nonzero k, the projector radius r_l (Bohr) and k (n_l, n_l) over the projectors "
            "p_i^l ~ r^(l+2(i-1)) exp(-r^2/(2 r_l^2)); n_l may exceed the scalar part's "
            "projector count (CP2K pads h with zeros there)"
        ),
        "source": "CP2K data/GTH_SOC_POTENTIALS, PBE section (https://github.com/cp2k/cp2k)",
        "source_commit": commit,
        "references": [
            "C. Hartwigsen, S. Goedecker, J. Hutter, Phys. Rev. B 58, 3641 (1998)",
            "M. Krack, Theor. Chem. Acc. 114, 145 (2005)",
            "S. Goedecker, M. Teter, J. Hutter, Phys. Rev. B 54, 1703 (1996)",
        ],
        "pairing": (
            "each element's CP2K entry (named under 'potential') has the valence of PySCF's "
            f"gth-pbe potential and r_loc, C_i, r_l, h_ij equal within {TOL:g} (h padded with "
            "zeros); elements without such an entry are listed under mismatches"
        ),
        "generated": datetime.date.today().isoformat(),
        "generated_by": "benchmarks/gth_soc_data.py",
        "elements": elements,
        "mismatches": mismatches,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", help="CP2K's data/GTH_SOC_POTENTIALS")
    p.add_argument("--commit", required=True, help="the CP2K commit the file was taken from")
    p.add_argument("--out", default=str(OUT))
    args = p.parse_args()
    data = build(Path(args.source).read_text(), args.commit)
    fd, tmp = tempfile.mkstemp(dir=Path(args.out).parent, suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, args.out)
    soc = [s for s, e in data["elements"].items() if e["soc"]]
    print(f"{len(data['elements'])} elements paired ({len(soc)} with k != 0) -> {args.out}")
    for s, why in data["mismatches"].items():
        print(f"  mismatch {s}: {why}")


if __name__ == "__main__":
    main()
