"""Measurement series (raw or bucketed, in local time), latest values and the GeoJSON map."""

from __future__ import annotations

import base64
import binascii
import dataclasses
import zoneinfo
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
import psycopg
from fastapi import APIRouter, Query, Request, Response
from psycopg import sql
from psycopg.types.json import Jsonb

from api.cache import cached_json
from api.csv_stream import CSV_OPENAPI, csv_response, local_text, utc_text, wants_csv
from api.deps import ReadAccess, StateDep
from api.errors import BadRequest
from api.params import parse_bbox, parse_dev_eui, parse_range, parse_zone
from api.responses import GeoJsonResponse
from api.routers.devices import DevEuiPath, require_device
from api.schemas import FeatureCollectionPublic, LatestListPublic, SeriesPublic
from lorawan.quantities import QUANTITIES
from storage import series as ser
from storage.device_registry import DeviceFilter

router = APIRouter(prefix="/v1", tags=["measurements"])

_JSON_OPTS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS
_BAD: dict[int | str, dict[str, Any]] = {
    422: {"description": "A parameter could not be read; the message says which and how"}
}
_UNITS = {name: q.unit for name, q in QUANTITIES.items()}

_SERIES_EXAMPLE: dict[str, Any] = {
    "dev_eui": "70b3d57ed0001234",
    "quantity": "temperature",
    "unit": "Cel",
    "tz": "Europe/Berlin",
    "bucket": "1h",
    "agg": "avg",
    "from": "2026-03-28T23:00:00Z",
    "to": "2026-03-29T22:00:00Z",
    "points": [
        {
            "time": "2026-03-28T23:00:00Z",
            "time_local": "2026-03-29T00:00:00+01:00",
            "channel": 0,
            "value": 7.4,
        },
    ],
    "next": None,
}
_LATEST_ITEM: dict[str, Any] = {
    "dev_eui": "70b3d57ed0001234",
    "name": "co2-townhall-1",
    "site": "market-square",
    "quantity": "co2",
    "channel": 0,
    "value": 612.0,
    "unit": "ppm",
    "time": "2026-03-29T11:58:40Z",
    "time_local": "2026-03-29T13:58:40+02:00",
    "age_s": 80.2,
    "stale": False,
}


def _connection(state: StateDep) -> AbstractAsyncContextManager[psycopg.AsyncConnection[Any]]:
    # Taken inside the cached computation, so a cache hit costs no connection at all.
    return state.pool.connection(timeout=state.settings.api_db_timeout_s)


async def _rollups(state: StateDep, conn: psycopg.AsyncConnection[Any]) -> bool:
    if state.rollups is None:
        state.rollups = await ser.rollups_materialised(conn=conn)
    return state.rollups


def _dumps(body: Any) -> bytes:
    return orjson.dumps(body, option=_JSON_OPTS)


def _zone(state: StateDep, tz: str | None) -> zoneinfo.ZoneInfo:
    return parse_zone(tz if tz is not None else state.settings.timezone)


def _quantity(value: str | None, *, required: bool) -> str | None:
    if value is None:
        if required:
            raise BadRequest(
                "quantity is required, e.g. quantity=temperature; GET /v1/quantities lists them"
            )
        return None
    if value not in QUANTITIES:
        raise BadRequest(
            f"quantity: {value[:60]!r} is not a known quantity; "
            "GET /v1/quantities lists them (e.g. temperature, co2, people_in)"
        )
    return value


