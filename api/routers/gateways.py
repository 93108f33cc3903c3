"""Gateways: devices heard, RSSI/SNR statistics and the spreading-factor mix over a window."""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from api.csv import csv_response, wants_csv
from api.deps import ConnDep, ReadAccess, SettingsDep
from api.errors import NotFound
from api.responses import JsonResponse
from api.time_windows import TIME_FORMATS, time_window
from storage.gateways import GatewayRow, get_gateway, list_gateways

router = APIRouter(prefix="/v1", tags=["gateways"])

FromParam = Annotated[
    str | None,
    Query(alias="from", description=f"Start (default: 24 hours before `to`). {TIME_FORMATS}"),
]
ToParam = Annotated[
    str | None, Query(alias="to", description=f"End (default: now). {TIME_FORMATS}")
]

GATEWAY_EXAMPLE: dict[str, Any] = {
    "gateway_id": "market-square-gw",
    "eui": "b827ebfffe000001",
    "latitude": 49.4094,
    "longitude": 8.6928,
    "altitude": 40.0,
    "first_seen": "2026-11-02T08:00:00+00:00",
    "last_seen": "2026-12-01T20:59:00+00:00",
    "receptions": 14210,
    "devices_heard": 23,
    "rssi_avg": -96.4,
    "rssi_min": -121.0,
    "rssi_max": -52.0,
    "snr_avg": 5.1,
    "snr_min": -14.5,
    "snr_max": 12.0,
}
COLUMNS = list(GATEWAY_EXAMPLE)


@router.get(
    "/gateways",
    summary="Gateways with devices heard and RSSI/SNR over a window",
    description="Every gateway seen, with the receptions, distinct devices heard and RSSI (dBm) "
    "/ SNR (dB) average, minimum and maximum in the window (default: the last 24 hours). CSV "
    "columns: " + ", ".join(COLUMNS) + ".",
    responses={200: {"content": {"application/json": {"example": [GATEWAY_EXAMPLE]}}}},
)
async def gateways(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    _: ReadAccess,
    start: FromParam = None,
    end: ToParam = None,
    format: Annotated[Literal["json", "csv"] | None, Query(description="`csv` for CSV")] = None,
) -> Response:
    window = time_window(start=start, end=end, tz=settings.timezone)
    rows = [asdict(r) for r in await list_gateways(conn=conn, start=window.start, end=window.end)]
    if wants_csv(request=request, format=format):
        return csv_response(
            columns=COLUMNS, rows=([r[c] for c in COLUMNS] for r in rows), filename="gateways.csv"
        )
    return JsonResponse(rows)


@router.get(
    "/gateways/{gateway_id}",
    summary="One gateway: devices heard, RSSI/SNR percentiles, spreading-factor mix",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        **GATEWAY_EXAMPLE,
                        "from": "2026-11-30T21:00:00+00:00",
                        "to": "2026-12-01T21:00:00+00:00",
                        "rssi_percentiles": {"p10": -112.0, "p50": -97.0, "p90": -70.0},
                        "snr_percentiles": {"p10": -6.5, "p50": 6.0, "p90": 10.25},
                        "spreading_factors": {"SF7": 9120, "SF9": 3010, "SF12": 80},
                        "devices": [
                            {
                                "dev_eui": "a84041000181c5d1",
                                "receptions": 288,
                                "rssi_avg": -88.3,
                                "snr_avg": 8.1,
                                "last_heard": "2026-12-01T20:58:00+00:00",
                            }
                        ],
                    }
                }
            }
        },
        404: {"description": "No such gateway"},
    },
)
async def gateway(
    conn: ConnDep,
    settings: SettingsDep,
    _: ReadAccess,
    gateway_id: Annotated[str, Path(max_length=200, description="The network server's id")],
    start: FromParam = None,
    end: ToParam = None,
) -> Response:
    """A gateway's statistics over the window (default: the last 24 hours): as in the list,
    plus RSSI and SNR 10th/50th/90th percentiles, receptions per spreading factor, and every
    device heard with its receptions, average RSSI/SNR and when it was last heard."""
    window = time_window(start=start, end=end, tz=settings.timezone, default_span=timedelta(1))
    detail = await get_gateway(conn=conn, gateway_id=gateway_id, start=window.start, end=window.end)
    if detail is None:
        raise NotFound(f"no gateway {gateway_id!r}; GET /v1/gateways lists them")
    summary: GatewayRow = detail.gateway
    return JsonResponse(
        {
            **asdict(summary),
            "from": window.start,
            "to": window.end,
            "rssi_percentiles": detail.rssi_percentiles,
            "snr_percentiles": detail.snr_percentiles,
            "spreading_factors": detail.spreading_factors,
            "devices": detail.devices,
        }
    )
