"""The SensorThings query language: ``$top``, ``$skip``, ``$count``, ``$orderby``, ``$select``,
``$expand`` (nested, with its own options) and a ``$filter`` subset, parsed into plain objects.

Pure: no SQL here beyond the compiled filter, which refers to the entity's columns by name and
passes every literal as a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DEFAULT_TOP = 100
MAX_TOP = 10_000


class QueryError(ValueError):
    """A query option the server cannot answer; the message says what to change."""


@dataclass(slots=True)
class Options:
    """The query options of one level (the request, or one ``$expand`` item)."""

    top: int = DEFAULT_TOP
    skip: int = 0
    count: bool = False
    orderby: list[tuple[str, bool]] = field(default_factory=list)  # (property, descending)
    select: list[str] | None = None
    filter: Node | None = None
    expand: dict[str, Options] = field(default_factory=dict)


# --- $filter syntax tree ------------------------------------------------------------------


@dataclass(slots=True, frozen=True)
class Prop:
    name: str  # a property, or a path such as Locations/location


@dataclass(slots=True, frozen=True)
class Lit:
    value: Any


@dataclass(slots=True, frozen=True)
class Geo:
    wkt: str


@dataclass(slots=True, frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(slots=True, frozen=True)
class BinOp:
    op: str  # eq ne gt ge lt le and or add sub mul div mod
    left: Node
    right: Node


@dataclass(slots=True, frozen=True)
class Not:
    operand: Node


Node = Prop | Lit | Geo | Call | BinOp | Not

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<geo>geography'(?P<wkt>[^']*)')
    | (?P<str>'(?:[^']|'')*')
    | (?P<dt>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
    | (?P<num>-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
    | (?P<name>[A-Za-z_@][A-Za-z0-9_.@]*(?:/[A-Za-z_][A-Za-z0-9_]*)*)
    | (?P<punct>[(),])
    )""",
    re.VERBOSE,
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}
_ARITH = {"add", "sub", "mul", "div", "mod"}


