"""Open-data dumps: what is in the files is what is in the database; closed periods stay put."""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from opendata.datasets import GROUPS
from opendata.export import export, read_manifest
from opendata.privacy import PrivacyRule
from tests.opendata.conftest import NOW


def _export(url: str, out: Path, *, now: datetime = NOW, k: int = 3) -> list[str]:
    with psycopg.connect(url) as conn:
        report = export(
            conn=conn, out_dir=out, rule=PrivacyRule(k=k), timezone="Europe/Berlin", now=now
        )
    return report.written


def _csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_dumps_reread_equal_the_database(history_url: str, tmp_path: Path) -> None:
    _export(history_url, tmp_path)
    manifest = read_manifest(out_dir=tmp_path)
    files = {f["path"]: f for f in manifest["files"]}
    assert {"air-quality", "climate", "parking", "people-flow-market-square"} <= set(
        manifest["datasets"]
    )
    checked = 0
    with psycopg.connect(history_url) as conn:
        for group in GROUPS:
            for entry in (f for f in files.values() if f["dataset"] == group.id):
                start = datetime.fromisoformat(entry["start"])
                end = datetime.fromisoformat(entry["end"])
                count, total = conn.execute(
                    "SELECT count(*), coalesce(sum(value), 0) FROM measurements"
                    " WHERE quantity = ANY(%s) AND time >= %s AND time < %s",
                    (list(group.quantities), start, end),
                ).fetchone() or (0, 0)
                path = tmp_path / entry["path"]
                data = path.read_bytes()
                assert entry["bytes"] == len(data)
                assert entry["sha256"] == hashlib.sha256(data).hexdigest()
                assert entry["rows"] == count
                if entry["format"] == "csv":
                    rows = _csv(path)
                    assert len(rows) == count
                    assert sum(float(r["value"]) for r in rows) == pytest.approx(total)
                    if rows:
                        assert rows[0]["time_utc"].endswith("Z")
                        # 21:00 UTC is 22:00 in Berlin in November
                        local = datetime.fromisoformat(rows[0]["time_local"])
                        assert local.utcoffset() == timedelta(hours=1)
                        assert local == datetime.fromisoformat(rows[0]["time_utc"])
                else:
                    table = pq.read_table(path)
                    assert table.num_rows == count
                    assert table.schema.field("time_utc").type == pa.timestamp("us", tz="UTC")
                    assert table.schema.field("time_local").type == pa.timestamp(
                        "us", tz="Europe/Berlin"
                    )
                    assert table.schema.field("channel").type == pa.int16()
                    values = table.column("value").to_pylist()
                    assert sum(values) == pytest.approx(total)
                checked += 1
    # 4 groups x (2 days + 1 month) x 2 formats, where the scenario has the group's quantities
    assert checked >= 3 * 3 * 2


def test_periods_follow_the_local_calendar(history_url: str, tmp_path: Path) -> None:
    _export(history_url, tmp_path)
    files = {f["path"]: f for f in read_manifest(out_dir=tmp_path)["files"]}
    day = files["climate/day/climate_2026-11-29.csv"]
    assert (day["start"], day["end"]) == ("2026-11-28T23:00:00Z", "2026-11-29T23:00:00Z")
    assert day["closed"] is True
    assert files["climate/day/climate_2026-11-30.csv"]["closed"] is False
    assert files["climate/month/climate_2026-11.parquet"]["closed"] is False


