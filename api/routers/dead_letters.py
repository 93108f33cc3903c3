"""Dead letters (admin): what failed, so an operator can see and fix it."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response

from api.csv import csv_response, wants_csv
from api.deps import AdminAccess, ConnDep, SettingsDep
from api.responses import JsonResponse
from api.time_windows import TIME_FORMATS, time_window
from storage.dead_letters import PREVIEW_BYTES, list_dead_letters

router = APIRouter(prefix="/v1", tags=["dead letters"])

COLUMNS = ["id", "received_at", "topic", "reason", "size", "detail", "payload_preview"]
EXAMPLE = {
    "items": [
        {
            "id": 4711,
            "received_at": "2026-12-01T20:58:03.120000+00:00",
            "topic": "webhook/ttn",
            "reason": "invalid_envelope",
            "size": 812,
            "detail": "end_device_ids.dev_eui: expected 16 hexadecimal characters, got 'zz'",
            "payload_preview": '{"end_device_ids": {"dev_eui": "zz"}, ...',
        }
    ],
    "next": "/v1/dead-letters?limit=100&before_id=4711",
}


@router.get(
    "/dead-letters",
    summary="Messages that could not be stored as data (admin key)",
    description="Newest first, with the reason (`not_json`, `unknown_format`, "
    "`unsupported_event`, `invalid_envelope`, `oversized`, `codec_error`, `storage_rejected`, "
    "`internal_error`), the topic (an MQTT topic, or `webhook/ttn` / "
    "`webhook/chirpstack/{event}`), the full size in bytes, the time it was stored and a "
    f"detail for a person; `payload_preview` holds the first {PREVIEW_BYTES} bytes as text. "
    "Paginated by `before_id`: follow `next` until it is null. CSV columns: "
    + ", ".join(COLUMNS)
    + ".",
    responses={
        200: {"content": {"application/json": {"example": EXAMPLE}}},
        401: {"description": "No key or an invalid key"},
        403: {"description": "Not an admin key"},
    },
)
async def dead_letters(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    _: AdminAccess,
    reason: Annotated[str | None, Query(max_length=64, examples=["codec_error"])] = None,
    start: Annotated[
        str | None, Query(alias="from", description=f"Stored at or after. {TIME_FORMATS}")
    ] = None,
    end: Annotated[
        str | None, Query(alias="to", description=f"Stored before. {TIME_FORMATS}")
    ] = None,
    before_id: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Continue after this id")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    format: Annotated[Literal["json", "csv"] | None, Query(description="`csv` for CSV")] = None,
) -> Response:
    window_start = window_end = None
    if start is not None or end is not None:
        window = time_window(start=start or "1970-01-01T00:00:00Z", end=end, tz=settings.timezone)
        window_start, window_end = window.start, window.end
    rows = await list_dead_letters(
        conn=conn,
        reason=reason,
        start=window_start,
        end=window_end,
        before_id=before_id,
        limit=limit,
    )
    items = [asdict(r) for r in rows]
    if wants_csv(request=request, format=format):
        return csv_response(
            columns=COLUMNS,
            rows=([i[c] for c in COLUMNS] for i in items),
            filename="dead-letters.csv",
        )
    next_url = None
    if len(rows) == limit:
        params = dict(request.query_params)
        params["before_id"] = str(rows[-1].id)
        next_url = f"{request.url.path}?{urlencode(params)}"
    return JsonResponse({"items": items, "next": next_url})
