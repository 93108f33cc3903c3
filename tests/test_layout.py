"""The package layout in docs/architecture.md is the rule, and the imports keep to it.

The table there is read here, so the rule is written once: which loracity packages and which
I/O libraries each package may import (``lorawan`` none of either; services never each other).
"""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "architecture.md"
ANY = "*"


@dataclass(frozen=True)
class Layout:
    """The table: per package, the loracity packages and I/O libraries it may import."""

    io_libraries: frozenset[str]
    packages: dict[str, tuple[frozenset[str], frozenset[str]]]


def _ticked(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def read_layout(doc: Path = DOC) -> Layout:
    """Parse the "I/O libraries" paragraph and the package table of the architecture doc."""
    lines = doc.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("I/O libraries:"))
    paragraph = []
    for line in lines[start:]:
        if not line.strip():
            break
        paragraph.append(line)
    io_libraries = frozenset(_ticked(" ".join(paragraph)))
    packages: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
    for line in lines:
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        assert len(cells) == 4, f"a layout row needs 4 cells: {line}"
        (name,) = _ticked(cells[0])
        packages[name] = (frozenset(_ticked(cells[2])), frozenset(_ticked(cells[3])))
    return Layout(io_libraries=io_libraries, packages=packages)


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):  # imports inside functions and TYPE_CHECKING blocks count too
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def _io_library(module: str, libraries: frozenset[str]) -> str | None:
    for library in libraries:
        if module == library or module.startswith(library + "."):
            return library
    return None


def violations(*, root: Path, layout: Layout) -> list[str]:
    """Every import under ``root`` that its package's row does not allow, as readable lines."""
    problems: list[str] = []
    for package, (may_packages, may_io) in sorted(layout.packages.items()):
        folder = root / package
        if not folder.is_dir():
            continue  # a row for a package being built
        local = {path.stem for path in folder.glob("*.py")}  # bench scripts import each other
        for path in sorted(folder.rglob("*.py")):
            if ".venv" in path.parts:
                continue
            for line, module in _imports(path):
                top = module.split(".")[0]
                where = f"{path.relative_to(root)}:{line} imports {module}"
                if top in layout.packages and top != package:
                    # A row may name one module of another package (`loracity.settings`).
                    modules = [m for m in may_packages if "." in m]
                    named = any(module == m or module.startswith(m + ".") for m in modules)
                    if ANY not in may_packages and top not in may_packages and not named:
                        problems.append(
                            f"{where}, but {package} may import only loracity "
                            f"packages {sorted(may_packages) or 'none'}"
                        )
                    continue
                if package == "bench" and top in local:
                    continue
                library = _io_library(module, layout.io_libraries)
                if library is not None and ANY not in may_io and library not in may_io:
                    problems.append(
                        f"{where}, an I/O library {package} may not use "
                        f"(allowed: {sorted(may_io) or 'none'})"
                    )
    return problems


def test_every_import_keeps_to_the_layout_table() -> None:
    assert violations(root=ROOT, layout=read_layout()) == []


def test_the_table_says_what_the_issue_asks() -> None:
    layout = read_layout()
    lorawan_packages, lorawan_io = layout.packages["lorawan"]
    assert (lorawan_packages, lorawan_io) == (frozenset(), frozenset())
    assert {"psycopg", "paho", "fastapi"} <= layout.io_libraries
    assert layout.packages["devservers"][0] == {"lorawan"}
    for service, other in (("ingest", "api"), ("api", "ingest")):
        assert other not in layout.packages[service][0]
    assert "tests" not in layout.packages["bench"][0]


def test_every_package_that_is_built_or_checked_has_a_row() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    checked = pyproject["tool"]["mypy"]["packages"]
    rows = set(read_layout().packages)
    assert set(wheel) <= rows
    assert set(checked) <= rows
    assert "devservers" in wheel
    assert "devservers" in checked


@pytest.mark.parametrize(
    ("package", "source", "complaint"),
    [
        ("lorawan", "import psycopg\n", "I/O library lorawan may not use"),
        ("lorawan", "def f():\n    from paho.mqtt import client\n", "I/O library"),
        ("lorawan", "from storage.writer import BatchWriter\n", "lorawan may import only"),
        ("ingest", "from api.deps import Pool\n", "ingest may import only"),
        ("devservers", "from storage.migrate import migrate\n", "devservers may import only"),
        ("bench", "from tests.ingest.helpers import Scope\n", "bench may import only"),
    ],
)
def test_the_check_catches_a_forbidden_import(
    tmp_path: Path, package: str, source: str, complaint: str
) -> None:
    (tmp_path / package).mkdir()
    (tmp_path / package / "module.py").write_text(source, encoding="utf-8")
    problems = violations(root=tmp_path, layout=read_layout())
    assert len(problems) == 1
    assert complaint in problems[0]
