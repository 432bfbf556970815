"""The package's shape: imports go down the layers, no folder cycles, deferred imports say why.

Reads every module's imports (top level and inside functions) with ``ast``; nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nextham

PACKAGE = Path(nextham.__file__).parent

LAYERS: tuple[tuple[str, ...], ...] = (
    ("__init__", "errors", "memory"),
    ("conventions", "config"),
    ("record",),
    ("spectra", "basis", "structures"),
    ("dft",),
    ("store", "formats"),
    ("generate",),
    ("model", "loss"),
    ("bands", "optics", "scf"),
    ("predict",),
    ("evaluate",),
    ("train",),
    ("testing",),
    ("cli",),
)
"""Units of ``nextham/`` (a folder or a top-level module) from the ground floor up. A unit may
import the units of lower rows only; units of the same row stay independent of each other."""

RANK = {unit: rank for rank, row in enumerate(LAYERS) for unit in row}
CLI_HELPERS = {"__init__", "main", "common", "arguments"}
"""Modules of ``cli/`` that are not subcommands (subcommands never import one another)."""
DEFERRED = "# deferred:"


def unit_of(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0].removesuffix(".py")


def target_unit(module: str) -> str | None:
    """Unit of an imported ``nextham…`` module, None for other packages."""
    parts = module.split(".")
    if parts[0] != "nextham":
        return None
    return parts[1] if len(parts) > 1 else "__init__"


def imports(tree: ast.AST) -> list[tuple[ast.stmt, str]]:
    """(node, imported module) of every import; ``from nextham import x`` names ``nextham.x``."""
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            assert node.level == 0, "relative imports are not used"
            if node.module == "nextham":
                for alias in node.names:
                    sub = PACKAGE / alias.name
                    known = sub.is_dir() or sub.with_suffix(".py").is_file()
                    out.append((node, f"nextham.{alias.name}" if known else "nextham"))
            else:
                out.append((node, node.module))
    return out


def function_imports(tree: ast.AST) -> list[tuple[ast.FunctionDef, ast.stmt]]:
    """(enclosing function, import) of every import inside a function."""
    out = []
    for fn in ast.walk(tree):
        if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(fn):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    out.append((fn, node))
    return out


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_unit_has_a_layer():
    units = {unit_of(p) for p in MODULES}
    assert units <= set(RANK), f"add {sorted(units - set(RANK))} to LAYERS"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_go_down(path):
    source = unit_of(path)
    bad = []
    for node, module in imports(ast.parse(path.read_text())):
        target = target_unit(module)
        if target is None or target == source:
            continue
        if RANK[target] >= RANK[source]:
            bad.append(f"line {node.lineno}: {source} (row {RANK[source]}) imports {module} "
                       f"(row {RANK[target]})")  # fmt: skip
    assert not bad, "\n".join(bad)


def test_no_cycle_between_units():
    edges: dict[str, set[str]] = {}
    for path in MODULES:
        source = unit_of(path)
        for _, module in imports(ast.parse(path.read_text())):
            target = target_unit(module)
            if target not in (None, source):
                edges.setdefault(source, set()).add(target)
    seen: dict[str, int] = {}

    def visit(unit: str, stack: list[str]) -> None:
        if seen.get(unit) == 1:
            raise AssertionError(f"import cycle: {' -> '.join([*stack, unit])}")
        if seen.get(unit) == 2:
            return
        seen[unit] = 1
        for nxt in sorted(edges.get(unit, ())):
            visit(nxt, [*stack, unit])
        seen[unit] = 2

    for unit in sorted(edges):
        visit(unit, [])


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_inside_functions_say_why(path):
    """An import inside a function defers a heavy or optional dependency: a ``# deferred:``
    comment between the ``def`` and the import says which and why."""
    lines = path.read_text().splitlines()
    missing = []
    for fn, node in function_imports(ast.parse("\n".join(lines))):
        span = lines[fn.lineno - 1 : node.lineno]
        if not any(DEFERRED in line for line in span):
            missing.append(f"line {node.lineno} (in {fn.name})")
    assert not missing, f"imports inside functions without a '{DEFERRED}' reason: {missing}"


def test_subcommands_do_not_import_each_other():
    commands = {p.stem for p in (PACKAGE / "cli").glob("*.py")} - CLI_HELPERS
    bad = []
    for name in sorted(commands):
        path = PACKAGE / "cli" / f"{name}.py"
        for node, module in imports(ast.parse(path.read_text())):
            parts = module.split(".")
            if parts[:2] == ["nextham", "cli"] and len(parts) > 2 and parts[2] in commands:
                bad.append(f"cli/{name}.py line {node.lineno} imports {module}")
    assert not bad, bad


def test_the_checker_sees_a_violation(tmp_path):
    """The rules fail on code that breaks them (the checks cannot pass vacuously)."""
    tree = ast.parse("def f():\n    from nextham.train.loop import fit\n")
    ((_, module),) = imports(tree)
    assert RANK[target_unit(module)] > RANK["record"]
    assert len(function_imports(tree)) == 1
