"""The layout holds: layers import only downwards, no cycles, small modules, no private imports.

The layer contract itself is import-linter's (``[tool.importlinter]`` in pyproject.toml); these
tests run it and add what it does not check: cycles between modules inside a layer, imports of
another module's private names, imports hidden inside functions, and the size of modules and
functions that keeps the code readable.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import grimp
import pytest
from conftest import ROOT

PACKAGE = ROOT / "simfunnel"
SOURCES = sorted(PACKAGE.rglob("*.py"))
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 80
# Libraries loaded on first use, inside the function that needs them: each costs a noticeable
# share of a second to import, and most runs never need it.
LAZY_LIBRARIES = {"matplotlib", "statsmodels", "tqdm", "jinja2", "scipy", "difflib", "openpyxl"}
# The command line may load what a command needs only when that command runs, so that
# `simfunnel --help` and a mistyped option answer at once.
LAZY_LAYERS_ALLOWED_IN = ("cli",)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def test_the_layer_contract_holds() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


def test_no_module_imports_itself_back_through_others() -> None:
    # Imports for type hints only (under TYPE_CHECKING) run nowhere, so they close no cycle.
    graph = grimp.build_graph("simfunnel", cache_dir=None, exclude_type_checking_imports=True)
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported.startswith(importer + "."):
                continue  # a package's __init__ importing its own modules
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back is not None and not importer.startswith(imported + "."):
                cycles.append(" -> ".join((importer, *back)))
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def _imports_in_functions(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    found: list[ast.Import | ast.ImportFrom] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found += [n for n in ast.walk(node) if isinstance(n, ast.Import | ast.ImportFrom)]
    return found


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_sit_at_the_top_unless_loaded_on_use(path: Path) -> None:
    if path.relative_to(PACKAGE).parts[0] in LAZY_LAYERS_ALLOWED_IN:
        return
    hidden = []
    for node in _imports_in_functions(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.level > 0:
            hidden.append(f"line {node.lineno}: from {'.' * node.level}{node.module} import")
            continue
        names = (
            [node.module or ""]
            if isinstance(node, ast.ImportFrom)
            else [a.name for a in node.names]
        )
        hidden += [
            f"line {node.lineno}: import {n}"
            for n in names
            if n.split(".")[0] not in LAZY_LIBRARIES
        ]
    assert not hidden, f"{path.name}: imports inside functions:\n" + "\n".join(hidden)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_imports_another_module_s_private_names(path: Path) -> None:
    private = [
        f"line {node.lineno}: {alias.name} from {'.' * node.level}{node.module or ''}"
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert not private, f"{path.name} imports private names:\n" + "\n".join(private)


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_and_functions_stay_small(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count("\n") <= MAX_MODULE_LINES, f"{path.name}: {text.count(chr(10))} lines"
    long = [
        f"{node.name} (line {node.lineno}): {node.end_lineno - node.lineno + 1} lines"
        for node in ast.walk(_tree(path))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert not long, f"{path.name}: functions over {MAX_FUNCTION_LINES} lines:\n" + "\n".join(long)
    assert "fmt: skip" not in text, f"{path.name}: let the formatter lay the code out"


def test_every_package_says_what_belongs_there() -> None:
    for init in sorted(PACKAGE.glob("*/__init__.py")):
        doc = ast.get_docstring(_tree(init))
        assert doc and len(doc.split()) >= 6, f"{_module_name(init)}: no package docstring"
