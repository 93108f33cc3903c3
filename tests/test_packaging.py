"""The wheel is what `pip install`, the Docker image and a PyPI upload all install: it must carry
the package data the code reads at run time, and work from outside the source tree.

The wheel is built once per session with ``python -m build`` (no isolation, so no network: the
build backend comes with the test dependencies).
"""

from __future__ import annotations

import email.parser
import os
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Files the wheel must carry, as globs relative to the repository root (** for subfolders).
# Every line must match at least one file. Add a line when a package gains data files.
PACKAGE_DATA = [
    "storage/migrations/*.sql",
    "storage/migrations/timescaledb/*.sql",
    "dashboards/json/**/*.json",
    "dashboards/provisioning/**/*.yaml",
    "api/static/board/**/*",
]


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(out),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, f"python -m build failed:\n{result.stdout}\n{result.stderr}"
    wheels = list(out.glob("loracity-*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


def _wheel_files(wheel: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}


@pytest.mark.parametrize("pattern", PACKAGE_DATA)
def test_wheel_carries_package_data(pattern: str, wheel: Path) -> None:
    sources = sorted(p for p in REPO.glob(pattern) if p.is_file() and "__pycache__" not in p.parts)
    assert sources, f"{pattern} matches no file in the repository"
    files = _wheel_files(wheel)
    for source in sources:
        name = source.relative_to(REPO).as_posix()
        assert name in files, f"the wheel lacks {name}"
        assert files[name] == source.read_bytes(), f"{name} differs in the wheel"


def test_wheel_carries_every_package_and_the_console_script(wheel: Path) -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    files = _wheel_files(wheel)
    for package in packages:
        assert f"{package}/__init__.py" in files, f"the wheel lacks the {package} package"
    stray = sorted(
        {n.split("/", 1)[0] for n in files if "/" in n}
        - set(packages)
        - {n.split("/", 1)[0] for n in files if ".dist-info/" in n}
    )
    assert stray == [], f"the wheel carries folders that are no package: {stray}"
    assert not [n for n in files if n.startswith("tests/") or "__pycache__" in n]
    info = next(n for n in files if n.endswith(".dist-info/entry_points.txt"))
    assert "loracity = loracity.cli:main" in files[info].decode()
    metadata = email.parser.Parser().parsestr(
        files[next(n for n in files if n.endswith(".dist-info/METADATA"))].decode()
    )
    assert metadata["Name"] == "loracity"
    assert metadata["Version"] == pyproject["project"]["version"]


def test_installed_wheel_finds_its_migrations(wheel: Path, tmp_path: Path) -> None:
    """Installed outside the source tree (as in the Docker image), the code reads its SQL
    migrations from the installed package, not from the repository."""
    site = tmp_path / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-compile",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    probe = (
        "import storage, storage.migrate as m; "
        "print(storage.__file__); "
        "print(*(name for name, _ in m._migration_files('') + m._migration_files('timescaledb')))"
    )
    # The dependencies come from this environment; the packages themselves from the wheel,
    # which PYTHONPATH puts first (ahead of the editable install of the source tree).
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    location, names = result.stdout.splitlines()
    assert Path(location).is_relative_to(site), f"imported from {location}, not the wheel"
    expected = [p.name for p in sorted((REPO / "storage" / "migrations").glob("*.sql"))]
    expected += [
        f"timescaledb/{p.name}"
        for p in sorted((REPO / "storage" / "migrations" / "timescaledb").glob("*.sql"))
    ]
    assert names.split() == expected
    help_text = subprocess.run(
        [sys.executable, "-m", "loracity", "--help"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert "ingest" in help_text.stdout