def _encode_cursor(t: datetime, channel: int) -> str:
    raw = orjson.dumps([t.astimezone(UTC).isoformat(), channel])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(value: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        t, channel = orjson.loads(raw)
        parsed = datetime.fromisoformat(t)
        if parsed.tzinfo is None or not isinstance(channel, int) or isinstance(channel, bool):
            raise ValueError
        return parsed, channel
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise BadRequest(
            "cursor: not a cursor this API gave out; copy the `next` link of "
            "the previous page, or leave cursor out to start at `from`"
        ) from None


@router.get(
    "/devices/{dev_eui}/measurements",
    summary="A device's series of one quantity, raw or in buckets",
    response_model=SeriesPublic,
    responses={
        200: {"content": {"application/json": {"example": _SERIES_EXAMPLE}, **CSV_OPENAPI}},
        404: {"description": "No device with that DevEUI"},
        **_BAD,
    },
)
async def measurements(
    request: Request,
    state: StateDep,
    _: ReadAccess,
    dev_eui: DevEuiPath,
    quantity: Annotated[
        str | None, Query(examples=["temperature"], description="required; see /v1/quantities")
    ] = None,
    from_: Annotated[
        str | None,
        Query(
            alias="from",
            description="ISO 8601 or relative (-24h, -7d, now); default 24 h before `to`",
            examples=["-24h"],
        ),
    ] = None,
    to: Annotated[
        str | None, Query(description="ISO 8601 or relative; default now", examples=["now"])
    ] = None,
    bucket: Annotated[
        str | None,
        Query(description="5m, 15m, 1h, 1d, 1w or 1mo; leave out for raw points", examples=["1h"]),
    ] = None,
    agg: Annotated[
        str | None,
        Query(
            description="avg (default), min, max, sum, count or last; only with bucket",
            examples=["avg"],
        ),
    ] = None,
    tz: Annotated[
        str | None,
        Query(
            description="IANA zone for day/week/month buckets and "
            "local times; default the server's (Europe/Berlin)",
            examples=["Europe/Berlin"],
        ),
    ] = None,
    limit: Annotated[
        int | None,
        Query(ge=1, description="points per page; at most the server's cap (10,000 by default)"),
    ] = None,
    cursor: Annotated[str | None, Query(description="from the `next` link")] = None,
    format: Annotated[str | None, Query(description="json or csv")] = None,
) -> Response:
    """Raw points of one quantity of a device in `[from, to)`, or buckets with an aggregate.
    Day, week and month buckets are calendar buckets in `tz` (a day bucket is 23 or 25 hours on
    daylight-saving days); bucketed answers cover whole buckets (`from` and `to` are widened to
    bucket boundaries). Each point has `time` (UTC; a bucket's start), `time_local`, `channel`
    and `value`. Pages hold at most `limit` points; follow `next`. A bucketed request that
    would exceed the server's cap of points per answer is refused with 422 saying how to
    narrow it. CSV (`format=csv`) streams the whole range with columns
    `time,time_local,channel,value` (`time_local` is wall-clock time in `tz`, also given in the
    `X-Time-Zone` header)."""
    zone = _zone(state, tz)
    q_name = _quantity(quantity, required=True)
    assert q_name is not None
    now = datetime.now(UTC)
    lo, hi = parse_range(start=from_, end=to, now=now, zone=zone)
    cap = state.settings.api_max_points
    if limit is not None and limit > cap:
        raise BadRequest(
            f"limit: {limit} is over the cap of {cap} points per answer; ask for "
            f"limit={cap} or less and follow `next`, or use bucket="
        )
    b = None
    if bucket is not None:
        b = ser.BUCKETS.get(bucket)
        if b is None:
            raise BadRequest(
                f"bucket: {bucket[:20]!r} is not one of "
                f"{', '.join(ser.BUCKETS)}; leave it out for raw points"
            )
        lo, hi = ser.whole_buckets(b, lo, hi, zone)
        estimate = int((hi - lo) / b.approx)
        if estimate > cap:
            raise BadRequest(
                f"from {lo.isoformat()} to {hi.isoformat()} in {b.name} buckets is about "
                f"{estimate} points, over the cap of {cap} per answer; use a larger bucket "
                f"(e.g. {_larger(b.name)}) or a shorter range (at most {cap} buckets)"
            )
    if agg is not None and agg not in ser.AGGS:
        raise BadRequest(f"agg: {agg[:20]!r} is not one of {', '.join(ser.AGGS)}")
    if agg is not None and b is None:
        raise BadRequest("agg needs bucket, e.g. bucket=1h&agg=max; raw points have no aggregate")
    after = _decode_cursor(cursor) if cursor is not None else None
    eui = parse_dev_eui(dev_eui)
    query = ser.SeriesQuery(
        dev_eui=eui,
        quantity=q_name,
        lo=lo,
        hi=hi,
        zone=zone,
        bucket=b,
        agg=agg or "avg",
        after=after,
    )
    if wants_csv(request, format):
        async with _connection(state) as conn:
            await require_device(conn, dev_eui)
            query = dataclasses.replace(query, rollups=await _rollups(state, conn))
        stmt, params = ser.series_sql(query)
        millis = b is None
        outer = sql.SQL(
            "SELECT {} AS time, {} AS time_local, s.channel, s.value FROM ({}) s"
        ).format(
            utc_text(sql.SQL("s.time"), millis=millis),
            local_text(sql.SQL("s.time"), millis=millis),
            stmt,
        )
        return csv_response(
            pool=state.pool,
            query=outer,
            params=params,
            filename=f"{eui}-{q_name}.csv",
            timeout_s=state.settings.api_db_timeout_s,
            headers={"X-Time-Zone": zone.key},
        )
    page = limit or cap

    async def compute() -> bytes:
        async with _connection(state) as conn:
            await require_device(conn, dev_eui)
            rows = await ser.fetch_series(
                conn=conn,
                q=ser.SeriesQuery(
                    dev_eui=eui,
                    quantity=q_name,
                    lo=lo,
                    hi=hi,
                    zone=zone,
                    bucket=b,
                    agg=query.agg,
                    after=after,
                    limit=page + 1,
                ),
            )
        next_url = None
        if len(rows) > page:
            rows = rows[:page]
            last_t, last_c, _v = rows[-1]
            url = request.url.include_query_params(cursor=_encode_cursor(last_t, last_c))
            next_url = f"{url.path}?{url.query}"
        points = [
            {"time": t.astimezone(UTC), "time_local": t.astimezone(zone), "channel": c, "value": v}
            for t, c, v in rows
        ]
        return _dumps(
            {
                "dev_eui": eui,
                "quantity": q_name,
                "unit": _UNITS[q_name],
                "tz": zone.key,
                "bucket": b.name if b else None,
                "agg": query.agg if b else None,
                "from": lo,
                "to": hi,
                "points": points,
                "next": next_url,
            }
        )

    return await cached_json(request, state.cache, compute)


def _larger(name: str) -> str:
    names = list(ser.BUCKETS)
    i = names.index(name)
    return names[min(i + 1, len(names) - 1)]


def _latest_items(
    rows: list[tuple[Any, ...]], zone: zoneinfo.ZoneInfo, now: datetime
) -> list[dict[str, Any]]:
    items = []
    for (
        eui,
        name,
        _type,
        site,
        _lat,
        _lon,
        _seen,
        interval,
        _silent,
        quantity,
        channel,
        t,
        value,
    ) in rows:
        if quantity is None or t is None:
            continue
        age = round((now - t).total_seconds(), 1)
        items.append(
            {
                "dev_eui": eui,
                "name": name,
                "site": site,
                "quantity": quantity,
                "channel": channel,
                "value": value,
                "unit": _UNITS.get(quantity, ""),
                "time": t.astimezone(UTC),
                "time_local": t.astimezone(zone),
                "age_s": age,
                "stale": ser.is_stale(age_s=age, expected_interval_s=interval),
            }
        )
    return items


def _latest_csv(
    state: StateDep, flt: DeviceFilter, quantity: str | None, zone: zoneinfo.ZoneInfo, filename: str
) -> Response:
    stmt, params = ser.latest_sql(flt=flt, quantity=quantity)
    params["units"] = Jsonb(_UNITS)
    params["tz"] = zone.key
    outer = sql.SQL(
        "SELECT l.dev_eui, l.name, l.site, l.quantity, l.channel, l.value,"
        " %(units)s ->> l.quantity AS unit, {} AS time, {} AS time_local,"
        " round(extract(epoch FROM now() - l.time)::numeric, 1) AS age_s FROM ({}) l"
    ).format(
        utc_text(sql.SQL("l.time"), millis=True), local_text(sql.SQL("l.time"), millis=True), stmt
    )
    return csv_response(
        pool=state.pool,
        query=outer,
        params=params,
        filename=filename,
        timeout_s=state.settings.api_db_timeout_s,
        headers={"X-Time-Zone": zone.key},
    )


_LATEST_DOC = (
    " Each value has its `time`, `time_local` and `age_s` (seconds old when the answer was "
    "made, see `generated_at`), and `stale` when it is older than three expected send "
    "intervals (one day for devices without one), so a client can tell fresh from stale. "
    "Answers are cached for a few seconds and carry an ETag (send If-None-Match for a 304). "
    "CSV columns: `dev_eui,name,site,quantity,channel,value,unit,time,time_local,age_s`."
)


@router.get(
    "/devices/{dev_eui}/latest",
    summary="A device's latest value of each quantity",
    response_model=LatestListPublic,
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "generated_at": "2026-03-29T12:00:00Z",
                        "tz": "Europe/Berlin",
                        "items": [_LATEST_ITEM],
                    }
                },
                **CSV_OPENAPI,
            }
        },
        404: {"description": "No device with that DevEUI"},
        **_BAD,
    },
    description="The newest value of each quantity the device measures (all channels of the "
    "newest uplink that carried it)." + _LATEST_DOC,
)
async def device_latest(
    request: Request,
    state: StateDep,
    _: ReadAccess,
    dev_eui: DevEuiPath,
    tz: Annotated[str | None, Query(description="zone of time_local")] = None,
    format: Annotated[str | None, Query(description="json or csv")] = None,
) -> Response:
    zone = _zone(state, tz)
    eui = parse_dev_eui(dev_eui)
    flt = DeviceFilter(dev_euis=(eui,))
    if wants_csv(request, format):
        async with _connection(state) as conn:
            await require_device(conn, dev_eui)
        return _latest_csv(state, flt, None, zone, f"{eui}-latest.csv")

    async def compute() -> bytes:
        async with _connection(state) as conn:
            await require_device(conn, dev_eui)
            rows = await ser.fetch_latest(conn=conn, flt=flt, quantity=None)
        now = datetime.now(UTC)
        return _dumps(
            {"generated_at": now, "tz": zone.key, "items": _latest_items(rows, zone, now)}
        )

    return await cached_json(request, state.cache, compute)


