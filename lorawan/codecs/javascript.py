"""Payload codecs written in JavaScript, as network servers and device makers publish them.

A :class:`JavaScriptCodec` runs a codec source in a sandboxed V8 context
(:mod:`lorawan.codecs.js_sandbox`: no I/O, nothing from Python exposed, a time and a memory limit
on every call) and understands three styles of codec:

- **TS013** (LoRa Alliance payload codec API; The Things Stack v3, ChirpStack v4):
  ``decodeUplink({bytes, fPort, recvTime, variables})`` returning ``{data, warnings, errors}``,
  ``encodeDownlink({data})`` returning ``{bytes, fPort, warnings, errors}`` and
  ``decodeDownlink({bytes, fPort})``;
- **TTN v2**: ``Decoder(bytes, port)`` returning the data object;
- **ChirpStack v3**: ``Decode(fPort, bytes, variables)`` returning the data object.

Everything in ``data`` goes into :attr:`DecodeResult.fields`; measurements come from a declared
field map (:mod:`lorawan.fields`) or, without one, from top-level fields whose names
the quantity vocabulary knows. A call that times out, runs out of memory, throws, returns errors
or returns something that is not a TS013 result raises :class:`JavaScriptCodecError` (a
:class:`~lorawan.errors.CodecError`); the codec keeps working for the next payload.

Thread safety: one codec may be used from several threads; its calls run one at a time. Reuse
one codec per device type (creating one starts a V8 context and a thread) and :meth:`close` it
when done (a registry does this for the codecs it built).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lorawan.codecs.base import DecodeResult, EncodeResult
from lorawan.codecs.js_sandbox import JsSandbox, JsValue, SandboxFailure
from lorawan.errors import CodecError
from lorawan.fields import FieldSpec, measurements_from_fields, parse_field_map

_MAX_DETAIL = 200


class JavaScriptLoadError(ValueError):
    """A codec source could not be loaded: it does not compile, throws or breaks a limit while
    its top level runs, or defines no decoder function."""

    def __init__(self, *, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"{name}: {problem}")


class JavaScriptCodecError(CodecError):
    """One call into a JavaScript codec failed.

    ``problem`` is one of ``timeout``, ``out_of_memory``, ``threw``, ``errors`` (the codec
    returned errors, listed in ``errors``), ``bad_result``, ``missing`` (no such function) or
    ``closed``.
    """

    def __init__(
        self,
        *,
        codec: str,
        function: str,
        problem: str,
        detail: str,
        errors: tuple[str, ...] = (),
    ) -> None:
        self.function = function
        self.problem = problem
        self.errors = errors
        super().__init__(codec=codec, offset=None, expected=_EXPECTED.get(problem, "a result"))
        self.args = (f"{codec}: {function} {detail}",)


_EXPECTED = {
    "timeout": "a result within the time limit",
    "out_of_memory": "a result within the memory limit",
    "threw": "a result instead of an exception",
    "errors": "a payload the codec accepts",
    "bad_result": "an object as the codec's result",
    "missing": "a codec function for this call",
    "closed": "an open codec",
}


@dataclass(slots=True, frozen=True)
class JsDecoded:
    """A TS013 decoder result as the codec returned it (``data`` is ``{}`` when absent)."""

    data: dict[str, Any]
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(slots=True, frozen=True)
class JsEncoded:
    """A TS013 encoder result as the codec returned it."""

    payload: bytes
    f_port: int | None
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class JavaScriptCodec:
    """A codec for one device type, implemented by a JavaScript source.

    ``field_map`` maps output fields to quantities (see :mod:`lorawan.fields`);
    ``variables`` are handed to ChirpStack-style codecs. Raises :class:`JavaScriptLoadError`
    when the source does not load and ``ValueError`` for a bad field map or limit.
    """

    def __init__(
        self,
        *,
        name: str,
        source: str,
        description: str = "",
        field_map: Mapping[str, Any] | None = None,
        timeout_ms: float = 100.0,
        memory_mb: int = 64,
        variables: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.description = description or f"JavaScript codec {name}"
        self.field_map: tuple[FieldSpec, ...] | None = (
            None if field_map is None else parse_field_map(raw=field_map)
        )
        self.variables = dict(variables or {})
        try:
            self._sandbox = JsSandbox(
                name=name, source=source, timeout_ms=timeout_ms, memory_mb=memory_mb
            )
        except SandboxFailure as exc:
            raise JavaScriptLoadError(name=name, problem=_describe(exc)) from None
        functions = self._sandbox.functions
        if not functions & {"decodeUplink", "Decoder", "Decode"}:
            self._sandbox.close()
            raise JavaScriptLoadError(
                name=name, problem="defines none of decodeUplink, Decoder or Decode"
            )
        self.functions = functions
        #: "ts013", "ttn-v2" or "chirpstack-v3": how the uplink decoder is called
        self.style = (
            "ts013"
            if "decodeUplink" in functions
            else "ttn-v2"
            if "Decoder" in functions
            else "chirpstack-v3"
        )

    @classmethod
    def from_file(
        cls,
        *,
        path: Path,
        name: str | None = None,
        description: str = "",
        field_map: Mapping[str, Any] | None = None,
        timeout_ms: float = 100.0,
        memory_mb: int = 64,
        variables: Mapping[str, str] | None = None,
    ) -> JavaScriptCodec:
        """Load a codec from a ``.js`` file (UTF-8); the name defaults to the file's stem.

        Raises ``OSError`` when the file cannot be read.
        """
        return cls(
            name=name or path.stem,
            source=path.read_text(encoding="utf-8"),
            description=description,
            field_map=field_map,
            timeout_ms=timeout_ms,
            memory_mb=memory_mb,
            variables=variables,
        )

    @property
    def timeout_ms(self) -> float:
        """The time limit of one call."""
        return self._sandbox.timeout_ms

    @property
    def memory_mb(self) -> int:
        """The memory limit (V8 heap, and ArrayBuffers separately)."""
        return self._sandbox.memory_mb

    def close(self) -> None:
        """Release the V8 context; later calls raise :class:`JavaScriptCodecError`."""
        self._sandbox.close()

    def __enter__(self) -> JavaScriptCodec:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the Codec protocol ---------------------------------------------------------------------

    def decode(
        self, *, payload: bytes, f_port: int, recv_time: datetime | None = None
    ) -> DecodeResult:
        """Decode one uplink; raises :class:`JavaScriptCodecError` when the codec fails."""
        function = self._uplink_function()
        decoded = self.decode_uplink(payload=payload, f_port=f_port, recv_time=recv_time)
        if decoded.errors:
            raise JavaScriptCodecError(
                codec=self.name,
                function=function,
                problem="errors",
                detail=f"returned errors {decoded.errors!r}",
                errors=tuple(decoded.errors),
            )
        measurements, mapping_warnings = measurements_from_fields(
            fields=decoded.data, field_map=self.field_map
        )
        warnings = [*decoded.warnings, *mapping_warnings]
        if not decoded.data:
            warnings.append(f"{function} returned no data")
        return DecodeResult(measurements=measurements, fields=decoded.data, warnings=warnings)

    def encode(self, *, values: Mapping[str, Any]) -> EncodeResult:
        """Encode a downlink with the codec's ``encodeDownlink``; the codec picks the FPort."""
        encoded = self.encode_downlink(values=values)
        if encoded.errors:
            raise JavaScriptCodecError(
                codec=self.name,
                function="encodeDownlink",
                problem="errors",
                detail=f"returned errors {encoded.errors!r}",
                errors=tuple(encoded.errors),
            )
        if encoded.f_port is None:
            raise JavaScriptCodecError(
                codec=self.name,
                function="encodeDownlink",
                problem="bad_result",
                detail="returned no fPort",
            )
        return EncodeResult(payload=encoded.payload, f_port=encoded.f_port)

    # -- the codec's own results ----------------------------------------------------------------

    def decode_uplink(
        self, *, payload: bytes, f_port: int, recv_time: datetime | None = None
    ) -> JsDecoded:
        """Run the uplink decoder and return its result without judging ``errors``.

        Raises :class:`JavaScriptCodecError` when the call itself fails (timeout, memory,
        exception, a result of the wrong shape).
        """
        function = self._uplink_function()
        data = list(payload)
        if self.style == "ts013":
            value = self._call(
                function,
                [self._ts013_input(data, f_port)],
                recv_time=_iso(recv_time or datetime.now(UTC)),
            )
            return self._decoded(function, value)
        if self.style == "ttn-v2":
            value = self._call(function, [data, f_port])
        else:
            value = self._call(function, [f_port, data, self.variables])
        return JsDecoded(data=self._object(function, value))

    def decode_downlink(self, *, payload: bytes, f_port: int) -> JsDecoded:
        """Run the TS013 ``decodeDownlink`` and return its result without judging ``errors``."""
        value = self._call("decodeDownlink", [self._ts013_input(list(payload), f_port)])
        return self._decoded("decodeDownlink", value)

    def encode_downlink(self, *, values: Mapping[str, Any]) -> JsEncoded:
        """Run the TS013 ``encodeDownlink`` and return its result without judging ``errors``."""
        argument: dict[str, Any] = {"data": dict(values)}
        if self.variables:
            argument["variables"] = self.variables
        value = self._call("encodeDownlink", [argument])
        result = self._object("encodeDownlink", value)
        warnings, errors = self._messages("encodeDownlink", result)
        raw_bytes = result.get("bytes")
        if errors and raw_bytes is None:
            return JsEncoded(payload=b"", f_port=None, warnings=warnings, errors=errors)
        if not isinstance(raw_bytes, list) or not all(
            isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in raw_bytes
        ):
            raise self._bad_result("encodeDownlink", "returned 'bytes' that are not a byte list")
        f_port = result.get("fPort")
        if f_port is not None and (
            isinstance(f_port, bool) or not isinstance(f_port, int) or not 1 <= f_port <= 255
        ):
            raise self._bad_result("encodeDownlink", f"returned fPort {f_port!r}")
        return JsEncoded(payload=bytes(raw_bytes), f_port=f_port, warnings=warnings, errors=errors)

    # -- internals ------------------------------------------------------------------------------

    def _uplink_function(self) -> str:
        return {"ts013": "decodeUplink", "ttn-v2": "Decoder"}.get(self.style, "Decode")

    def _ts013_input(self, data: list[int], f_port: int) -> dict[str, Any]:
        argument: dict[str, Any] = {"bytes": data, "fPort": f_port}
        if self.variables:
            argument["variables"] = self.variables
        return argument

    def _call(self, function: str, args: list[Any], *, recv_time: str | None = None) -> JsValue:
        try:
            return self._sandbox.call(function=function, args=args, recv_time=recv_time)
        except SandboxFailure as exc:
            raise JavaScriptCodecError(
                codec=self.name, function=function, problem=exc.problem, detail=_describe(exc)
            ) from None

    def _decoded(self, function: str, value: JsValue) -> JsDecoded:
        result = self._object(function, value)
        warnings, errors = self._messages(function, result)
        data = result.get("data")
        if data is None and errors:
            return JsDecoded(data={}, warnings=warnings, errors=errors)
        if not isinstance(data, dict):
            what = "no 'data'" if data is None else f"'data' that is {_kind(data)}"
            raise self._bad_result(function, f"returned {what}, expected an object")
        return JsDecoded(data=data, warnings=warnings, errors=errors)

    def _object(self, function: str, value: JsValue) -> dict[str, Any]:
        if not isinstance(value.value, dict):
            raise self._bad_result(function, f"returned {_js_kind(value)}, expected an object")
        return value.value

    def _messages(self, function: str, result: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        lists: list[list[str]] = []
        for key in ("warnings", "errors"):
            raw = result.get(key)
            if raw is None:
                lists.append([])
            elif isinstance(raw, str):
                lists.append([raw] if raw else [])
            elif isinstance(raw, list):
                lists.append([item if isinstance(item, str) else str(item) for item in raw])
            else:
                raise self._bad_result(function, f"returned '{key}' that is {_kind(raw)}")
        return lists[0], lists[1]

    def _bad_result(self, function: str, detail: str) -> JavaScriptCodecError:
        return JavaScriptCodecError(
            codec=self.name, function=function, problem="bad_result", detail=detail
        )


def _describe(exc: SandboxFailure) -> str:
    detail = " ".join(exc.detail.split())
    if len(detail) > _MAX_DETAIL:
        detail = detail[: _MAX_DETAIL - 1] + "…"
    if exc.problem == "timeout":
        return f"timed out ({detail})"
    if exc.problem == "out_of_memory":
        return f"ran out of memory ({detail})" if detail else "ran out of memory"
    if exc.problem == "threw":
        return f"threw '{detail}'"
    if exc.problem == "missing":
        return "is not defined by the codec"
    if exc.problem == "closed":
        return "cannot run: the codec has been closed"
    return f"returned a bad result ({detail})"


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _js_kind(value: JsValue) -> str:
    if value.type in {"undefined", "null"}:
        return value.type
    return f"{'an' if value.type[0] in 'aeiou' else 'a'} {value.type}"


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "null" if value is None else "an object"
