"""Sites and their people flow: in, out, net and people present per bucket in local time."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response

from api.csv import csv_response, wants_csv
from api.deps import ConnDep, ReadAccess, SettingsDep
from api.errors import NotFound
from api.params import parse_zone
from api.responses import JsonResponse
from api.time_windows import TIME_FORMATS, bucket_edges, time_window
from lorawan.occupancy import (
    Presence,
    presence_from_flows,
    presence_from_sensors,
    reset_instants,
)
from storage.people_flow import (
    SiteRow,
    flow_per_bucket,
    get_site,
    list_sites,
    net_flow_steps,
    occupancy_readings,
)

router = APIRouter(prefix="/v1", tags=["sites"])

Format = Literal["json", "csv"]
FromParam = Annotated[
    str | None,
    Query(alias="from", description=f"Start (default: 24 hours before `to`). {TIME_FORMATS}"),
]
ToParam = Annotated[
    str | None, Query(alias="to", description=f"End (default: now). {TIME_FORMATS}")
]
TzParam = Annotated[
    str | None,
    Query(
        description="IANA time zone buckets are cut in (default: the server's, LORACITY_TIMEZONE)"
    ),
]
FormatParam = Annotated[
    Format | None, Query(description="`csv` for CSV (or send `Accept: text/csv`)")
]

SITE_EXAMPLE = {
    "site": "market-square",
    "name": None,
    "capacity": 350,
    "occupancy_reset_hour": 4,
    "devices": 3,
    "counters": 2,
    "occupancy_sensors": 0,
    "people_present": 87.0,
    "people_present_source": "in_out_counters",
    "capacity_share": 0.249,
}
SITE_COLUMNS = list(SITE_EXAMPLE)

FLOW_COLUMNS = [
    "start",
    "start_local",
    "end",
    "people_in",
    "people_out",
    "net",
    "people_present",
    "people_present_max",
    "capacity_share",
]


def _source(site: SiteRow) -> str | None:
    if site.occupancy_sensors:
        return "occupancy_sensors"
    if site.counters:
        return "in_out_counters"
    return None


def _share(present: float | None, capacity: int | None) -> float | None:
    if present is None or not capacity:
        return None
    return round(present / capacity, 4)


@router.get(
    "/sites",
    summary="Sites with their capacity, devices and people present now",
    responses={200: {"content": {"application/json": {"example": [SITE_EXAMPLE]}}}},
)
async def sites(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    _: ReadAccess,
    format: FormatParam = None,
) -> Response:
    """Every site (registered, or named by a device's `site`), with the number of devices,
    counters and occupancy sensors, and `people_present`: a head count (not the Smart Data
    Models 0..1 fraction) from the occupancy sensors, else integrated from the in/out counters
    since the site's daily reset hour; `capacity_share` is `people_present / capacity`.

    CSV columns: site, name, capacity, occupancy_reset_hour, devices, counters,
    occupancy_sensors, people_present, people_present_source, capacity_share."""
    rows = await list_sites(conn=conn)
    now = datetime.now(UTC)
    present = await _present_now(conn=conn, sites=rows, now=now, zone_name=settings.timezone)
    out: list[dict[str, Any]] = []
    for s in rows:
        value = present.get(s.site)
        out.append(
            {
                "site": s.site,
                "name": s.name,
                "capacity": s.capacity,
                "occupancy_reset_hour": s.occupancy_reset_hour,
                "devices": s.devices,
                "counters": s.counters,
                "occupancy_sensors": s.occupancy_sensors,
                "people_present": value,
                "people_present_source": _source(s),
                "capacity_share": _share(value, s.capacity),
            }
        )
    if wants_csv(request=request, format=format):
        return csv_response(
            columns=SITE_COLUMNS,
            rows=([row[c] for c in SITE_COLUMNS] for row in out),
            filename="sites.csv",
        )
    return JsonResponse(out)


async def _present_now(
    *, conn: ConnDep, sites: list[SiteRow], now: datetime, zone_name: str
) -> dict[str, float | None]:
    """People present now per site, with two queries for all sites together."""
    zone = parse_zone(zone_name)
    resets = {
        s.site: reset_instants(start=now, end=now, zone=zone, hour=s.occupancy_reset_hour)[0]
        for s in sites
    }
    sensing = [s.site for s in sites if s.occupancy_sensors]
    counting = [s.site for s in sites if s.counters and not s.occupancy_sensors]
    out: dict[str, float | None] = {}
    if counting:
        start = min(resets[s] for s in counting)
        steps = await net_flow_steps(conn=conn, sites=counting, start=start, end=now)
        for site in counting:
            mine = [st for st in steps[site] if st[0] >= resets[site]]
            (p,) = presence_from_flows(
                steps=mine, resets=[resets[site]], edges=[resets[site], now], until=now
            )
            out[site] = p.present
    if sensing:
        start = min(resets[s] for s in sensing)
        readings = await occupancy_readings(conn=conn, sites=sensing, start=start, end=now)
        for site in sensing:
            mine_r = [r for r in readings[site] if r[0] >= resets[site]]
            (p,) = presence_from_sensors(readings=mine_r, edges=[resets[site], now], until=now)
            out[site] = p.present
    return out


@router.get(
    "/sites/{site}/people-flow",
    summary="People in, out, net and present per bucket, all counters of a site together",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "site": "market-square",
                        "capacity": 350,
                        "bucket": "1h",
                        "tz": "Europe/Berlin",
                        "from": "2026-10-24T22:00:00+00:00",
                        "to": "2026-10-25T23:00:00+00:00",
                        "people_present_source": "in_out_counters",
                        "occupancy_reset_hour": 4,
                        "buckets": [
                            {
                                "start": "2026-10-25T09:00:00+00:00",
                                "start_local": "2026-10-25T10:00:00+01:00",
                                "end": "2026-10-25T10:00:00+00:00",
                                "people_in": 412.0,
                                "people_out": 380.0,
                                "net": 32.0,
                                "people_present": 96.0,
                                "people_present_max": 104.0,
                                "capacity_share": 0.2743,
                            }
                        ],
                    }
                }
            }
        },
        404: {"description": "No such site"},
        422: {"description": "A bad time, zone or bucket, with an accepted form"},
    },
)
async def people_flow(
    request: Request,
    conn: ConnDep,
    settings: SettingsDep,
    _: ReadAccess,
    site: Annotated[str, Path(description="The site id", examples=["market-square"])],
    start: FromParam = None,
    end: ToParam = None,
    bucket: Annotated[
        Literal["15m", "1h", "1d"], Query(description="Bucket length; days start at local midnight")
    ] = "1h",
    tz: TzParam = None,
    format: FormatParam = None,
) -> Response:
    """Per bucket: `people_in`, `people_out` (summed over every counter of the site: an
    entrance with two doors, a bus line's vehicles, where boardings count as in and
    alightings as out), `net`, `people_present` (the head count at the bucket's end, or now for
    the current bucket: from occupancy sensors when the site has any, else integrated from
    in/out in one-minute steps since the site's daily reset hour, never below zero),
    `people_present_max` (the highest head count within the bucket) and `capacity_share`
    (`people_present / capacity`, when the site has a capacity).

    `from`/`to` are widened to whole buckets. Buckets are cut in local time of `tz`: a day
    bucket on a daylight-saving day is 23 or 25 hours long. CSV columns: start (UTC),
    start_local, end (UTC), people_in, people_out, net, people_present, people_present_max,
    capacity_share."""
    info = await get_site(conn=conn, site=site)
    if info is None:
        raise NotFound(f"no site {site!r}; GET /v1/sites lists them")
    window = time_window(start=start, end=end, tz=tz or settings.timezone)
    edges = bucket_edges(window=window, bucket=bucket)
    now = min(datetime.now(UTC), edges[-1])
    flows = await flow_per_bucket(conn=conn, site=site, edges=edges)
    source = _source(info)
    presence: list[Presence]
    resets = reset_instants(
        start=edges[0], end=edges[-1], zone=window.zone, hour=info.occupancy_reset_hour
    )
    if source == "occupancy_sensors":
        readings = await occupancy_readings(conn=conn, sites=[site], start=resets[0], end=now)
        presence = presence_from_sensors(readings=readings[site], edges=edges, until=now)
    elif source == "in_out_counters":
        steps = await net_flow_steps(conn=conn, sites=[site], start=resets[0], end=now)
        presence = presence_from_flows(steps=steps[site], resets=resets, edges=edges, until=now)
    else:
        presence = [Presence(None, None)] * (len(edges) - 1)
    rows: list[dict[str, Any]] = []
    for i, (lo, hi) in enumerate(pairwise(edges)):
        flow_in, flow_out = flows.get(i, (0.0, 0.0))
        p = presence[i]
        rows.append(
            {
                "start": lo,
                "start_local": lo.astimezone(window.zone),
                "end": hi,
                "people_in": flow_in,
                "people_out": flow_out,
                "net": flow_in - flow_out,
                "people_present": p.present,
                "people_present_max": p.peak,
                "capacity_share": _share(p.present, info.capacity),
            }
        )
    if wants_csv(request=request, format=format):
        return csv_response(
            columns=FLOW_COLUMNS,
            rows=([r[c] for c in FLOW_COLUMNS] for r in rows),
            filename=f"people-flow-{site}.csv",
        )
    return JsonResponse(
        {
            "site": info.site,
            "name": info.name,
            "capacity": info.capacity,
            "bucket": bucket,
            "tz": window.zone.key,
            "from": edges[0],
            "to": edges[-1],
            "people_present_source": source,
            "occupancy_reset_hour": info.occupancy_reset_hour,
            "buckets": rows,
        }
    )