@router.get(
    "/latest",
    summary="Latest values of every device",
    response_model=LatestListPublic,
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "generated_at": "2026-03-29T12:00:00Z",
                        "tz": "Europe/Berlin",
                        "items": [_LATEST_ITEM],
                    }
                },
                **CSV_OPENAPI,
            }
        },
        **_BAD,
    },
    description="The newest value per device, quantity and channel, for devices filtered by "
    "quantity, bounding box, site and device type." + _LATEST_DOC,
)
async def latest(
    request: Request,
    state: StateDep,
    _: ReadAccess,
    quantity: Annotated[str | None, Query(examples=["co2"])] = None,
    bbox: Annotated[
        str | None,
        Query(description="west,south,east,north in degrees", examples=["13.30,52.49,13.45,52.55"]),
    ] = None,
    site: Annotated[str | None, Query(max_length=100, examples=["market-square"])] = None,
    device_type: Annotated[str | None, Query(max_length=100)] = None,
    tz: Annotated[str | None, Query(description="zone of time_local")] = None,
    format: Annotated[str | None, Query(description="json or csv")] = None,
) -> Response:
    zone = _zone(state, tz)
    q_name = _quantity(quantity, required=False)
    flt = DeviceFilter(
        site=site, device_type=device_type, bbox=parse_bbox(bbox) if bbox is not None else None
    )
    if wants_csv(request, format):
        return _latest_csv(state, flt, q_name, zone, "latest.csv")

    async def compute() -> bytes:
        async with _connection(state) as conn:
            rows = await ser.fetch_latest(conn=conn, flt=flt, quantity=q_name)
        now = datetime.now(UTC)
        return _dumps(
            {"generated_at": now, "tz": zone.key, "items": _latest_items(rows, zone, now)}
        )

    return await cached_json(request, state.cache, compute)


