"""Device health: last seen, silence, uplinks per day, frame loss, decode errors, battery."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from api.csv import csv_response, wants_csv
from api.deps import ConnDep, ReadAccess, SettingsDep
from api.errors import BadRequest, NotFound
from api.responses import JsonResponse
from api.time_windows import TIME_FORMATS, time_window
from storage.device_health import SILENT_AFTER_INTERVALS, DeviceHealthRow, device_health
from storage.devices import canonical_dev_eui

router = APIRouter(prefix="/v1", tags=["health"])

FromParam = Annotated[
    str | None,
    Query(
        alias="from",
        description=f"Start of the window (default: 7 days before `to`). {TIME_FORMATS}",
    ),
]
ToParam = Annotated[
    str | None, Query(alias="to", description=f"End of the window (default: now). {TIME_FORMATS}")
]
FormatParam = Annotated[
    Literal["json", "csv"] | None, Query(description="`csv` for CSV (or `Accept: text/csv`)")
]

HEALTH_EXAMPLE: dict[str, Any] = {
    "dev_eui": "a84041000181c5d1",
    "name": "neckar-gauge",
    "site": None,
    "device_type": "dragino-ldds75",
    "last_seen": "2026-12-01T20:55:00+00:00",
    "expected_interval_s": 300,
    "silent_after_s": 900,
    "silent": False,
    "silent_since": None,
    "uplinks": 2011,
    "uplinks_per_day": 287.29,
    "frames_lost": 5,
    "packet_loss": 0.0025,
    "counter_resets": 0,
    "counter_wraps": 0,
    "duplicates": None,
    "decode_errors": 0,
    "battery_quantity": "battery_voltage",
    "battery_latest": 3.49,
    "battery_slope_per_day": -0.0011,
}
COLUMNS = list(HEALTH_EXAMPLE)

_DOC = f"""
Fields: `last_seen` (newest stored uplink), `expected_interval_s` (registered send interval),
`silent` / `silent_since`: nothing heard for more than {SILENT_AFTER_INTERVALS} times the expected
interval (`silent_after_s`), measured against now; `silent_since` is the last uplink then.
Over the window: `uplinks`, `uplinks_per_day`, `frames_lost` and `packet_loss`
(lost / (received + lost)) from frame-counter gaps, where a counter drop is a 16- or 32-bit
wrap if fewer than 1024 frames would be missing across it (those count as lost) and a reset
(rejoin, reboot) otherwise (nothing lost; counted in `counter_resets`); `decode_errors`: dead
letters with reason `codec_error` that name the device, by the time they were stored;
`battery_slope_per_day`: least-squares slope of `battery` (%), else `battery_voltage` (V).
`duplicates` is always null: a redelivered frame is recognised by its frame key and not stored
again, and ingest counts duplicates only in total (`loracity_ingest_duplicates_total` on its
metrics endpoint), not per device.
"""


def _public(row: DeviceHealthRow, *, days: float) -> dict[str, Any]:
    expected = row.uplinks + row.frames_lost
    interval = row.expected_interval_s
    return {
        "dev_eui": row.dev_eui,
        "name": row.name,
        "site": row.site,
        "device_type": row.device_type,
        "last_seen": row.last_seen,
        "expected_interval_s": interval,
        "silent_after_s": interval * SILENT_AFTER_INTERVALS if interval else None,
        "silent": row.silent,
        "silent_since": row.silent_since,
        "uplinks": row.uplinks,
        "uplinks_per_day": round(row.uplinks / days, 2),
        "frames_lost": row.frames_lost,
        "packet_loss": round(row.frames_lost / expected, 4) if expected else None,
        "counter_resets": row.counter_resets,
        "counter_wraps": row.counter_wraps,
        "duplicates": None,
        "decode_errors": row.decode_errors,
        "battery_quantity": row.battery_quantity,
        "battery_latest": row.battery_latest,
        "battery_slope_per_day": (
            None if row.battery_slope_per_day is None else round(row.battery_slope_per_day, 6)
        ),
    }


@router.get(
    "/devices/{dev_eui}/health",
    summary="One device's health",
    description="Health of one device over a window (default: the last 7 days)." + _DOC,
    responses={
        200: {"content": {"application/json": {"example": HEALTH_EXAMPLE}}},
        404: {"description": "No such device"},
        422: {"description": "A malformed DevEUI or time"},
    },
)
async def one_device(
    conn: ConnDep,
    settings: SettingsDep,
    _: ReadAccess,
    dev_eui: Annotated[str, Path(description="16 hex characters", examples=["a84041000181c5d1"])],
    start: FromParam = None,
    end: ToParam = None,
) -> Response:
    try:
        eui = canonical_dev_eui(dev_eui)
    except ValueError as exc:
        raise BadRequest(f"dev_eui: {exc}") from exc
    window = time_window(start=start, end=end, tz=settings.timezone, default_span=timedelta(days=7))
    rows = await device_health(conn=conn, start=window.start, end=window.end, dev_eui=eui)
    if not rows:
        raise NotFound(f"no device {eui}; GET /v1/health/devices lists them")
    days = (window.end - window.start).total_seconds() / 86400
    return JsonResponse(_public(rows[0], days=days))


@router.get(
    "/health/devices",
    summary="Health of every device (e.g. only the silent ones)",
    description="Every device's health over a window (default: the last 7 days), ordered by "
    "DevEUI. CSV columns: " + ", ".join(COLUMNS) + "." + _DOC,
    responses={200: {"content": {"application/json": {"example": [HEALTH_EXAMPLE]}}}},
)
async def all_devices(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    _: ReadAccess,
    silent: Annotated[
        bool | None, Query(description="true: only silent devices; false: only reporting ones")
    ] = None,
    start: FromParam = None,
    end: ToParam = None,
    format: FormatParam = None,
) -> Response:
    window = time_window(start=start, end=end, tz=settings.timezone, default_span=timedelta(days=7))
    rows = await device_health(conn=conn, start=window.start, end=window.end, silent=silent)
    days = (window.end - window.start).total_seconds() / 86400
    out = [_public(r, days=days) for r in rows]
    if wants_csv(request=request, format=format):
        return csv_response(
            columns=COLUMNS, rows=([o[c] for c in COLUMNS] for o in out), filename="health.csv"
        )
    return JsonResponse(out)
