"""Structural checks of dashboard JSON: what Grafana would reject or silently mangle."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dashboards.files import DashboardFile, iter_panels
from dashboards.grafana_sql import variable_names

MAX_SCHEMA_VERSION = 42
GRID_COLUMNS = 24
_UID = re.compile(r"^[a-zA-Z0-9_-]{1,40}$")
# Data source references that are not a data source of ours.
_BUILTIN_DATASOURCES = {"-- Grafana --", "-- Mixed --", "-- Dashboard --", "grafana"}
_BUILTIN_VARIABLES = {
    "__interval",
    "__interval_ms",
    "__rate_interval",
    "__range",
    "__range_s",
    "__range_ms",
    "__from",
    "__to",
    "__dashboard",
    "__org",
    "__user",
    "__name",
    "timeFilter",
}


@dataclass(slots=True, frozen=True)
class Problem:
    """One thing wrong, named by dashboard and (where it applies) panel."""

    dashboard: str
    panel: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.dashboard} / {self.panel}" if self.panel else self.dashboard
        return f"{where}: {self.message}"


def panel_title(panel: dict[str, Any]) -> str:
    """A panel's title, or ``panel <id>`` when it has none (text panels)."""
    return str(panel.get("title") or f"panel {panel.get('id')}")


def datasource_refs(node: Any) -> list[str]:
    """Every data source uid referenced anywhere in ``node`` (a dashboard or part of one)."""
    found: list[str] = []
    if isinstance(node, dict):
        ref = node.get("datasource")
        if isinstance(ref, dict) and ref.get("uid"):
            found.append(str(ref["uid"]))
        elif isinstance(ref, str) and ref:
            found.append(ref)
        for key, value in node.items():
            if key != "datasource":
                found.extend(datasource_refs(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(datasource_refs(item))
    return found


def panel_queries(panel: dict[str, Any]) -> list[tuple[str, str]]:
    """``(refId, rawSql)`` of a panel's SQL targets that Grafana runs (hidden ones skipped)."""
    queries = []
    for target in panel.get("targets") or []:
        if isinstance(target, dict) and target.get("rawSql") and not target.get("hide"):
            queries.append((str(target.get("refId") or "A"), str(target["rawSql"])))
    return queries


def _overlaps(a: dict[str, int], b: dict[str, int]) -> bool:
    return (
        a["x"] < b["x"] + b["w"]
        and b["x"] < a["x"] + a["w"]
        and a["y"] < b["y"] + b["h"]
        and b["y"] < a["y"] + a["h"]
    )


def _check_grid(title: str, panels: list[Any], problems: list[Problem]) -> None:
    placed: list[tuple[str, dict[str, int]]] = []
    for panel in panels:
        if not isinstance(panel, dict):
            problems.append(Problem(title, None, "a panel is not a JSON object"))
            continue
        name = panel_title(panel)
        grid = panel.get("gridPos")
        keys = ("x", "y", "w", "h")
        if not isinstance(grid, dict) or not all(isinstance(grid.get(k), int) for k in keys):
            problems.append(Problem(title, name, "gridPos needs integer x, y, w and h"))
            continue
        box = {k: int(grid[k]) for k in keys}
        if box["x"] < 0 or box["y"] < 0 or box["w"] < 1 or box["h"] < 1:
            problems.append(
                Problem(title, name, f"gridPos {box} has a negative position or an empty size")
            )
        elif box["x"] + box["w"] > GRID_COLUMNS:
            problems.append(
                Problem(
                    title,
                    name,
                    f"gridPos x={box['x']} w={box['w']} reaches "
                    f"past the grid's {GRID_COLUMNS} columns",
                )
            )
        for other_name, other in placed:
            if _overlaps(box, other):
                problems.append(
                    Problem(title, name, f"gridPos {box} overlaps panel {other_name!r} at {other}")
                )
        placed.append((name, box))
        if panel.get("collapsed") and panel.get("panels"):
            _check_grid(title, panel["panels"], problems)


def validate(dashboards: list[DashboardFile], *, datasource_uids: set[str]) -> list[Problem]:
    """Every structural problem in ``dashboards``; empty when they are fine.

    Checks: a stable uid on each (set, well-formed, unique across files, no numeric ``id``
    that would clash between Grafana instances), ``schemaVersion`` at most 42, unique panel ids,
    grid positions inside the 24 columns without overlaps, data source uids that the
    provisioning file defines, and template variables that exist.
    """
    problems: list[Problem] = []
    seen_uids: dict[str, str] = {}
    for dashboard in dashboards:
        model, title = dashboard.model, f"{dashboard.title} ({dashboard.path.name})"
        uid = model.get("uid")
        if not isinstance(uid, str) or not _UID.match(uid):
            problems.append(
                Problem(
                    title,
                    None,
                    f"uid {uid!r} is missing or not 1-40 letters, "
                    "digits, '-' or '_' (a stable uid keeps links "
                    "and the push idempotent)",
                )
            )
        elif uid in seen_uids:
            problems.append(Problem(title, None, f"uid {uid!r} is also used by {seen_uids[uid]}"))
        else:
            seen_uids[uid] = dashboard.path.name
        if model.get("id") is not None:
            problems.append(
                Problem(
                    title,
                    None,
                    "has a numeric 'id'; leave it out (null) so every Grafana assigns its own",
                )
            )
        schema = model.get("schemaVersion")
        if not isinstance(schema, int) or schema > MAX_SCHEMA_VERSION:
            problems.append(
                Problem(
                    title,
                    None,
                    f"schemaVersion {schema!r}: need an integer "
                    f"of at most {MAX_SCHEMA_VERSION} (classic "
                    "JSON)",
                )
            )
        panels = model.get("panels")
        if not isinstance(panels, list):
            problems.append(Problem(title, None, "has no 'panels' list"))
            continue
        ids: dict[object, str] = {}
        for panel in iter_panels(panels):
            pid = panel.get("id")
            if not isinstance(pid, int):
                problems.append(
                    Problem(title, panel_title(panel), f"panel id {pid!r} is not an integer")
                )
            elif pid in ids:
                problems.append(
                    Problem(
                        title, panel_title(panel), f"panel id {pid} is also used by {ids[pid]!r}"
                    )
                )
            else:
                ids[pid] = panel_title(panel)
        _check_grid(title, panels, problems)
        for ref in sorted(set(datasource_refs(model))):
            if (
                ref not in datasource_uids
                and ref not in _BUILTIN_DATASOURCES
                and not ref.startswith("${")
            ):
                problems.append(
                    Problem(
                        title,
                        None,
                        f"data source uid {ref!r} is not in the "
                        "provisioning file (known: "
                        f"{', '.join(sorted(datasource_uids))})",
                    )
                )
        templating = (model.get("templating") or {}).get("list") or []
        defined = {str(v.get("name")) for v in templating if isinstance(v, dict)}
        known = defined | _BUILTIN_VARIABLES
        for panel in iter_panels(panels):
            for ref_id, sql in panel_queries(panel):
                for name in sorted(variable_names(sql) - known):
                    problems.append(
                        Problem(
                            title,
                            panel_title(panel),
                            f"query {ref_id} uses ${name}, which is not a "
                            "template variable of this dashboard",
                        )
                    )
    return problems