@router.get(
    "/map.geojson",
    summary="Devices and their latest values as GeoJSON",
    response_model=FeatureCollectionPublic,
    response_class=GeoJsonResponse,
    responses={
        200: {
            "content": {
                "application/geo+json": {
                    "example": {
                        "type": "FeatureCollection",
                        "generated_at": "2026-03-29T12:00:00Z",
                        "features": [
                            {
                                "type": "Feature",
                                "id": "70b3d57ed0001234",
                                "geometry": {"type": "Point", "coordinates": [13.3777, 52.5163]},
                                "properties": {
                                    "dev_eui": "70b3d57ed0001234",
                                    "name": "co2-townhall-1",
                                    "device_type": "elsys-ers-co2",
                                    "site": "market-square",
                                    "last_seen": "2026-03-29T11:58:40Z",
                                    "silent": False,
                                    "values": [
                                        {
                                            k: v
                                            for k, v in _LATEST_ITEM.items()
                                            if k not in ("dev_eui", "name", "site")
                                        }
                                    ],
                                },
                            }
                        ],
                    }
                }
            }
        },
        **_BAD,
    },
)
async def map_geojson(
    request: Request,
    state: StateDep,
    _: ReadAccess,
    bbox: Annotated[
        str | None,
        Query(description="west,south,east,north in degrees", examples=["13.30,52.49,13.45,52.55"]),
    ] = None,
    quantity: Annotated[
        str | None,
        Query(
            description="only devices that measure it, with only its values",
            examples=["temperature"],
        ),
    ] = None,
    site: Annotated[str | None, Query(max_length=100)] = None,
    device_type: Annotated[str | None, Query(max_length=100)] = None,
    tz: Annotated[str | None, Query(description="zone of time_local")] = None,
) -> Response:
    """Every device with a position as a GeoJSON Feature (Point, `[longitude, latitude]`) whose
    properties hold its name, type, site, last uplink, whether it is silent, and its latest
    values (as in /v1/latest). With `quantity`, only devices that measure it. Cached for a few
    seconds with an ETag."""
    zone = _zone(state, tz)
    q_name = _quantity(quantity, required=False)
    flt = DeviceFilter(
        site=site, device_type=device_type, bbox=parse_bbox(bbox) if bbox is not None else None
    )

    async def compute() -> bytes:
        async with _connection(state) as conn:
            rows = await ser.fetch_latest(
                conn=conn,
                flt=flt,
                quantity=q_name,
                keep_devices_without_values=q_name is None,
                require_position=True,
            )
        now = datetime.now(UTC)
        features: dict[str, dict[str, Any]] = {}
        for row in rows:
            eui, name, dtype, site_, lat, lon, seen, _interval, silent = row[:9]
            feature = features.get(eui)
            if feature is None:
                feature = features[eui] = {
                    "type": "Feature",
                    "id": eui,
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {
                        "dev_eui": eui,
                        "name": name,
                        "device_type": dtype,
                        "site": site_,
                        "last_seen": seen,
                        "silent": silent,
                        "values": [],
                    },
                }
            for item in _latest_items([row], zone, now):
                for k in ("dev_eui", "name", "site"):
                    del item[k]
                feature["properties"]["values"].append(item)
        return _dumps(
            {"type": "FeatureCollection", "generated_at": now, "features": list(features.values())}
        )

    return await cached_json(request, state.cache, compute, media_type=GeoJsonResponse.media_type)
