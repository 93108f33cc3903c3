"""Structural checks of dashboard JSON: each rule fails on the JSON that breaks it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from dashboards.check import datasource_uids
from dashboards.files import DashboardFile, datasource_file, json_dir, load_dashboards
from dashboards.validate import validate

UIDS = {"loracity-postgres"}


def _one(model: dict[str, Any]) -> list[str]:
    return [str(p) for p in validate([DashboardFile(Path("x.json"), model)], datasource_uids=UIDS)]


def _base() -> dict[str, Any]:
    return copy.deepcopy(
        next(
            d.model
            for d in load_dashboards(folder=json_dir())
            if d.path.name == "network-health.json"
        )
    )


def test_packaged_dashboards_are_valid_and_use_the_provisioned_datasource() -> None:
    dashboards = load_dashboards(folder=json_dir())
    assert {d.model["uid"] for d in dashboards} == {
        "loracity-city-overview",
        "loracity-people-flow",
        "loracity-public-transport",
        "loracity-environment",
        "loracity-network-health",
    }
    assert datasource_uids(path=datasource_file()) == UIDS
    assert validate(dashboards, datasource_uids=UIDS) == []
    for d in dashboards:
        names = {v["name"] for v in d.model["templating"]["list"]}
        assert "timezone" in names
        assert d.model["schemaVersion"] <= 42


def test_overlapping_and_overflowing_panels_are_reported() -> None:
    model = _base()
    first, second = model["panels"][0], model["panels"][1]
    second["gridPos"] = dict(first["gridPos"])
    model["panels"][2]["gridPos"]["x"] = 20  # w=8 from x=20 reaches column 28
    problems = _one(model)
    assert any(f"{second['title']}: gridPos" in p and "overlaps panel" in p for p in problems)
    assert any("reaches past the grid's 24 columns" in p for p in problems)


def test_duplicate_panel_id_schema_version_and_foreign_datasource_are_reported() -> None:
    model = _base()
    model["panels"][1]["id"] = model["panels"][0]["id"]
    model["schemaVersion"] = 43
    model["panels"][0]["targets"][0]["datasource"] = {
        "type": "grafana-postgresql-datasource",
        "uid": "someone-elses",
    }
    problems = "\n".join(_one(model))
    assert f"panel id {model['panels'][0]['id']} is also used by" in problems
    assert "schemaVersion 43: need an integer of at most 42" in problems
    assert "data source uid 'someone-elses' is not in the provisioning file" in problems


def test_missing_uid_and_unknown_variable_are_reported() -> None:
    model = _base()
    del model["uid"]
    model["panels"][0]["targets"][0]["rawSql"] += " AND site IN ($sites)"
    problems = "\n".join(_one(model))
    assert "uid None is missing" in problems
    assert "uses $sites, which is not a template variable of this dashboard" in problems
