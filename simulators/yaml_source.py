"""YAML loading that remembers where every value was written, so errors can name the line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

Path_ = tuple[str | int, ...]


_NUMBER_TAGS = frozenset(("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"))
_STR_TAG = "tag:yaml.org,2002:str"


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1 sexagesimal numbers.

    PyYAML reads ``20:00`` as the integer 1200; scenario files write times of day and
    durations that way, so such scalars stay strings and the schema parses them.
    """

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        if tag in _NUMBER_TAGS and isinstance(value, str) and ":" in value:
            return _STR_TAG
        return tag


@dataclass(slots=True)
class YamlDocument:
    """The parsed data plus the line (1-based) where each path's value or key was written."""

    data: Any
    lines: dict[Path_, int]

    def line_of(self, *, path: tuple[object, ...]) -> int:
        """Return the line of the deepest known prefix of ``path``.

        Path elements unknown to the document (pydantic adds union tags such as the
        behaviour model name) are skipped rather than ending the walk.
        """
        current: Path_ = ()
        for element in path:
            candidate = (*current, element)
            if isinstance(element, str | int) and candidate in self.lines:
                current = candidate  # type: ignore[assignment]
        return self.lines.get(current, 1)


class YamlSyntaxError(ValueError):
    """The text is not valid YAML (or has a duplicate key); ``line`` is 1-based."""

    def __init__(self, *, line: int, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"line {line}: {problem}")


def read_yaml(*, text: str) -> YamlDocument:
    """Parse one YAML document, keeping a line for every mapping key and sequence item."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return YamlDocument(data=None, lines={(): 1})
        lines: dict[Path_, int] = {}
        _walk(loader, node, (), node.start_mark.line + 1, lines)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlSyntaxError(line=line, problem=f"invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(line=1, problem=f"invalid YAML: {exc}") from None
    finally:
        loader.dispose()
    return YamlDocument(data=data, lines=lines)


def _walk(loader: _Loader, node: yaml.Node, path: Path_, line: int, out: dict[Path_, int]) -> None:
    out[path] = line
    if isinstance(node, yaml.MappingNode):
        seen: set[object] = set()
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str | int):
                continue
            if key in seen:
                raise YamlSyntaxError(
                    line=key_node.start_mark.line + 1, problem=f"duplicate key {key!r}"
                )
            seen.add(key)
            _walk(loader, value_node, (*path, key), key_node.start_mark.line + 1, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _walk(loader, item, (*path, index), item.start_mark.line + 1, out)


def dotted(*, path: tuple[object, ...], known: Mapping[Path_, int] | None = None) -> str:
    """Render a path as ``devices[3].behaviour.site`` (skipping elements not in ``known``)."""
    text = ""
    current: Path_ = ()
    for element in path:
        if known is not None:
            candidate = (*current, element)
            if not isinstance(element, str | int) or candidate not in known:
                continue
            current = candidate  # type: ignore[assignment]
        if isinstance(element, int):
            text += f"[{element}]"
        else:
            text += f".{element}" if text else str(element)
    return text
