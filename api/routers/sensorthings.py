"""OGC SensorThings API v1.1, read-only, at ``/sta/v1.1`` (see opendata/sensorthings.py)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from api.deps import ConnDep, ReadAccess, SettingsDep
from api.errors import ApiError, NotFound
from api.responses import JsonResponse
from opendata.sensorthings import VERSION_PATH, NotFoundError, Reader, root_document
from opendata.sta_query import QueryError, parse_options

router = APIRouter(prefix=VERSION_PATH, tags=["SensorThings"])


def _root(request: Request) -> str:
    return str(request.base_url).rstrip("/") + VERSION_PATH


@router.get("", summary="SensorThings service root with the conformance classes")
async def service_root(request: Request, _: ReadAccess) -> JsonResponse:
    """Entity sets and ``serverSettings.conformance``."""
    return JsonResponse(root_document(_root(request)))


@router.get(
    "/{path:path}",
    summary="SensorThings entities: Things, Locations, Datastreams, Sensors, "
    "ObservedProperties, Observations, FeaturesOfInterest",
)
async def entities(
    path: str, request: Request, conn: ConnDep, settings: SettingsDep, _: ReadAccess
) -> JsonResponse:
    """Collections, single entities and one navigation step, with ``$top``, ``$skip``,
    ``$count``, ``$orderby``, ``$select``, ``$expand`` and ``$filter``."""
    query = dict(request.query_params)
    try:
        options = parse_options(query)
        reader = Reader(
            conn=conn,
            root=_root(request),
            base_url=settings.opendata_base_url,
            rule=settings.privacy_rule(),
        )
        doc = await reader.get(path=path.rstrip("/"), options=options, query=query)
    except QueryError as exc:
        raise ApiError(str(exc)) from exc
    except NotFoundError as exc:
        raise NotFound(str(exc)) from exc
    return JsonResponse(doc)
