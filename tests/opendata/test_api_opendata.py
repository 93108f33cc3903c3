"""The API serves the dumps (ETag, ranges) and a DCAT-AP.de catalogue a harvester can read."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF

from api.app import create_app
from loracity.settings import Settings
from opendata.export import export
from opendata.privacy import PrivacyRule
from tests.opendata.conftest import NOW

SHAPES = Path(__file__).parent.parent / "data" / "opendata" / "dcat-ap-de-3.0-shapes.ttl"
DCAT = Namespace("http://www.w3.org/ns/dcat#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
BASE = "http://testserver"
DAY = "climate/day/climate_2026-11-29.csv"


@pytest.fixture(scope="module")
def history_url(shared_history_url: str) -> str:
    return shared_history_url


@pytest.fixture(scope="module")
def exported(history_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("opendata")
    with psycopg.connect(history_url) as conn:
        export(conn=conn, out_dir=out, rule=PrivacyRule(), timezone="Europe/Berlin", now=NOW)
    return out


def _client(history_url: str, out: Path, **extra: Any) -> TestClient:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=history_url, opendata_dir=out, opendata_base_url=BASE, **extra
    )
    return TestClient(create_app(settings=settings), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def client(history_url: str, exported: Path) -> Iterator[TestClient]:
    with _client(history_url, exported) as c:
        yield c


def test_files_are_served_with_etag_and_ranges(client: TestClient, exported: Path) -> None:
    data = (exported / DAY).read_bytes()
    r = client.get(f"/opendata/files/{DAY}")
    assert r.status_code == 200
    assert r.content == data
    assert r.headers["etag"] == f'"{hashlib.sha256(data).hexdigest()}"'
    assert r.headers["content-type"].startswith("text/csv")
    assert "immutable" in r.headers["cache-control"]  # the 29th is closed
    part = client.get(f"/opendata/files/{DAY}", headers={"Range": "bytes=10-109"})
    assert part.status_code == 206
    assert part.content == data[10:110]
    assert part.headers["content-range"] == f"bytes 10-109/{len(data)}"
    same = client.get(f"/opendata/files/{DAY}", headers={"If-None-Match": r.headers["etag"]})
    assert same.status_code == 304
    assert same.content == b""
    open_day = client.get("/opendata/files/climate/day/climate_2026-11-30.csv")
    assert "immutable" not in open_day.headers["cache-control"]


@pytest.mark.parametrize(
    "path", ["manifest.json", "..%2Fmanifest.json", "climate/day/nope.csv", "%2e%2e/%2e%2e/dev"]
)
def test_only_listed_files_are_served(client: TestClient, path: str) -> None:
    r = client.get(f"/opendata/files/{path}")
    assert r.status_code == 404
    assert "manifest" in r.json()["detail"]


@pytest.mark.parametrize(
    ("accept", "media", "fmt"),
    [
        (None, "text/turtle", "turtle"),
        ("text/turtle", "text/turtle", "turtle"),
        ("application/ld+json", "application/ld+json", "json-ld"),
        ("application/rdf+xml;q=0.9, text/html;q=1", "application/rdf+xml", "xml"),
    ],
)
# rdflib's JSON-LD parser uses its own deprecated ConjunctiveGraph internally.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
def test_catalog_content_negotiation(
    client: TestClient, accept: str | None, media: str, fmt: str
) -> None:
    r = client.get("/opendata/catalog", headers={"Accept": accept} if accept else {})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith(media)
    g = Graph().parse(data=r.content, format=fmt)
    assert (URIRef(f"{BASE}/opendata/catalog"), RDF.type, DCAT.Catalog) in g


def test_catalog_refuses_what_it_cannot_serve(client: TestClient) -> None:
    assert client.get("/opendata/catalog", headers={"Accept": "text/html"}).status_code == 406
    assert client.get("/opendata/catalog?format=pdf").status_code == 422


def _catalog(client: TestClient, url: str = "/opendata/catalog") -> Graph:
    r = client.get(url, headers={"Accept": "text/turtle"})
    assert r.status_code == 200
    return Graph().parse(data=r.content, format="turtle")


def test_catalog_validates_against_dcat_ap_de_shapes(client: TestClient) -> None:
    conforms, _, report = validate(
        _catalog(client), shacl_graph=Graph().parse(SHAPES), allow_warnings=False
    )
    assert conforms, report


def test_shapes_catch_a_missing_licence(client: TestClient) -> None:
    g = _catalog(client)
    for triple in list(g.triples((None, DCTERMS.license, None))):
        g.remove(triple)
    conforms, _, report = validate(g, shacl_graph=Graph().parse(SHAPES), allow_warnings=False)
    assert not conforms
    assert "license" in report


def test_harvester_fields(client: TestClient) -> None:
    """What ckanext-dcat's DCAT-AP profile reads for a package and its resources, and that
    the download links, sizes and checksums are true."""
    g = _catalog(client)
    catalog = URIRef(f"{BASE}/opendata/catalog")
    licence = URIRef("http://dcat-ap.de/def/licenses/dl-zero-de/2.0")
    assert g.value(catalog, DCTERMS.license) == licence
    publisher = g.value(catalog, DCTERMS.publisher)
    assert g.value(publisher, FOAF.name) is not None
    series = URIRef(f"{BASE}/opendata/datasets/climate")
    month = URIRef(f"{BASE}/opendata/datasets/climate/2026-11")
    assert (series, RDF.type, DCAT.DatasetSeries) in g
    assert (month, DCAT.inSeries, series) in g
    assert str(g.value(month, DCTERMS.identifier)) == "climate/2026-11"
    assert g.value(month, DCAT.theme) == URIRef(
        "http://publications.europa.eu/resource/authority/data-theme/ENVI"
    )
    contact = g.value(month, DCAT.contactPoint)
    assert str(g.value(contact, VCARD.hasEmail)).startswith("mailto:")
    period = g.value(month, DCTERMS.temporal)
    start, end = g.value(period, DCAT.startDate), g.value(period, DCAT.endDate)
    assert isinstance(start, Literal)
    assert isinstance(end, Literal)
    # November in Berlin: 1 November 00:00 local to 1 December 00:00 local
    assert start.toPython() == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert end.toPython() == datetime(2026, 11, 30, 23, tzinfo=UTC)
    assert g.value(month, URIRef("http://dcat-ap.de/def/dcatde/contributorID")) is not None
    dists = list(g.objects(month, DCAT.distribution))
    assert len(dists) == 6  # month + 2 days, CSV and Parquet
    for dist in dists:
        url = g.value(dist, DCAT.downloadURL)
        assert url == g.value(dist, DCAT.accessURL)
        assert g.value(dist, DCTERMS.license) == licence
        assert g.value(dist, DCTERMS.format) is not None
        body = client.get(str(url).removeprefix(BASE)).content
        assert int(str(g.value(dist, DCAT.byteSize))) == len(body)
        checksum = g.value(dist, SPDX.checksum)
        assert str(g.value(checksum, SPDX.checksumValue)) == hashlib.sha256(body).hexdigest()
    services = set(g.objects(catalog, DCAT.service))
    endpoints = {str(g.value(s, DCAT.endpointURL)) for s in services}
    assert endpoints == {f"{BASE}/v1", f"{BASE}/sta/v1.1"}


def test_catalog_is_paged_with_hydra(history_url: str, exported: Path) -> None:
    with _client(history_url, exported) as c:
        everything = set(_catalog(c).objects(URIRef(f"{BASE}/opendata/catalog"), DCAT.dataset))
    seen: set[URIRef] = set()
    pages = 0
    with _client(history_url, exported, opendata_page_size=3) as c:
        url: str | None = "/opendata/catalog"
        while url:
            g = _catalog(c, url)
            items = set(g.objects(URIRef(f"{BASE}/opendata/catalog"), DCAT.dataset))
            assert 0 < len(items) <= 3
            seen |= items  # type: ignore[arg-type]
            nxt = next(g.objects(None, HYDRA.nextPage), None)
            url = str(nxt).removeprefix(BASE) if nxt else None
            pages += 1
    assert pages > 1
    assert seen == everything
