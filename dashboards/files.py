"""Finding and reading the dashboard JSON and the provisioning files (package data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

#: The data source type every loracity panel uses.
POSTGRES_TYPE = "grafana-postgresql-datasource"


class DashboardFileError(Exception):
    """A dashboard or provisioning file that cannot be read; the message names the file."""


@dataclass(slots=True, frozen=True)
class DashboardFile:
    """One dashboard JSON file as read from disk."""

    path: Path
    model: dict[str, Any]

    @property
    def title(self) -> str:
        """The dashboard's title, or its file name when it has none."""
        return str(self.model.get("title") or self.path.name)


def package_root() -> Path:
    """The ``dashboards`` package folder (holds ``json/`` and ``provisioning/``)."""
    return Path(str(resources.files("dashboards")))


def json_dir() -> Path:
    """The folder of the packaged dashboard JSON."""
    return package_root() / "json"


def datasource_file() -> Path:
    """The packaged data source provisioning file."""
    return package_root() / "provisioning" / "datasources" / "loracity.yaml"


def load_dashboards(*, folder: Path) -> list[DashboardFile]:
    """Read every ``*.json`` in ``folder`` (sorted by name).

    Raises :class:`DashboardFileError` for a missing folder, an empty one or invalid JSON.
    """
    if not folder.is_dir():
        raise DashboardFileError(f"{folder}: no such folder")
    files = sorted(folder.glob("*.json"))
    if not files:
        raise DashboardFileError(f"{folder}: no dashboard JSON files (*.json)")
    loaded = []
    for path in files:
        try:
            model = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DashboardFileError(f"{path}: not readable as JSON: {exc}") from exc
        if not isinstance(model, dict):
            raise DashboardFileError(f"{path}: a dashboard is a JSON object, found {type(model)}")
        loaded.append(DashboardFile(path=path, model=model))
    return loaded


def load_datasources(*, path: Path) -> list[dict[str, Any]]:
    """The ``datasources`` entries of a Grafana data source provisioning file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise DashboardFileError(f"{path}: not readable as YAML: {exc}") from exc
    entries = document.get("datasources") if isinstance(document, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise DashboardFileError(f"{path}: no 'datasources' list")
    return entries


def iter_panels(panels: list[Any]) -> list[dict[str, Any]]:
    """Every panel, including those nested in (collapsed) rows, in order."""
    found: list[dict[str, Any]] = []
    for panel in panels:
        if not isinstance(panel, dict):
            continue
        found.append(panel)
        found.extend(iter_panels(panel.get("panels") or []))
    return found
