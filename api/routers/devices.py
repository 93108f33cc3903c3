"""Devices: filtered listing with keyset pagination, one device, admin registration."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from psycopg import sql

from api.csv_stream import CSV_OPENAPI, csv_response, local_text, utc_text, wants_csv
from api.deps import AdminAccess, ConnDep, ReadAccess, StateDep
from api.errors import NotFound
from api.params import parse_bbox, parse_dev_eui, parse_tags, parse_zone
from api.responses import JsonResponse
from api.schemas import DeviceListPublic, DevicePatch, DevicePublic, DeviceWrite
from storage import device_registry as reg

router = APIRouter(prefix="/v1", tags=["devices"])

DEV_EUI_DOC = (
    "DevEUI in any common spelling: 70b3d57ed0001234, 70B3D57ED0001234, 70-B3-D5-7E-D0-00-12-34"
)
#: The ``{dev_eui}`` path parameter, shared by every device route.
DevEuiPath = Annotated[
    str, Path(description=DEV_EUI_DOC, examples=["70b3d57ed0001234"], max_length=64)
]
_FORMAT_DOC = "json (default) or csv; `Accept: text/csv` also selects CSV"
_NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No device with that DevEUI"}}
_BAD: dict[int | str, dict[str, Any]] = {
    422: {"description": "A parameter could not be read; the message says which and how"}
}

_DEVICE_EXAMPLE: dict[str, Any] = {
    "dev_eui": "70b3d57ed0001234",
    "name": "co2-townhall-1",
    "device_type": "elsys-ers-co2",
    "site": "market-square",
    "application": "city-sensors",
    "source": "ttn",
    "position": {"latitude": 52.5163, "longitude": 13.3777, "altitude": None, "registered": True},
    "tags": {"district": "mitte"},
    "expected_interval_s": 600,
    "mounting_height": None,
    "first_seen": "2026-03-01T00:00:12+00:00",
    "last_seen": "2026-03-29T11:58:40+00:00",
    "silent": False,
}


def device_json(row: dict[str, Any]) -> dict[str, Any]:
    """A device row as :class:`DevicePublic` (built without per-row models)."""
    lat, lon = row["latitude"], row["longitude"]
    position = (
        None
        if lat is None or lon is None
        else {
            "latitude": lat,
            "longitude": lon,
            "altitude": row["altitude"],
            "registered": row["position_registered"],
        }
    )
    return {
        "dev_eui": row["dev_eui"],
        "name": row["name"],
        "device_type": row["device_type"],
        "site": row["site"],
        "application": row["application"],
        "source": row["source"],
        "position": position,
        "tags": row["tags"] if isinstance(row["tags"], dict) else {},
        "expected_interval_s": row["expected_interval_s"],
        "mounting_height": row["mounting_height"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        "silent": row["silent"],
    }


def unknown_device(given: str, dev_eui: str) -> NotFound:
    """The 404 for a DevEUI that is not registered or heard."""
    spelled = "" if given == dev_eui else f" (given as {given[:40]!r})"
    return NotFound(
        f"no device with DevEUI {dev_eui}{spelled}; GET /v1/devices lists the known devices"
    )


async def require_device(conn: Any, given: str) -> tuple[str, dict[str, Any]]:
    """The canonical DevEUI and row of an existing device; 422 for a malformed, 404 for an
    unknown one."""
    dev_eui = parse_dev_eui(given)
    row = await reg.get_device(conn=conn, dev_eui=dev_eui)
    if row is None:
        raise unknown_device(given, dev_eui)
    return dev_eui, row


@router.get(
    "/devices",
    summary="List devices",
    response_model=DeviceListPublic,
    responses={
        200: {
            "content": {
                "application/json": {"example": {"items": [_DEVICE_EXAMPLE], "next": None}},
                **CSV_OPENAPI,
            }
        },
        **_BAD,
    },
)
async def list_devices(
    request: Request,
    conn: ConnDep,
    state: StateDep,
    _: ReadAccess,
    device_type: Annotated[str | None, Query(max_length=100, examples=["elsys-ers-co2"])] = None,
    site: Annotated[str | None, Query(max_length=100, examples=["market-square"])] = None,
    tag: Annotated[
        list[str] | None,
        Query(description="key=value; repeat for several (all must match)", max_length=20),
    ] = None,
    bbox: Annotated[
        str | None,
        Query(description="west,south,east,north in degrees", examples=["13.30,52.49,13.45,52.55"]),
    ] = None,
    silent: Annotated[
        bool | None, Query(description="only silent (true) or only reporting (false) devices")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="page size")] = 100,
    cursor: Annotated[
        str | None, Query(description="from the `next` link: the last DevEUI of the page before")
    ] = None,
    format: Annotated[str | None, Query(description=_FORMAT_DOC)] = None,
) -> Response:
    """Devices in DevEUI order, filtered by device type, site, tags, a bounding box and whether
    they are silent. Pages are keyset-paginated: follow `next` until it is null. CSV
    (`format=csv`) streams every matching device in one answer, ignoring `limit`; its columns are
    the JSON fields with `position` as `latitude,longitude,altitude,position_registered`, and
    `first_seen`/`last_seen` in UTC plus `first_seen_local`/`last_seen_local` in the server's
    zone."""
    flt = reg.DeviceFilter(
        device_type=device_type,
        site=site,
        tags=parse_tags(tag or []),
        bbox=parse_bbox(bbox) if bbox is not None else None,
        silent=silent,
    )
    after = parse_dev_eui(cursor) if cursor is not None else None
    if wants_csv(request, format):
        query, params = reg.list_devices_query(flt=flt, after=after, limit=None)
        tz = state.settings.timezone
        parse_zone(tz, name="settings.timezone")
        params["tz"] = tz
        cols: list[sql.Composable] = []
        for col in reg.DEVICE_COLUMNS:
            ident = sql.Identifier("x", col)
            if col in ("first_seen", "last_seen"):
                cols += [
                    sql.SQL("{} AS {}").format(utc_text(ident), sql.Identifier(col)),
                    sql.SQL("{} AS {}").format(local_text(ident), sql.Identifier(col + "_local")),
                ]
            else:
                cols.append(ident)
        outer = sql.SQL("SELECT {} FROM ({}) x").format(sql.SQL(", ").join(cols), query)
        return csv_response(
            pool=state.pool,
            query=outer,
            params=params,
            filename="devices.csv",
            timeout_s=state.settings.api_db_timeout_s,
            headers={"X-Time-Zone": tz},
        )
    rows = await reg.list_devices(conn=conn, flt=flt, after=after, limit=limit)
    next_url = None
    if len(rows) == limit:
        url = request.url.include_query_params(cursor=rows[-1]["dev_eui"])
        next_url = f"{url.path}?{url.query}"
    return JsonResponse({"items": [device_json(r) for r in rows], "next": next_url})


@router.get(
    "/devices/{dev_eui}",
    summary="One device",
    response_model=DevicePublic,
    responses={
        200: {"content": {"application/json": {"example": _DEVICE_EXAMPLE}}},
        **_NOT_FOUND,
        **_BAD,
    },
)
async def get_device(
    conn: ConnDep,
    _: ReadAccess,
    dev_eui: DevEuiPath,
) -> Response:
    """A device's registration and what the network told about it (position, first and last
    seen, whether it is silent)."""
    _eui, row = await require_device(conn, dev_eui)
    return JsonResponse(device_json(row))


_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "Updated", "content": {"application/json": {"example": _DEVICE_EXAMPLE}}},
    401: {"description": "No key, or an unknown or revoked key"},
    403: {"description": "The key is not an admin key"},
    **_BAD,
}


@router.put(
    "/devices/{dev_eui}",
    summary="Register or replace a device (admin)",
    response_model=DevicePublic,
    status_code=200,
    responses={201: {"description": "Created", "model": DevicePublic}, **_WRITE_RESPONSES},
)
async def put_device(
    conn: ConnDep, _: AdminAccess, dev_eui: DevEuiPath, body: DeviceWrite
) -> Response:
    """Create the device or replace its registration: name, device type, site, position, tags,
    expected send interval and mounting height (fields left out become null; what the network
    server reports, such as first and last seen, is kept). A position set here is *registered*:
    later locations from the network server do not overwrite it; a null position un-registers it
    so network locations apply again. Answers 201 when the device was new."""
    eui = parse_dev_eui(dev_eui)
    values = body.model_dump(exclude={"position"})
    values["position"] = _position(body.position)
    created = await reg.upsert_device(conn=conn, dev_eui=eui, values=values)
    row = await reg.get_device(conn=conn, dev_eui=eui)
    assert row is not None
    return JsonResponse(device_json(row), status_code=201 if created else 200)


@router.patch(
    "/devices/{dev_eui}",
    summary="Change some fields of a device (admin)",
    response_model=DevicePublic,
    responses={**_WRITE_RESPONSES, **_NOT_FOUND},
)
async def patch_device(
    conn: ConnDep, _: AdminAccess, dev_eui: DevEuiPath, body: DevicePatch
) -> Response:
    """Change only the fields sent; null clears a field (a null position un-registers it).
    The device must exist (404 otherwise; PUT creates)."""
    eui, _row = await require_device(conn, dev_eui)
    values = {name: getattr(body, name) for name in body.model_fields_set}
    if "position" in values:
        values["position"] = _position(body.position)
    await reg.upsert_device(conn=conn, dev_eui=eui, values=values)
    row = await reg.get_device(conn=conn, dev_eui=eui)
    assert row is not None
    return JsonResponse(device_json(row))


@router.delete(
    "/devices/{dev_eui}",
    summary="Remove a device's registration (admin)",
    status_code=204,
    response_class=Response,
    responses={
        204: {"description": "Removed"},
        401: {"description": "No key, or an unknown or revoked key"},
        403: {"description": "The key is not an admin key"},
        **_NOT_FOUND,
        **_BAD,
    },
)
async def delete_device(conn: ConnDep, _: AdminAccess, dev_eui: DevEuiPath) -> Response:
    """Remove the device record. Its stored measurements stay (they are history); if the device
    sends again, ingest records it anew, unregistered."""
    eui = parse_dev_eui(dev_eui)
    if not await reg.delete_device(conn=conn, dev_eui=eui):
        raise unknown_device(dev_eui, eui)
    return Response(status_code=204)


def _position(pos: Any) -> reg.Position | None:
    if pos is None:
        return None
    return reg.Position(latitude=pos.latitude, longitude=pos.longitude, altitude=pos.altitude)
