"""SensorThings API v1.1 (read-only) on top of :mod:`storage.sensorthings`: resource paths,
navigation between entity sets, query options, ``$expand`` and the JSON the clients expect.

People counts are Observations only as the privacy rule publishes them: buckets of at least
15 minutes, small counts suppressed (result ``null``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import psycopg

from opendata.privacy import PEOPLE_QUANTITIES, PrivacyRule, bucket_aggregate, suppress_sql
from opendata.sta_query import Options, QueryError, compile_filter
from storage.sensorthings import SETS, EntitySet, PeopleSource, select

VERSION_PATH = "/sta/v1.1"
CONFORMANCE = (
    "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
)

Where = list[tuple[str, Sequence[Any]]]
_KEY3 = ("_thing", "_property", "_channel")


class NotFoundError(LookupError):
    """A path that names no entity set or no entity."""


@dataclass(slots=True, frozen=True)
class Link:
    target: str
    many: bool
    where: Callable[[Mapping[str, Any]], Where]


def _eq(col: str, key: str) -> Callable[[Mapping[str, Any]], Where]:
    return lambda row: [(f'e."{col}" = %s', [row[key]])]


def _stream(row: Mapping[str, Any]) -> Where:
    return [
        (
            "e._thing = %s AND e._property = %s AND e._channel = %s",
            [row["_thing"], row["_property"], row["_channel"]],
        )
    ]


LINKS: Mapping[str, Mapping[str, Link]] = {
    "Things": {
        "Locations": Link("Locations", True, _eq("_thing", "id")),
        "Datastreams": Link("Datastreams", True, _eq("_thing", "id")),
        "HistoricalLocations": Link("HistoricalLocations", True, _eq("_thing", "id")),
    },
    "Locations": {
        "Things": Link("Things", True, _eq("_thing", "_thing")),
        "HistoricalLocations": Link("HistoricalLocations", True, _eq("_thing", "_thing")),
    },
    "HistoricalLocations": {
        "Thing": Link("Things", False, _eq("_thing", "_thing")),
        "Locations": Link("Locations", True, _eq("_thing", "_thing")),
    },
    "Datastreams": {
        "Thing": Link("Things", False, _eq("_thing", "_thing")),
        "Sensor": Link("Sensors", False, _eq("id", "_sensor")),
        "ObservedProperty": Link("ObservedProperties", False, _eq("id", "_property")),
        "Observations": Link("Observations", True, _stream),
    },
    "Sensors": {"Datastreams": Link("Datastreams", True, _eq("_sensor", "id"))},
    "ObservedProperties": {"Datastreams": Link("Datastreams", True, _eq("_property", "id"))},
    "Observations": {
        "Datastream": Link("Datastreams", False, _stream),
        "FeatureOfInterest": Link("FeaturesOfInterest", False, _eq("_thing", "_thing")),
    },
    "FeaturesOfInterest": {"Observations": Link("Observations", True, _eq("_thing", "id"))},
}

_PATH = re.compile(
    r"^(?P<set>[A-Za-z]+)(?:\((?P<id>'(?:[^']|'')*'|\d+)\))?(?:/(?P<nav>[A-Za-z]+))?$"
)


def people_source(rule: PrivacyRule) -> PeopleSource:
    """How Observations publish people counts under ``rule``."""
    people = sorted(PEOPLE_QUANTITIES)
    return PeopleSource(
        people=people,
        summed=[q for q in people if bucket_aggregate(q) == "sum"],
        bucket=rule.bucket,
        published_sql=suppress_sql(rule=rule, expr="a.value"),
    )


def id_where(entity: str, ident: str) -> Where:
    """The clause that finds one entity by its ``@iot.id``."""
    if entity == "Datastreams":
        parts = ident.split(":")
        if len(parts) != 3 or not parts[2].isdigit():
            raise NotFoundError(
                f"no Datastream {ident!r}: ids look like <deveui>:<quantity>:<channel>"
            )
        return [
            (
                "e._thing = %s AND e._property = %s AND e._channel = %s",
                [parts[0], parts[1], int(parts[2])],
            )
        ]
    if entity == "Observations":
        parts = ident.split(":")
        if len(parts) != 4 or not parts[2].isdigit() or not parts[3].lstrip("-").isdigit():
            raise NotFoundError(f"no Observation {ident!r}")
        when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(parts[3]))
        return [
            (
                "e._thing = %s AND e._property = %s AND e._channel = %s"
                ' AND e."phenomenonTime" = %s',
                [parts[0], parts[1], int(parts[2]), when],
            )
        ]
    return [("e.id = %s", [ident])]


class Reader:
    """Answers one request: resolves the path, runs the queries, shapes the JSON."""

    def __init__(
        self, *, conn: psycopg.AsyncConnection[Any], root: str, base_url: str, rule: PrivacyRule
    ) -> None:
        self.conn = conn
        self.root = root.rstrip("/")
        self.base_url = base_url
        self.people = people_source(rule)

    async def get(self, *, path: str, options: Options, query: Mapping[str, str]) -> dict[str, Any]:
        """The document for ``path`` (relative to the version root)."""
        m = _PATH.match(path)
        if m is None or m.group("set") not in SETS:
            raise NotFoundError(f"no such resource {path!r}; the entity sets are {', '.join(SETS)}")
        set_name, raw_id, nav = m.group("set"), m.group("id"), m.group("nav")
        if raw_id is None:
            if nav is not None:
                raise NotFoundError(
                    f"{set_name}/{nav}: name one entity first, e.g. {set_name}('id')/{nav}"
                )
            return await self.collection(set_name, [], options, query=query)
        ident = raw_id[1:-1].replace("''", "'") if raw_id.startswith("'") else raw_id
        rows, _ = await self._select(
            SETS[set_name], id_where(set_name, ident), Options(top=1), extra_limit=0
        )
        if not rows:
            raise NotFoundError(
                f"no {set_name[:-1] if set_name.endswith('s') else set_name} with id {ident!r}"
            )
        if nav is None:
            return (await self._shape(set_name, rows, options))[0]
        link = LINKS[set_name].get(nav)
        if link is None:
            raise NotFoundError(
                f"{set_name} have no navigation property {nav!r}; they have "
                f"{', '.join(LINKS[set_name])}"
            )
        if link.many:
            return await self.collection(link.target, link.where(rows[0]), options, query=query)
        targets, _ = await self._select(
            SETS[link.target], link.where(rows[0]), Options(top=1), extra_limit=0
        )
        if not targets:
            raise NotFoundError(f"{set_name}('{ident}')/{nav} is empty")
        return (await self._shape(link.target, targets, options))[0]

    async def collection(
        self, set_name: str, where: Where, options: Options, *, query: Mapping[str, str] | None
    ) -> dict[str, Any]:
        """A collection document with ``value``, ``@iot.count`` and ``@iot.nextLink``."""
        rows, total = await self._select(SETS[set_name], where, options, extra_limit=1)
        more = len(rows) > options.top
        rows = rows[: options.top]
        doc: dict[str, Any] = {}
        if total is not None:
            doc["@iot.count"] = total
        doc["value"] = await self._shape(set_name, rows, options)
        if more and query is not None:
            nxt = {k: v for k, v in query.items()}
            nxt["$skip"] = str(options.skip + options.top)
            nxt["$top"] = str(options.top)
            doc["@iot.nextLink"] = f"{self.root}/{set_name}?{_query_string(nxt)}"
        elif more:
            doc["@iot.nextLink"] = True  # marker for nested collections, replaced by caller
        return doc

    async def _select(
        self, entity: EntitySet, where: Where, options: Options, *, extra_limit: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        clauses = list(where)
        if options.filter is not None:
            clauses.append(
                compile_filter(options.filter, column=_column(entity), point=_point(entity))
            )
        order = [
            f"{_column(entity)(p)} {'DESC' if desc else 'ASC'} NULLS LAST"
            for p, desc in options.orderby
        ]
        if entity.name == "Observations" and not options.orderby:
            order.append('e."phenomenonTime" ASC')
        order.append("e.id ASC")
        return await select(
            conn=self.conn,
            entity=entity,
            base_url=self.base_url,
            people=self.people,
            where=clauses,
            order=order,
            limit=options.top + extra_limit,
            offset=options.skip,
            count=options.count,
        )

    async def _shape(
        self, set_name: str, rows: list[dict[str, Any]], options: Options
    ) -> list[dict[str, Any]]:
        entity = SETS[set_name]
        out: list[dict[str, Any]] = []
        for row in rows:
            self_link = f"{self.root}/{set_name}('{quote(str(row['id']), safe=':')}')"
            doc: dict[str, Any] = {"@iot.selfLink": self_link, "@iot.id": row["id"]}
            for prop in entity.properties:
                if prop == "id":
                    continue
                doc[prop] = _value(set_name, prop, row)
            for nav in LINKS[set_name]:
                doc[f"{nav}@iot.navigationLink"] = f"{self_link}/{nav}"
            if options.select is not None:
                keep = set(options.select)
                doc = {
                    k: v
                    for k, v in doc.items()
                    if k.split("@")[0] in keep
                    or (k == "@iot.id" and "id" in keep)
                    or (k == "@iot.selfLink" and "id" in keep)
                }
            for nav, child in options.expand.items():
                link = LINKS[set_name].get(nav)
                if link is None:
                    raise QueryError(f"$expand: {set_name} have no navigation property {nav!r}")
                if link.many:
                    sub = await self.collection(link.target, link.where(row), child, query=None)
                    doc[nav] = sub["value"]
                    if sub.get("@iot.nextLink"):
                        doc[f"{nav}@iot.nextLink"] = (
                            f"{self_link}/{nav}?$skip={child.skip + child.top}&$top={child.top}"
                        )
                    if "@iot.count" in sub:
                        doc[f"{nav}@iot.count"] = sub["@iot.count"]
                else:
                    one, _ = await self._select(
                        SETS[link.target], link.where(row), Options(top=1), extra_limit=0
                    )
                    shaped = await self._shape(link.target, one, child)
                    doc[nav] = shaped[0] if shaped else None
            out.append(doc)
        return out


def _query_string(params: Mapping[str, str]) -> str:
    # $ and the punctuation of the query language stay readable, as other servers write them.
    safe = "$'(),;/:"
    return "&".join(f"{quote(k, safe=safe)}={quote(v, safe=safe)}" for k, v in params.items())


def _value(set_name: str, prop: str, row: Mapping[str, Any]) -> Any:
    value = row[prop]
    if isinstance(value, datetime):
        text = _iso(value)
        if prop == "phenomenonTime" and row.get("_phenomenon_end") is not None:
            return f"{text}/{_iso(row['_phenomenon_end'])}"
        return text
    return value


def _iso(t: datetime) -> str:
    t = t.astimezone(UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if t.microsecond else "%Y-%m-%dT%H:%M:%SZ")


def _column(entity: EntitySet) -> Callable[[str], str]:
    def column(name: str) -> str:
        if name in ("id", "@iot.id"):
            return "e.id"
        if name in entity.properties:
            return f'e."{name}"'
        raise QueryError(
            f"{entity.name} have no property {name!r} to filter or sort on; "
            f"they have {', '.join(entity.properties)}"
        )

    return column


_GEO_PROPS = {
    "location",
    "feature",
    "observedArea",
    "Locations/location",
    "Thing/Locations/location",
    "FeatureOfInterest/feature",
}


def _point(entity: EntitySet) -> Callable[[str], tuple[str, str]]:
    def point(name: str) -> tuple[str, str]:
        if entity.location is None or name not in _GEO_PROPS:
            raise QueryError(
                f"geo functions on {entity.name} take one of "
                f"{', '.join(sorted(_GEO_PROPS))} where the entity has a position"
            )
        lon, lat = entity.location
        return f"e.{lon}", f"e.{lat}"

    return point


def root_document(root: str) -> dict[str, Any]:
    """The service root: entity sets and the conformance classes claimed."""
    return {
        "value": [{"name": name, "url": f"{root}/{name}"} for name in SETS],
        "serverSettings": {"conformance": list(CONFORMANCE)},
    }
