"""The meetup board: the page, its live feed (SSE), replay snapshots, QR code and embeds."""

from __future__ import annotations

import asyncio
import html
import io
import mimetypes
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Annotated, Any
from urllib.parse import urlsplit

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from api.board_svg import render_chart_svg
from api.board_text import vocabulary
from api.deps import BoardHubDep, ConnDep, ReadAccess, SettingsDep
from api.errors import BadRequest, NotFound
from api.responses import JsonResponse
from loracity.settings import Settings
from lorawan.quantities import QUANTITIES
from storage import board
from storage.devices import canonical_dev_eui

# The board is a page and its data feed, not part of the API contract: left out of /docs.
router = APIRouter(prefix="/board", tags=["board"], include_in_schema=False)

_STATIC = resources.files("api") / "static" / "board"
#: Seconds between SSE comments that keep proxies from closing an idle stream.
_HEARTBEAT_S = 15.0
#: Replay snapshots and embeds may ask at most this far back.
_MAX_SERIES_HOURS = 24 * 31


def _csp(*, frame_ancestors: str, img_extra: str = "") -> str:
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src 'self' data:{img_extra}; connect-src 'self'; "
        f"frame-ancestors {frame_ancestors}; base-uri 'none'; form-action 'none'"
    )


def _page_headers(*, frameable: bool, settings: Settings) -> dict[str, str]:
    img_extra = ""
    if settings.board_tile_url:
        parts = urlsplit(settings.board_tile_url)
        if parts.scheme and parts.netloc:
            # Tile URLs carry {s} subdomain placeholders; allow the host pattern.
            img_extra = " " + f"{parts.scheme}://{parts.netloc}".replace("{s}", "*")
    headers = {
        "Content-Security-Policy": _csp(
            frame_ancestors="*" if frameable else "'self'", img_extra=img_extra
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
    if not frameable:
        headers["X-Frame-Options"] = "SAMEORIGIN"
    return headers


def public_url(*, request: Request, settings: Settings) -> str:
    """The board's public address: the setting, else the address this request came to."""
    if settings.public_url:
        base = settings.public_url.rstrip("/")
        return base if base.endswith("/board") else base + "/board"
    return str(request.url_for("board_page"))


def _template(file: str, **values: str) -> str:
    text = (_STATIC / file).read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", html.escape(value, quote=True))
    return text


@router.get("", summary="The meetup board (HTML)", response_class=Response)
async def board_page(request: Request, settings: SettingsDep, _: ReadAccess) -> Response:
    """The board page; it loads its script and styles from ``/board/static/``."""
    page = _template(
        "index.html",
        public_url=public_url(request=request, settings=settings),
        tile_url=settings.board_tile_url or "",
        timezone=settings.timezone,
    )
    return Response(
        page,
        media_type="text/html; charset=utf-8",
        headers=_page_headers(frameable=False, settings=settings),
    )


@router.get("/static/{path:path}", summary="The board's scripts, styles and vendored libraries")
async def board_static(path: str) -> Response:
    """Files under ``api/static/board`` (package data); nothing outside it."""
    parts = [p for p in path.split("/") if p]
    if not parts or any(p in (".", "..") or p.startswith(".") for p in parts):
        raise NotFound(f"no board file {path!r}")
    target = _STATIC.joinpath(*parts)
    if not target.is_file():
        raise NotFound(f"no board file {path!r}")
    media = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
    if media.startswith("text/") or media.endswith("javascript"):
        media += "; charset=utf-8"
    return Response(
        target.read_bytes(),
        media_type=media,
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/vocabulary.json", summary="Labels, units and colours of quantities")
async def board_vocabulary() -> JsonResponse:
    """German and English labels, display units and Okabe-Ito colours per quantity."""
    return JsonResponse(vocabulary(), headers={"Cache-Control": "public, max-age=300"})


@router.get("/qr.svg", summary="QR code linking to the board", response_class=Response)
async def board_qr(request: Request, settings: SettingsDep) -> Response:
    """An SVG QR code of the board's public address (``LORACITY_PUBLIC_URL``)."""
    code = segno.make(public_url(request=request, settings=settings), error="m")
    buffer = io.BytesIO()
    code.save(
        buffer,
        kind="svg",
        scale=4,
        dark="#000000",
        light="#ffffff",
        border=2,
        xmldecl=False,
        svgclass=None,
        lineclass=None,
    )
    svg = buffer.getvalue()
    return Response(
        svg, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=300"}
    )


@router.get("/events", summary="Live board snapshots as server-sent events")
async def board_events(request: Request, hub: BoardHubDep, _: ReadAccess) -> StreamingResponse:
    """``event: snapshot`` with the whole board as JSON, once per tick, shared by all clients."""

    async def stream() -> Any:
        yield b"retry: 2000\n\n"
        async with hub.subscribe() as queue:
            while True:
                try:
                    frame = await asyncio.wait_for(queue.get(), timeout=_HEARTBEAT_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield b": keep-alive\n\n"
                    continue
                yield frame

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


@router.get("/snapshot", summary="The board as of a past time (replay)")
async def board_snapshot(
    conn: ConnDep,
    settings: SettingsDep,
    _: ReadAccess,
    at: Annotated[datetime | None, Query(description="RFC 3339 time; default now")] = None,
) -> JsonResponse:
    """Everything the board shows, computed from stored rows up to ``at``."""
    when = _aware(at) if at else None
    if when is not None and when > datetime.now(UTC) + timedelta(minutes=5):
        raise BadRequest("'at' is in the future; replay plays stored data only")
    data = await board.snapshot(
        conn=conn, at=when, options=board.SnapshotOptions(timezone=settings.timezone)
    )
    return JsonResponse(data, headers={"Cache-Control": "no-store"})


@router.get("/periods", summary="Stored periods to replay")
async def board_periods(conn: ConnDep, _: ReadAccess) -> JsonResponse:
    """The stored data range and presets: the busiest hours of a site, the last hours."""
    span = await board.data_range(conn=conn)
    if span is None:
        return JsonResponse({"first": None, "last": None, "presets": []})
    first, last = span
    presets: list[dict[str, Any]] = []
    busiest = await board.busiest_hour(conn=conn, start=first, end=last)
    if busiest is not None:
        site, hour, people = busiest
        start = max(first, hour - timedelta(hours=2))
        end = min(last, hour + timedelta(hours=2))
        presets.append(
            {"kind": "busiest", "site": site, "people": people, "from": start, "to": end}
        )
    for hours in (1, 3, 24):
        start = max(first, last - timedelta(hours=hours))
        presets.append({"kind": "last", "hours": hours, "from": start, "to": last})
        if start == first:
            break
    return JsonResponse({"first": first, "last": last, "presets": presets})


def _check_series(dev_eui: str, quantity: str) -> str:
    try:
        eui = canonical_dev_eui(dev_eui)
    except ValueError as exc:
        raise BadRequest(str(exc)) from exc
    if quantity not in QUANTITIES:
        raise BadRequest(f"unknown quantity {quantity!r}; the vocabulary is at /v1/quantities")
    return eui


async def _series_data(
    conn: Any, dev_eui: str, quantity: str, hours: int
) -> tuple[str, list[tuple[datetime, float]], datetime, datetime, int]:
    eui = _check_series(dev_eui, quantity)
    name = await board.device_name(conn=conn, dev_eui=eui)
    if name is None:
        raise NotFound(f"no device {eui}")
    end = datetime.now(UTC)
    start = end - timedelta(hours=hours)
    bucket = max(60, hours * 3600 // 240 // 60 * 60)
    rows = await board.series(
        conn=conn, dev_eui=eui, quantity=quantity, start=start, end=end, bucket_s=bucket
    )
    return name, rows, start, end, bucket


HoursQuery = Annotated[int, Query(ge=1, le=_MAX_SERIES_HOURS, description="window in hours")]
LangQuery = Annotated[str, Query(pattern="^(de|en)$", description="label language")]


@router.get("/series/{dev_eui}/{quantity}", summary="One device's quantity (for embeds)")
async def board_series(
    dev_eui: str, quantity: str, conn: ConnDep, _: ReadAccess, hours: HoursQuery = 24
) -> JsonResponse:
    """Bucketed means: ``t`` (epoch seconds) and ``v``."""
    name, rows, start, end, bucket = await _series_data(conn, dev_eui, quantity, hours)
    return JsonResponse(
        {
            "dev_eui": canonical_dev_eui(dev_eui),
            "name": name,
            "quantity": quantity,
            "unit": QUANTITIES[quantity].unit,
            "from": start,
            "to": end,
            "bucket_s": bucket,
            "t": [int(t.timestamp()) for t, _v in rows],
            "v": [round(v, 3) for _t, v in rows],
        },
        headers={"Cache-Control": "public, max-age=60", "Access-Control-Allow-Origin": "*"},
    )


@router.get(
    "/embed/{dev_eui}/{quantity}.svg",
    summary="Embeddable chart as an SVG image",
    response_class=Response,
)
async def board_embed_svg(
    dev_eui: str,
    quantity: str,
    conn: ConnDep,
    settings: SettingsDep,
    _: ReadAccess,
    hours: HoursQuery = 24,
    lang: LangQuery = "en",
) -> Response:
    """A chart of the last ``hours`` drawn on the server; put it in an ``<img>``."""
    name, rows, start, end, bucket = await _series_data(conn, dev_eui, quantity, hours)
    svg = render_chart_svg(
        name=name,
        quantity=quantity,
        rows=rows,
        start=start,
        end=end,
        bucket_s=bucket,
        lang=lang,
        timezone=settings.timezone,
    )
    return Response(
        svg,
        media_type="image/svg+xml",
        headers={
            "Cache-Control": "public, max-age=60",
            "Access-Control-Allow-Origin": "*",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.get(
    "/embed/{dev_eui}/{quantity}",
    summary="Embeddable chart page (for an iframe)",
    response_class=Response,
)
async def board_embed_page(
    dev_eui: str,
    quantity: str,
    conn: ConnDep,
    settings: SettingsDep,
    _: ReadAccess,
    hours: HoursQuery = 24,
    lang: LangQuery = "en",
) -> Response:
    """A small page with one live chart; any site may frame it."""
    eui = _check_series(dev_eui, quantity)
    name = await board.device_name(conn=conn, dev_eui=eui)
    if name is None:
        raise NotFound(f"no device {eui}")
    page = _template(
        "embed.html",
        dev_eui=eui,
        quantity=quantity,
        hours=str(hours),
        lang=lang,
        name=name,
        timezone=settings.timezone,
    )
    return Response(
        page,
        media_type="text/html; charset=utf-8",
        headers=_page_headers(frameable=True, settings=settings),
    )
