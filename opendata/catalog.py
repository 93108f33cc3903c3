"""The DCAT-AP.de catalogue of the open-data dumps, built with rdflib from the manifest.

One ``dcat:DatasetSeries`` per dataset (a quantity group or a site's people flow) with one
``dcat:Dataset`` per month (``dcat:inSeries``), each with its CSV and Parquet files as
``dcat:Distribution``s (the month's and the days'); the API and the SensorThings endpoint are
``dcat:DataService``s. Long catalogues are paged with Hydra, as CKAN's DCAT harvester reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, FOAF, RDF, XSD

# rdflib's own DCAT namespace is DCAT 2 and warns on DCAT 3 terms (DatasetSeries, inSeries).
DCAT = Namespace("http://www.w3.org/ns/dcat#")
DCATDE = Namespace("http://dcat-ap.de/def/dcatde/")
ADMS = Namespace("http://www.w3.org/ns/adms#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
THEME = Namespace("http://publications.europa.eu/resource/authority/data-theme/")
FREQUENCY = Namespace("http://publications.europa.eu/resource/authority/frequency/")
FILE_TYPE = Namespace("http://publications.europa.eu/resource/authority/file-type/")
LANGUAGE = Namespace("http://publications.europa.eu/resource/authority/language/")
STATUS = Namespace("http://purl.org/adms/status/")
PUBLISHER_TYPE = Namespace("http://purl.org/adms/publishertype/")
IANA = Namespace("https://www.iana.org/assignments/media-types/")

#: The specification the catalogue follows (dct:conformsTo on the catalogue).
DCAT_AP_DE = URIRef("http://dcat-ap.de/def/dcatde/3.0")
STA_CONFORMANCE = URIRef("http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel")

_FILE_TYPES = {"csv": FILE_TYPE.CSV, "parquet": FILE_TYPE.PARQUET}


@dataclass(slots=True, frozen=True)
class CatalogConfig:
    """What the operator says about the catalogue (from ``LORACITY_OPENDATA_*``)."""

    base_url: str
    title: str
    description: str
    publisher_name: str
    publisher_uri: str
    contact_email: str
    licence: str
    contributor_id: str
    political_geocoding_uri: str
    page_size: int = 100


def bind_prefixes(graph: Graph) -> None:
    """Readable prefixes in Turtle and RDF/XML."""
    for prefix, ns in (
        ("dcat", DCAT),
        ("dct", DCTERMS),
        ("foaf", FOAF),
        ("dcatde", DCATDE),
        ("adms", ADMS),
        ("spdx", SPDX),
        ("vcard", VCARD),
        ("hydra", HYDRA),
    ):
        graph.bind(prefix, ns, override=True)


def build_catalog(
    *, manifest: Mapping[str, Any], config: CatalogConfig, page: int = 1
) -> tuple[Graph, int]:
    """The catalogue graph for ``page`` (1-based) and the number of pages.

    Datasets (series first, then months) are paged ``config.page_size`` at a time; the
    catalogue itself, its publisher and the data services are on every page.
    """
    base = config.base_url.rstrip("/")
    g = Graph()
    bind_prefixes(g)
    catalog = URIRef(f"{base}/opendata/catalog")
    licence = URIRef(config.licence)
    publisher = URIRef(config.publisher_uri)
    contact = URIRef(f"{base}/opendata/catalog#contact")

    g.add((publisher, RDF.type, FOAF.Agent))
    g.add((publisher, RDF.type, FOAF.Organization))
    g.add((publisher, FOAF.name, Literal(config.publisher_name)))
    g.add((publisher, DCTERMS.type, PUBLISHER_TYPE.LocalAuthority))
    g.add((contact, RDF.type, VCARD.Kind))
    g.add((contact, RDF.type, VCARD.Organization))
    g.add((contact, VCARD.fn, Literal(config.publisher_name)))
    g.add((contact, VCARD.hasEmail, URIRef(f"mailto:{config.contact_email}")))

    g.add((catalog, RDF.type, DCAT.Catalog))
    g.add((catalog, DCTERMS.title, Literal(config.title, lang="en")))
    g.add((catalog, DCTERMS.description, Literal(config.description, lang="en")))
    g.add((catalog, DCTERMS.publisher, publisher))
    g.add((catalog, DCAT.contactPoint, contact))
    g.add((catalog, DCTERMS.license, licence))
    g.add((catalog, DCTERMS.language, LANGUAGE.ENG))
    g.add((catalog, DCTERMS.conformsTo, DCAT_AP_DE))
    g.add((catalog, FOAF.homepage, URIRef(f"{base}/docs")))
    g.add((catalog, DCATDE.contributorID, URIRef(config.contributor_id)))
    if manifest.get("generated_at"):
        g.add((catalog, DCTERMS.modified, Literal(manifest["generated_at"], datatype=XSD.dateTime)))

    series_ids: dict[str, URIRef] = {}
    items: list[tuple[str, Any]] = []
    for ds_id, ds in manifest.get("datasets", {}).items():
        series_ids[ds_id] = URIRef(f"{base}/opendata/datasets/{quote(ds_id)}")
        items.append(("series", ds))
    files_by_month: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for f in manifest.get("files", []):
        month = f["period"][:7]
        files_by_month.setdefault((f["dataset"], month), []).append(f)
    for key in sorted(files_by_month):
        if key[0] in series_ids:
            items.append(("month", key))

    pages = max(1, -(-len(items) // config.page_size))
    page = min(max(page, 1), pages)
    shown = items[(page - 1) * config.page_size : page * config.page_size]

    def common(node: URIRef, ds: Mapping[str, Any]) -> None:
        g.add((node, DCTERMS.publisher, publisher))
        g.add((node, DCAT.contactPoint, contact))
        g.add((node, DCAT.theme, THEME[ds["theme"]]))
        for kw in ds["keywords"]:
            g.add((node, DCAT.keyword, Literal(kw, lang="en")))
        g.add((node, DCATDE.contributorID, URIRef(config.contributor_id)))
        g.add((node, DCATDE.politicalGeocodingURI, URIRef(config.political_geocoding_uri)))
        g.add((node, DCTERMS.language, LANGUAGE.ENG))

    for kind, item in shown:
        if kind == "series":
            ds = item
            node = series_ids[ds["id"]]
            g.add((catalog, DCAT.dataset, node))
            g.add((node, RDF.type, DCAT.DatasetSeries))
            g.add((node, RDF.type, DCAT.Dataset))  # for harvesters that do not infer
            g.add((node, DCTERMS.identifier, Literal(ds["id"])))
            g.add((node, DCTERMS.title, Literal(ds["title"], lang="en")))
            g.add((node, DCTERMS.description, Literal(ds["description"], lang="en")))
            g.add((node, DCAT.landingPage, URIRef(f"{base}/opendata/manifest.json")))
            g.add((node, DCTERMS.accrualPeriodicity, FREQUENCY.DAILY))
            common(node, ds)
            continue
        ds_id, month = item
        ds = manifest["datasets"][ds_id]
        files = files_by_month[(ds_id, month)]
        month_files = [f for f in files if f["granularity"] == "month"]
        closed = bool(month_files) and all(f["closed"] for f in month_files)
        node = URIRef(f"{series_ids[ds_id]}/{month}")
        g.add((catalog, DCAT.dataset, node))
        g.add((node, RDF.type, DCAT.Dataset))
        g.add((node, DCAT.inSeries, series_ids[ds_id]))
        g.add((node, DCTERMS.identifier, Literal(f"{ds_id}/{month}")))
        g.add((node, DCTERMS.title, Literal(f"{ds['title']}, {month}", lang="en")))
        g.add(
            (
                node,
                DCTERMS.description,
                Literal(
                    f"{ds['description']} Month {month} "
                    f"(local time, {manifest.get('timezone', '')}); "
                    "one file for the month and one per day, as CSV and Parquet.",
                    lang="en",
                ),
            )
        )
        g.add((node, DCTERMS.accrualPeriodicity, FREQUENCY.NEVER if closed else FREQUENCY.DAILY))
        common(node, ds)
        start = min(f["start"] for f in files)
        end = max(f["end"] for f in files)
        period = BNode()
        g.add((node, DCTERMS.temporal, period))
        g.add((period, RDF.type, DCTERMS.PeriodOfTime))
        g.add((period, DCAT.startDate, Literal(start, datatype=XSD.dateTime)))
        g.add((period, DCAT.endDate, Literal(end, datatype=XSD.dateTime)))
        for f in sorted(files, key=lambda f: (f["granularity"] != "month", f["path"])):
            _distribution(g, node=node, f=f, base=base, licence=licence)

    for service, title, endpoint, description, conforms in (
        ("api", "loracity urban-data API", f"{base}/v1", f"{base}/openapi.json", None),
        (
            "sensorthings",
            "OGC SensorThings API v1.1 (read-only)",
            f"{base}/sta/v1.1",
            f"{base}/sta/v1.1",
            STA_CONFORMANCE,
        ),
    ):
        node = URIRef(f"{base}/opendata/services/{service}")
        g.add((catalog, DCAT.service, node))
        g.add((node, RDF.type, DCAT.DataService))
        g.add((node, DCTERMS.title, Literal(title, lang="en")))
        g.add((node, DCAT.endpointURL, URIRef(endpoint)))
        g.add((node, DCAT.endpointDescription, URIRef(description)))
        g.add((node, DCTERMS.license, licence))
        g.add((node, DCTERMS.publisher, publisher))
        g.add((node, DCAT.contactPoint, contact))
        if conforms is not None:
            g.add((node, DCTERMS.conformsTo, conforms))
        for series in series_ids.values():
            g.add((node, DCAT.servesDataset, series))

    if pages > 1:
        _hydra(g, catalog=catalog, page=page, pages=pages, total=len(items), size=config.page_size)
    return g, pages


def _distribution(
    g: Graph, *, node: URIRef, f: Mapping[str, Any], base: str, licence: URIRef
) -> None:
    url = URIRef(f"{base}/opendata/files/{quote(f['path'])}")
    dist = URIRef(f"{base}/opendata/distributions/{quote(f['path'])}")
    fmt = f["format"]
    g.add((node, DCAT.distribution, dist))
    g.add((dist, RDF.type, DCAT.Distribution))
    what = "month" if f["granularity"] == "month" else "day"
    g.add((dist, DCTERMS.title, Literal(f"{f['period']} ({what}, {fmt.upper()})", lang="en")))
    g.add(
        (
            dist,
            DCTERMS.description,
            Literal(
                f"{f['rows']} rows; columns documented in {base}/opendata/manifest.json", lang="en"
            ),
        )
    )
    g.add((dist, DCAT.accessURL, url))
    g.add((dist, DCAT.downloadURL, url))
    g.add((dist, DCTERMS.format, _FILE_TYPES[fmt]))
    g.add((dist, DCAT.mediaType, IANA[f["media_type"]]))
    g.add((dist, DCAT.byteSize, Literal(f["bytes"], datatype=XSD.nonNegativeInteger)))
    g.add((dist, DCTERMS.license, licence))
    g.add((dist, DCTERMS.modified, Literal(f["written_at"], datatype=XSD.dateTime)))
    g.add((dist, ADMS.status, STATUS.Completed if f["closed"] else STATUS.UnderDevelopment))
    checksum = BNode()
    g.add((dist, SPDX.checksum, checksum))
    g.add((checksum, RDF.type, SPDX.Checksum))
    g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
    g.add((checksum, SPDX.checksumValue, Literal(f["sha256"], datatype=XSD.hexBinary)))


def _hydra(g: Graph, *, catalog: URIRef, page: int, pages: int, total: int, size: int) -> None:
    """Paging as ckanext-dcat reads it (hydra:PagedCollection) and as Hydra now spells it
    (hydra:PartialCollectionView)."""

    def at(n: int) -> URIRef:
        return URIRef(f"{catalog}?page={n}")

    view = at(page)
    g.add((view, RDF.type, HYDRA.PartialCollectionView))
    g.add((view, RDF.type, HYDRA.PagedCollection))
    g.add((view, HYDRA.totalItems, Literal(total, datatype=XSD.integer)))
    g.add((view, HYDRA.itemsPerPage, Literal(size, datatype=XSD.integer)))
    for new, old, n in ((HYDRA.first, HYDRA.firstPage, 1), (HYDRA.last, HYDRA.lastPage, pages)):
        g.add((view, new, at(n)))
        g.add((view, old, Literal(str(at(n)))))
    if page < pages:
        g.add((view, HYDRA.next, at(page + 1)))
        g.add((view, HYDRA.nextPage, Literal(str(at(page + 1)))))
    if page > 1:
        g.add((view, HYDRA.previous, at(page - 1)))
        g.add((view, HYDRA.previousPage, Literal(str(at(page - 1)))))