def test_people_flow_is_aggregated_and_small_counts_suppressed(
    history_url: str, tmp_path: Path
) -> None:
    _export(history_url, tmp_path)
    rows = _csv(tmp_path / "people-flow-market-square/month/people-flow-market-square_2026-11.csv")
    # The same sums straight from the measurements, per 15-minute bucket.
    expected: dict[tuple[str, str], float] = defaultdict(float)
    with psycopg.connect(history_url) as conn:
        for time, quantity, value in conn.execute(
            "SELECT m.time, m.quantity, m.value FROM measurements m JOIN devices d USING (dev_eui)"
            " WHERE d.site = 'market-square' AND m.quantity IN ('people_in', 'people_out')"
        ):
            start = time.astimezone(UTC).replace(
                minute=time.minute // 15 * 15, second=0, microsecond=0
            )
            expected[(start.strftime("%Y-%m-%dT%H:%M:%SZ"), quantity)] += value
    flows = [r for r in rows if r["quantity"] in ("people_in", "people_out")]
    assert len(flows) == len(expected)
    suppressed = 0
    for r in flows:
        start = datetime.fromisoformat(r["bucket_start_utc"])
        assert start.minute % 15 == 0
        assert start.second == 0
        n = expected[(r["bucket_start_utc"], r["quantity"])]
        if r["suppressed"] == "true":
            suppressed += 1
            assert r["value"] == ""
            assert 0 < n < 3
        else:
            assert r["suppressed"] == "false"
            assert float(r["value"]) == pytest.approx(n)
            assert not 0 < n < 3
    # Late evening on the square: some quarters see one or two people, and none is published.
    assert suppressed > 0
    # No published people count anywhere in the dumps is below k (except 0).
    for path in tmp_path.glob("people-flow-*/*/*.parquet"):
        values = pq.read_table(path).column("value").to_pylist()
        assert all(v is None or v == 0 or v >= 3 for v in values)
    # and raw people counts never appear in a measurement group
    for path in tmp_path.glob("*/*/*.csv"):
        if not path.name.startswith("people-flow-"):
            assert not {r["quantity"] for r in _csv(path)} & {"people_in", "wifi_devices"}


def test_closed_periods_are_never_rewritten(history_url: str, tmp_path: Path) -> None:
    _export(history_url, tmp_path)
    closed = {
        p: (tmp_path / p).read_bytes()
        for p in ("climate/day/climate_2026-11-29.csv", "climate/day/climate_2026-11-29.parquet")
    }
    entries = {f["path"]: f for f in read_manifest(out_dir=tmp_path)["files"]}
    # A late value for the closed day arrives, and the next run is a day later.
    with psycopg.connect(history_url) as conn:
        conn.execute(
            "INSERT INTO measurements (time, dev_eui, quantity, value)"
            " SELECT '2026-11-29T22:00:00Z', dev_eui, 'temperature', 99"
            " FROM devices LIMIT 1"
        )
    written = _export(history_url, tmp_path, now=NOW + timedelta(days=1))
    for path, data in closed.items():
        assert (tmp_path / path).read_bytes() == data
        assert path not in written
    after = {f["path"]: f for f in read_manifest(out_dir=tmp_path)["files"]}
    assert (
        after["climate/day/climate_2026-11-29.csv"] == entries["climate/day/climate_2026-11-29.csv"]
    )
    # The day that was open is rewritten once more and is now closed.
    assert "climate/day/climate_2026-11-30.csv" in written
    assert after["climate/day/climate_2026-11-30.csv"]["closed"] is True
    # A third run writes only what is still open (the month).
    third = _export(history_url, tmp_path, now=NOW + timedelta(days=1))
    assert all("/month/" in p for p in third)


def test_manifest_documents_the_columns(history_url: str, tmp_path: Path) -> None:
    _export(history_url, tmp_path)
    manifest: dict[str, Any] = orjson.loads((tmp_path / "manifest.json").read_bytes())
    assert manifest["privacy"] == {"k": 3, "bucket_minutes": 15}
    climate = manifest["datasets"]["climate"]
    names = [c["name"] for c in climate["columns"]]
    assert names[:2] == ["time_utc", "time_local"]
    assert all(c["description"] for c in climate["columns"])
    assert {
        "name": "temperature",
        "unit": "Cel",
        "description": "air or surface temperature",
    } in climate["quantities"]
