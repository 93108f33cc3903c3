"""Writing the open-data dumps: per dataset and per local day and month, CSV and Parquet,
listed with byte size and SHA-256 in ``manifest.json``.

A period is *closed* once it ended (plus a grace time for late uplinks): its files are written
once and never rewritten, so their checksums, ETags and harvested copies stay valid. Open
periods (today, this month) are rewritten on every run.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import orjson
import psycopg
import pyarrow as pa
import pyarrow.parquet as pq

from lorawan.quantities import QUANTITIES
from opendata.datasets import FLOW_QUANTITIES, GROUPS, Dataset, columns_of, people_flow_dataset
from opendata.privacy import PrivacyRule, bucket_aggregate
from storage.opendata import (
    measurement_rows,
    measurement_span,
    site_flow,
    site_span,
    sites_measuring,
)

log = logging.getLogger(__name__)

Granularity = Literal["day", "month"]
MANIFEST = "manifest.json"
MEDIA_TYPES = {"csv": "text/csv", "parquet": "application/vnd.apache.parquet"}


@dataclass(slots=True, frozen=True)
class Period:
    """A local calendar day or month, as a UTC half-open interval."""

    granularity: Granularity
    label: str  # 2026-11-30 or 2026-11
    start: datetime
    end: datetime


@dataclass(slots=True)
class ExportReport:
    """What a run did."""

    written: list[str] = field(default_factory=list)  # paths relative to the output directory
    kept: int = 0  # closed files already there, left alone


def periods(*, first: datetime, last: datetime, tz: ZoneInfo) -> Iterator[Period]:
    """The local days and months from the one holding ``first`` to the one holding ``last``."""
    day = first.astimezone(tz).date()
    last_day = last.astimezone(tz).date()
    month = day.replace(day=1)
    while month <= last_day:
        nxt = (month + timedelta(days=32)).replace(day=1)
        yield Period("month", month.strftime("%Y-%m"), _start(month, tz), _start(nxt, tz))
        month = nxt
    while day <= last_day:
        nxt_day = day + timedelta(days=1)
        yield Period("day", day.isoformat(), _start(day, tz), _start(nxt_day, tz))
        day = nxt_day


def _start(d: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(d, time(0), tzinfo=tz).astimezone(UTC)


def read_manifest(*, out_dir: Path) -> dict[str, Any]:
    """The manifest in ``out_dir``, or an empty one."""
    path = out_dir / MANIFEST
    if not path.exists():
        return {"datasets": {}, "files": []}
    data: dict[str, Any] = orjson.loads(path.read_bytes())
    return data


def export(
    *,
    conn: psycopg.Connection[Any],
    out_dir: Path,
    rule: PrivacyRule,
    timezone: str,
    now: datetime | None = None,
    grace: timedelta = timedelta(hours=1),
) -> ExportReport:
    """Write every dataset's dumps for every period with data into ``out_dir``."""
    tz = ZoneInfo(timezone)
    now = now or datetime.now(UTC)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(out_dir=out_dir)
    files: dict[str, dict[str, Any]] = {f["path"]: f for f in manifest["files"]}
    datasets: dict[str, Any] = dict(manifest["datasets"])
    report = ExportReport()

    todo: list[tuple[Dataset, tuple[datetime, datetime] | None]] = [
        (g, measurement_span(conn=conn, quantities=g.quantities)) for g in GROUPS
    ]
    for site in sites_measuring(conn=conn, quantities=FLOW_QUANTITIES):
        todo.append(
            (
                people_flow_dataset(site=site),
                site_span(conn=conn, site=site, quantities=FLOW_QUANTITIES),
            )
        )

    for dataset, span in todo:
        if span is None:
            continue
        datasets[dataset.id] = _describe(dataset, tz)
        for period in periods(first=span[0], last=span[1], tz=tz):
            closed = period.end + grace <= now
            for fmt in ("csv", "parquet"):
                rel = f"{dataset.id}/{period.granularity}/{dataset.id}_{period.label}.{fmt}"
                entry = files.get(rel)
                if entry is not None and entry["closed"] and (out_dir / rel).exists():
                    report.kept += 1
                    continue
                rows, size, digest = _write(
                    conn=conn,
                    dataset=dataset,
                    period=period,
                    fmt=fmt,
                    path=out_dir / rel,
                    rule=rule,
                    tz=tz,
                )
                files[rel] = {
                    "path": rel,
                    "dataset": dataset.id,
                    "granularity": period.granularity,
                    "period": period.label,
                    "start": _iso(period.start),
                    "end": _iso(period.end),
                    "format": fmt,
                    "media_type": MEDIA_TYPES[fmt],
                    "rows": rows,
                    "bytes": size,
                    "sha256": digest,
                    "closed": closed,
                    "written_at": _iso(now),
                }
                report.written.append(rel)

    manifest = {
        "generated_at": _iso(now),
        "timezone": timezone,
        "privacy": {"k": rule.k, "bucket_minutes": int(rule.bucket.total_seconds() // 60)},
        "datasets": dict(sorted(datasets.items())),
        "files": sorted(files.values(), key=lambda f: f["path"]),
    }
    _atomic_write(out_dir / MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
    log.info(
        "open-data export: %d files written, %d closed files kept", len(report.written), report.kept
    )
    return report


def _describe(dataset: Dataset, tz: ZoneInfo) -> dict[str, Any]:
    return {
        "id": dataset.id,
        "kind": dataset.kind,
        "title": dataset.title,
        "description": dataset.description,
        "theme": dataset.theme,
        "keywords": list(dataset.keywords),
        "site": dataset.site,
        "quantities": [
            {"name": q, "unit": QUANTITIES[q].unit, "description": QUANTITIES[q].description}
            for q in dataset.quantities
        ],
        "columns": [
            {
                "name": c.name,
                "type": str(_arrow_type(c.name, c.arrow, tz)),
                "description": c.description,
            }
            for c in columns_of(dataset)
        ],
    }


def _arrow_type(name: str, arrow: pa.DataType, tz: ZoneInfo) -> pa.DataType:
    return pa.timestamp("us", tz=tz.key) if name.endswith("_local") else arrow


def _iso(t: datetime) -> str:
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if t.microsecond else "%Y-%m-%dT%H:%M:%SZ")


def _local_iso(t: datetime, tz: ZoneInfo) -> str:
    return t.astimezone(tz).isoformat()


def _row_chunks(
    *, conn: psycopg.Connection[Any], dataset: Dataset, period: Period, rule: PrivacyRule
) -> Iterator[list[tuple[Any, ...]]]:
    """Rows of one period in column order, with times as UTC datetimes (locals computed later)."""
    if dataset.kind == "measurements":
        for chunk in measurement_rows(
            conn=conn, quantities=dataset.quantities, start=period.start, end=period.end
        ):
            yield [
                (
                    r.time,
                    r.time,
                    r.dev_eui,
                    r.device_name,
                    r.site,
                    r.latitude,
                    r.longitude,
                    r.quantity,
                    QUANTITIES[r.quantity].unit,
                    r.channel,
                    r.value,
                )
                for r in chunk
            ]
        return
    assert dataset.site is not None
    summed = [q for q in dataset.quantities if bucket_aggregate(q) == "sum"]
    maximum = [q for q in dataset.quantities if bucket_aggregate(q) == "max"]
    cells = site_flow(
        conn=conn,
        site=dataset.site,
        summed=summed,
        maximum=maximum,
        bucket=rule.bucket,
        start=period.start,
        end=period.end,
    )
    yield [
        (
            c.bucket_start,
            c.bucket_start + rule.bucket,
            c.bucket_start,
            dataset.site,
            c.quantity,
            QUANTITIES[c.quantity].unit,
            rule.publish(c.value),
            rule.suppressed(c.value),
            c.devices,
        )
        for c in cells
    ]


def _write(
    *,
    conn: psycopg.Connection[Any],
    dataset: Dataset,
    period: Period,
    fmt: str,
    path: Path,
    rule: PrivacyRule,
    tz: ZoneInfo,
) -> tuple[int, int, str]:
    """Write one file atomically; returns rows, bytes and SHA-256 (hex)."""
    columns = columns_of(dataset)
    names = [c.name for c in columns]
    local = {i for i, n in enumerate(names) if n.endswith("_local")}
    utc = {i for i, c in enumerate(columns) if pa.types.is_timestamp(c.arrow)} - local
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    rows = 0
    if fmt == "csv":
        with tmp.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(names)
            for chunk in _row_chunks(conn=conn, dataset=dataset, period=period, rule=rule):
                for row in chunk:
                    writer.writerow([_csv_cell(v, i, utc, local, tz) for i, v in enumerate(row)])
                rows += len(chunk)
    else:
        schema = pa.schema([pa.field(c.name, _arrow_type(c.name, c.arrow, tz)) for c in columns])
        with pq.ParquetWriter(tmp, schema, compression="zstd") as pw:
            for chunk in _row_chunks(conn=conn, dataset=dataset, period=period, rule=rule):
                if chunk:
                    cols = list(zip(*chunk, strict=True))
                    pw.write_table(
                        pa.table(
                            [
                                pa.array(col, type=f.type)
                                for col, f in zip(cols, schema, strict=True)
                            ],
                            schema=schema,
                        )
                    )
                rows += len(chunk)
    digest = hashlib.sha256()
    with tmp.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    size = tmp.stat().st_size
    os.replace(tmp, path)
    return rows, size, digest.hexdigest()


def _csv_cell(value: Any, i: int, utc: set[int], local: set[int], tz: ZoneInfo) -> str:
    if value is None:
        return ""
    if i in utc:
        return _iso(value)
    if i in local:
        return _local_iso(value, tz)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