def _tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise QueryError(f"$filter: cannot read {text[pos : pos + 20]!r}")
        pos = m.end()
        if m.group("geo") is not None:
            out.append(("geo", m.group("wkt")))
        elif m.group("str") is not None:
            out.append(("lit", m.group("str")[1:-1].replace("''", "'")))
        elif m.group("dt") is not None:
            out.append(("lit", datetime.fromisoformat(m.group("dt").replace("Z", "+00:00"))))
        elif m.group("num") is not None:
            n = m.group("num")
            out.append(("lit", float(n) if any(c in n for c in ".eE") else int(n)))
        elif m.group("name") is not None:
            out.append(("name", m.group("name")))
        else:
            out.append(("punct", m.group("punct")))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, Any] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, Any]:
        tok = self.peek()
        if tok is None:
            raise QueryError("$filter ends too early")
        self.i += 1
        return tok

    def expect(self, punct: str) -> None:
        tok = self.take()
        if tok != ("punct", punct):
            raise QueryError(f"$filter: expected {punct!r}, found {tok[1]!r}")

    def word(self, *words: str) -> str | None:
        tok = self.peek()
        if tok is not None and tok[0] == "name" and tok[1] in words:
            self.i += 1
            return str(tok[1])
        return None

    def parse(self) -> Node:
        node = self.or_()
        if self.peek() is not None:
            raise QueryError(f"$filter: unexpected {self.peek()[1]!r}")  # type: ignore[index]
        return node

    def or_(self) -> Node:
        node = self.and_()
        while self.word("or"):
            node = BinOp("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.not_()
        while self.word("and"):
            node = BinOp("and", node, self.not_())
        return node

    def not_(self) -> Node:
        if self.word("not"):
            return Not(self.not_())
        return self.compare()

    def compare(self) -> Node:
        node = self.additive()
        op = self.word(*_COMPARE)
        if op:
            node = BinOp(op, node, self.additive())
        return node

    def additive(self) -> Node:
        node = self.primary()
        while op := self.word(*_ARITH):
            node = BinOp(op, node, self.primary())
        return node

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "lit":
            return Lit(value)
        if kind == "geo":
            return Geo(value)
        if kind == "punct" and value == "(":
            node = self.or_()
            self.expect(")")
            return node
        if kind == "name":
            if value in ("true", "false"):
                return Lit(value == "true")
            if value == "null":
                return Lit(None)
            nxt = self.peek()
            if nxt == ("punct", "("):
                self.take()
                args: list[Node] = []
                if self.peek() != ("punct", ")"):
                    args.append(self.or_())
                    while self.peek() == ("punct", ","):
                        self.take()
                        args.append(self.or_())
                self.expect(")")
                return Call(value.lower(), tuple(args))
            return Prop(value)
        raise QueryError(f"$filter: unexpected {value!r}")


def parse_filter(text: str) -> Node:
    """Parse a ``$filter`` expression; raises QueryError saying what is wrong."""
    if not text.strip():
        raise QueryError("$filter is empty")
    return _Parser(text).parse()


# --- options ----------------------------------------------------------------------------


def _split(text: str, sep: str) -> list[str]:
    """Split at ``sep`` outside parentheses and quotes."""
    parts: list[str] = []
    depth = 0
    quoted = False
    cur = ""
    for ch in text:
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        if ch == sep and depth == 0 and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if depth != 0 or quoted:
        raise QueryError(f"unbalanced parentheses or quotes in {text!r}")
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def _int(name: str, value: str, *, high: int) -> int:
    try:
        n = int(value)
    except ValueError:
        raise QueryError(f"{name} must be a whole number, got {value!r}") from None
    if not 0 <= n <= high:
        raise QueryError(f"{name} must be between 0 and {high}, got {n}")
    return n


def parse_options(params: Mapping[str, str] | Sequence[tuple[str, str]]) -> Options:
    """Options from query parameters (``$top``...); unknown ``$`` options are refused.
    ``$expand`` may repeat (as inside an expand item's parentheses)."""
    opts = Options()
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    for key, value in pairs:
        if not key.startswith("$"):
            continue
        if key == "$top":
            opts.top = _int("$top", value, high=MAX_TOP)
        elif key == "$skip":
            opts.skip = _int("$skip", value, high=10**9)
        elif key == "$count":
            if value not in ("true", "false"):
                raise QueryError(f"$count is true or false, got {value!r}")
            opts.count = value == "true"
        elif key == "$orderby":
            opts.orderby = []
            for part in _split(value, ","):
                words = part.split()
                if len(words) > 2 or (len(words) == 2 and words[1] not in ("asc", "desc")):
                    raise QueryError(f"$orderby: expected 'property [asc|desc]', got {part!r}")
                opts.orderby.append((words[0], len(words) == 2 and words[1] == "desc"))
        elif key == "$select":
            opts.select = [p.strip() for p in value.split(",") if p.strip()]
        elif key == "$filter":
            opts.filter = parse_filter(value)
        elif key == "$expand":
            for item in _split(value, ","):
                _add_expand(opts, item)
        elif key in ("$resultFormat",):
            raise QueryError(f"{key} is not supported by this server")
        else:
            raise QueryError(f"unknown query option {key}")
    return opts


def _add_expand(opts: Options, item: str) -> None:
    inner = ""
    if "(" in item:
        head, _, rest = item.partition("(")
        if not rest.endswith(")"):
            raise QueryError(f"$expand: missing ')' in {item!r}")
        item, inner = head.strip(), rest[:-1]
    path = item.split("/")
    target = opts
    for i, nav in enumerate(path):
        child = target.expand.get(nav)
        if child is None:
            child = Options()
            target.expand[nav] = child
        if i == len(path) - 1 and inner:
            nested = parse_options(
                [(p.partition("=")[0].strip(), p.partition("=")[2]) for p in _split(inner, ";")]
            )
            child.top, child.skip, child.count = nested.top, nested.skip, nested.count
            child.orderby, child.select, child.filter = nested.orderby, nested.select, nested.filter
            child.expand.update(nested.expand)
        target = child


# --- compiling $filter to SQL ---------------------------------------------------------------

_SQL_COMPARE = {"eq": "=", "ne": "<>", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}
_SQL_ARITH = {"add": "+", "sub": "-", "mul": "*", "div": "/", "mod": "%"}
_TIME_PARTS = {"year", "month", "day", "hour", "minute", "second"}
_GEO = {"st_within", "geo.intersects", "st_intersects"}
_POLYGON = re.compile(r"^\s*POLYGON\s*\(\((?P<ring>[^()]*)\)\)\s*$", re.IGNORECASE)


def compile_filter(
    node: Node, *, column: Callable[[str], str], point: Callable[[str], tuple[str, str]]
) -> tuple[str, list[Any]]:
    """SQL for ``node``. ``column`` maps a property name to its SQL column (raising
    QueryError for unknown ones); ``point`` maps a location property to its (lon, lat)
    columns for the geo functions."""
    params: list[Any] = []

    def sql(n: Node) -> str:
        if isinstance(n, Lit):
            if n.value is None:
                return "NULL"
            params.append(n.value)
            return "%s"
        if isinstance(n, Prop):
            return column(n.name)
        if isinstance(n, Not):
            return f"(NOT {sql(n.operand)})"
        if isinstance(n, BinOp):
            if n.op in ("and", "or"):
                return f"({sql(n.left)} {n.op.upper()} {sql(n.right)})"
            if n.op in _SQL_COMPARE:
                if isinstance(n.right, Lit) and n.right.value is None:
                    neg = "NOT " if n.op == "ne" else ""
                    return f"({sql(n.left)} IS {neg}NULL)"
                return f"({sql(n.left)} {_SQL_COMPARE[n.op]} {sql(n.right)})"
            return f"({sql(n.left)} {_SQL_ARITH[n.op]} {sql(n.right)})"
        if isinstance(n, Geo):
            raise QueryError("a geography literal only goes into st_within or geo.intersects")
        return call(n)

    def call(n: Call) -> str:
        a = n.args
        if n.name in ("startswith", "endswith", "substringof", "contains") and len(a) == 2:
            if n.name == "substringof":
                needle, hay = a
            else:
                hay, needle = a
            h = sql(hay)
            esc = _escaped(sql(needle))
            like = {"startswith": f"{esc} || '%%'", "endswith": f"'%%' || {esc}"}.get(
                n.name, f"'%%' || {esc} || '%%'"
            )
            return f"(({h})::text LIKE ({like}))"
        if n.name == "indexof" and len(a) == 2:
            h = sql(a[0])
            return f"(strpos(({h})::text, {sql(a[1])}) - 1)"
        if n.name in ("tolower", "toupper", "length", "trim") and len(a) == 1:
            fn = {"tolower": "lower", "toupper": "upper", "length": "length", "trim": "btrim"}
            return f"{fn[n.name]}(({sql(a[0])})::text)"
        if n.name in _TIME_PARTS and len(a) == 1:
            return f"extract({n.name} FROM {sql(a[0])} AT TIME ZONE 'UTC')"
        if n.name == "now" and not a:
            return "now()"
        if n.name in ("round", "floor", "ceiling") and len(a) == 1:
            return f"{'ceil' if n.name == 'ceiling' else n.name}({sql(a[0])})"
        if n.name in _GEO and len(a) == 2:
            prop, geo = a
            if not isinstance(prop, Prop) or not isinstance(geo, Geo):
                raise QueryError(f"{n.name}(property, geography'POLYGON((...))') is supported")
            lon, lat = point(prop.name)
            params.append(_polygon(geo.wkt))
            return f"(point({lon}, {lat}) <@ %s::polygon)"
        raise QueryError(f"$filter function {n.name}() with {len(a)} arguments is not supported")

    return sql(node), params


def _escaped(param_sql: str) -> str:
    # LIKE metacharacters in the value are matched literally.
    return f"replace(replace(replace({param_sql}, '\\', '\\\\'), '%%', '\\%%'), '_', '\\_')"


def _polygon(wkt: str) -> str:
    m = _POLYGON.match(wkt)
    if m is None:
        raise QueryError(f"only POLYGON((lon lat, ...)) geographies are supported, got {wkt!r}")
    points = []
    for pair in m.group("ring").split(","):
        try:
            x, y = (float(v) for v in pair.split())
        except ValueError:
            raise QueryError(f"bad coordinate pair {pair.strip()!r} in {wkt!r}") from None
        points.append(f"({x},{y})")
    if len(points) < 3:
        raise QueryError("a polygon needs at least three points")
    return f"({','.join(points)})"
