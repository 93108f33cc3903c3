"""Open data: the DCAT-AP.de catalogue, the manifest and the dump files.

Open data is public: these endpoints need no key, even when reads of /v1 do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from starlette.responses import FileResponse

from api.deps import SettingsDep
from api.errors import BadRequest, NotFound
from api.responses import JsonResponse
from loracity.settings import Settings
from opendata.catalog import CatalogConfig, build_catalog
from opendata.manifest_cache import current_manifest

router = APIRouter(prefix="/opendata", tags=["open data"])

#: rdflib serialiser by media type, in the order offered when the client has no preference.
RDF_FORMATS: dict[str, str] = {
    "text/turtle": "turtle",
    "application/ld+json": "json-ld",
    "application/rdf+xml": "xml",
}
_FORMAT_ALIASES = {
    "ttl": "text/turtle",
    "turtle": "text/turtle",
    "jsonld": "application/ld+json",
    "json-ld": "application/ld+json",
    "rdf": "application/rdf+xml",
    "xml": "application/rdf+xml",
}


def negotiate(accept: str | None) -> str | None:
    """The best RDF media type for an ``Accept`` header; None when none is acceptable."""
    if not accept:
        return "text/turtle"
    best: tuple[float, int, str] | None = None
    for order, part in enumerate(accept.split(",")):
        media, *params = (p.strip() for p in part.split(";"))
        q = 1.0
        for p in params:
            name, _, value = p.partition("=")
            if name.strip() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        media = media.lower()
        if media in ("*/*", "text/*"):
            candidates = ["text/turtle"]
        elif media in ("application/*", "application/json"):
            candidates = ["application/ld+json"]
        else:
            candidates = [media] if media in RDF_FORMATS else []
        for c in candidates:
            if best is None or (q, -order) > (best[0], best[1]):
                best = (q, -order, c)
    return best[2] if best else None


def catalog_config(settings: Settings) -> CatalogConfig:
    """The catalogue's facts from the settings."""
    return CatalogConfig(
        base_url=settings.opendata_base_url,
        title=settings.opendata_title,
        description=settings.opendata_description,
        publisher_name=settings.opendata_publisher_name,
        publisher_uri=settings.opendata_publisher_uri,
        contact_email=settings.opendata_contact_email,
        licence=settings.opendata_licence,
        contributor_id=settings.opendata_contributor_id,
        political_geocoding_uri=settings.opendata_political_geocoding_uri,
        page_size=settings.opendata_page_size,
    )


@router.get(
    "/catalog",
    summary="DCAT-AP.de catalogue (Turtle, JSON-LD or RDF/XML)",
    response_class=Response,
    responses={200: {"content": {m: {} for m in RDF_FORMATS}}, 406: {}},
)
def catalog(
    settings: SettingsDep,
    accept: Annotated[str | None, Header()] = None,
    format: Annotated[
        str | None, Query(description="ttl | jsonld | rdf; overrides the Accept header")
    ] = None,
    page: Annotated[int, Query(ge=1, description="page of the catalogue (Hydra paging)")] = 1,
) -> Response:
    """The catalogue of every dataset, month and file, for CKAN/GovData harvesters."""
    if format is not None:
        media = _FORMAT_ALIASES.get(format.lower())
        if media is None:
            raise BadRequest(f"unknown format {format!r}; use one of ttl, jsonld, rdf")
    else:
        media = negotiate(accept)
        if media is None:
            return JsonResponse(
                {
                    "status": 406,
                    "detail": "the catalogue is served as "
                    + ", ".join(RDF_FORMATS)
                    + "; ask for one of them in the Accept header",
                },
                status_code=406,
            )
    manifest = current_manifest(out_dir=settings.opendata_dir)
    graph, _ = build_catalog(manifest=manifest, config=catalog_config(settings), page=page)
    body = graph.serialize(format=RDF_FORMATS[media], encoding="utf-8")
    return Response(body, media_type=media, headers={"Vary": "Accept"})


@router.get("/manifest.json", summary="Every dump file with rows, bytes, SHA-256 and columns")
def manifest(settings: SettingsDep) -> JsonResponse:
    """The export manifest: datasets with documented columns, and every file."""
    return JsonResponse(current_manifest(out_dir=settings.opendata_dir))


@router.get(
    "/files/{path:path}",
    summary="A dump file (ETag, range requests)",
    response_class=FileResponse,
    responses={206: {"description": "Partial content"}, 304: {}, 404: {}},
)
def file(
    path: str,
    request: Request,
    settings: SettingsDep,
) -> Response:
    """A CSV or Parquet dump listed in the manifest. The ETag is the file's SHA-256; closed
    periods never change and may be cached for good."""
    entry = next(
        (f for f in current_manifest(out_dir=settings.opendata_dir)["files"] if f["path"] == path),
        None,
    )
    full = Path(settings.opendata_dir) / path
    if entry is None or not full.is_file():
        raise NotFound(
            f"no open-data file {path!r}; the files are listed in "
            "/opendata/manifest.json and /opendata/catalog"
        )
    etag = f'"{entry["sha256"]}"'
    cache = "public, max-age=31536000, immutable" if entry["closed"] else "public, max-age=300"
    headers = {"etag": etag, "cache-control": cache}
    if_none_match = request.headers.get("if-none-match")
    tags = {t.strip() for t in if_none_match.split(",")} if if_none_match else set()
    if etag in tags or "*" in tags:
        return Response(status_code=304, headers=headers)
    return FileResponse(
        full,
        media_type=entry["media_type"],
        headers=headers,
        filename=full.name,
        content_disposition_type="inline",
    )
