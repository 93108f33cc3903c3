"""Which codec decodes which device: native codecs plus device types declared in configuration.

A registry knows every native codec by its device type name (``milesight-vs133``), and adds what
a YAML file declares::

    device_types:
      my-sensor: {javascript: codecs/my-sensor.js, field_map: {...}, timeout_ms: 100, memory_mb: 64}
      lobby-counter: {codec: milesight-vs133}   # another name for a known device type
      lobby-air: {codec: milesight-am308, decode_locally: true}  # ignore the NS decoder
    version_ids:       # The Things Stack device repository brand/model -> device type
      milesight-iot/vs133: milesight-vs133
    device_profiles:   # ChirpStack device-profile name -> device type
      "VS133 people counter": milesight-vs133

Relative JavaScript paths are resolved against the YAML file's folder. A device type declared in
the file may replace a native one of the same name. The Things Stack brand/model ids of the native
codecs' devices are known without configuration, and a ChirpStack device profile named like a
device type resolves to it.

A registry is read-only once built and safe to share between threads; :meth:`close` releases
the JavaScript codecs it built.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, NamedTuple

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lorawan.codecs.base import Codec
from lorawan.codecs.javascript import JavaScriptCodec, JavaScriptLoadError
from lorawan.codecs.native import native_codecs

Kind = Literal["native", "javascript"]

#: The Things Stack device repository ids (brand_id, model_id) of the devices that native
#: codecs decode. Entries whose codec is not installed are ignored.
DEFAULT_VERSION_IDS: Mapping[tuple[str, str], str] = {
    ("milesight-iot", "vs133"): "milesight-vs133",
    ("milesight-iot", "vs121"): "milesight-vs121",
    ("milesight-iot", "am307"): "milesight-am307",
    ("milesight-iot", "am308"): "milesight-am308",
    ("milesight-iot", "am319"): "milesight-am319",
    ("milesight-iot", "em500-co2"): "milesight-em500-co2",
    ("milesight-iot", "em500-lgt"): "milesight-em500-lgt",
    ("milesight-iot", "em500-pp"): "milesight-em500-pp",
    ("milesight-iot", "em500-pt100"): "milesight-em500-pt100",
    ("milesight-iot", "em500-smt"): "milesight-em500-smt",
    ("milesight-iot", "em500-smtc"): "milesight-em500-smt",
    ("milesight-iot", "em500-swl"): "milesight-em500-swl",
    ("milesight-iot", "em500-udl"): "milesight-em500-udl",
    ("dragino", "lht65"): "dragino-lht65",
    ("dragino", "lht65n"): "dragino-lht65n",
    ("dragino", "ldds75"): "dragino-ldds75",
    ("dragino", "lgt92"): "dragino-lgt92",
    ("elsys", "ers"): "elsys-ers",
    ("elsys", "ers-co2"): "elsys-ers",
    ("elsys", "ers-co2-lite"): "elsys-ers",
    ("elsys", "ers-lite"): "elsys-ers",
    ("elsys", "ers-sound"): "elsys-ers",
    ("elsys", "ers-eye"): "elsys-ers",
    ("imbuildings", "imbuildings-people-counter"): "imbuildings-people-counter",
    ("nwave", "nps405sm"): "nwave-parking",
    ("nwave", "nps405fm"): "nwave-parking",
    ("bosch", "tps110"): "bosch-parking",
    # The device repository's Paxcounter codec reads the "packed" payload format.
    ("opensource", "esp32-paxcounter"): "paxcounter-packed",
}

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class CodecConfigError(ValueError):
    """Codec configuration that cannot be used: a missing or malformed file, an unknown device
    type, a JavaScript codec that does not load. ``file`` and ``key`` (a dotted path in the file,
    ``""`` for the file as a whole) say where."""

    def __init__(self, *, file: Path | str, key: str, problem: str) -> None:
        self.file = str(file)
        self.key = key
        self.problem = problem
        where = f"{self.file}: {key}" if key else self.file
        super().__init__(f"{where}: {problem}")


class UnknownDeviceTypeError(KeyError):
    """No codec is registered under a device type name; ``known`` lists those that are."""

    def __init__(self, *, device_type: str, known: Iterable[str]) -> None:
        self.device_type = device_type
        self.known = tuple(sorted(known))
        super().__init__(device_type)

    def __str__(self) -> str:
        return f"unknown device type {self.device_type!r}; known: {', '.join(self.known)}"


class DeviceType(NamedTuple):
    """One entry of :meth:`CodecRegistry.device_types`."""

    name: str
    description: str
    kind: Kind


class _DeviceTypeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    javascript: str | None = None
    codec: str | None = None
    description: str | None = None
    field_map: dict[str, Any] | None = None
    timeout_ms: float = Field(default=100.0, gt=0, le=60_000)
    memory_mb: int = Field(default=64, ge=8, le=4096)
    variables: dict[str, str] = Field(default_factory=dict)
    # Decode with this codec even when the network server sent a decoded payload.
    decode_locally: bool = False

    @model_validator(mode="after")
    def _one_source(self) -> _DeviceTypeConfig:
        if (self.javascript is None) == (self.codec is None):
            raise ValueError("give exactly one of 'javascript' (a file) or 'codec' (a device type)")
        if self.codec is not None:
            extra = sorted(self.model_fields_set - {"codec", "description", "decode_locally"})
            if extra:
                raise ValueError(f"{', '.join(extra)} only apply to 'javascript' device types")
        return self


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    device_types: dict[str, _DeviceTypeConfig] = Field(default_factory=dict)
    version_ids: dict[str, str] = Field(default_factory=dict)
    device_profiles: dict[str, str] = Field(default_factory=dict)


class CodecRegistry:
    """Codecs by device type name, and the rules that pick one for an uplink.

    Build one with :meth:`load`; the constructor takes ready-made parts (useful in tests).
    """

    def __init__(
        self,
        *,
        codecs: Mapping[str, Codec],
        descriptions: Mapping[str, str] | None = None,
        version_ids: Mapping[tuple[str, str], str] | None = None,
        device_profiles: Mapping[str, str] | None = None,
        owned: Iterable[JavaScriptCodec] = (),
        decode_locally: Iterable[str] = (),
    ) -> None:
        self._codecs = dict(codecs)
        self._local = frozenset(decode_locally)
        self._kinds = {name: _kind_of(codec) for name, codec in self._codecs.items()}
        self._descriptions = {
            name: (descriptions or {}).get(name, codec.description)
            for name, codec in self._codecs.items()
        }
        self._version_ids = {
            (brand.lower(), model.lower()): target
            for (brand, model), target in (version_ids or {}).items()
            if target in self._codecs
        }
        # Profile names are typed by people in the ChirpStack UI: compare them case-insensitively.
        self._profiles = {name.casefold(): name for name in self._codecs}
        self._profiles.update(
            (profile.strip().casefold(), target)
            for profile, target in (device_profiles or {}).items()
            if target in self._codecs
        )
        self._owned = tuple(owned)

    @classmethod
    def load(cls, *, config: Path | None = None) -> CodecRegistry:
        """Build a registry from the native codecs and, if given, a YAML configuration file.

        Raises :class:`CodecConfigError` naming the file and key when the configuration cannot
        be used.
        """
        natives = {codec.name: codec for codec in native_codecs()}
        if config is None:
            return cls(codecs=natives, version_ids=DEFAULT_VERSION_IDS)
        parsed = _read_config(config)
        return _build(natives=natives, config=parsed, path=config)

    def close(self) -> None:
        """Release the JavaScript codecs this registry built."""
        for codec in self._owned:
            codec.close()

    def __enter__(self) -> CodecRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def get(self, device_type: str) -> Codec:
        """Return the codec of a device type; raises :class:`UnknownDeviceTypeError`."""
        try:
            return self._codecs[device_type]
        except KeyError:
            raise UnknownDeviceTypeError(device_type=device_type, known=self._codecs) from None

    def __contains__(self, device_type: object) -> bool:
        return device_type in self._codecs

    def resolve(
        self,
        *,
        device_type: str | None = None,
        version_ids: Mapping[str, Any] | None = None,
        device_profile: str | None = None,
    ) -> Codec | None:
        """Pick the codec for a device, or ``None`` when nothing matches.

        Tried in order: a registered ``device_type``; The Things Stack ``version_ids``
        (``brand_id``/``model_id``, as in the uplink message); a ChirpStack ``device_profile``
        name, mapped in configuration or equal to a device type name (both case-insensitive).
        """
        name = self._resolve_name(
            device_type=device_type, version_ids=version_ids, device_profile=device_profile
        )
        return self._codecs[name] if name is not None else None

    def decodes_locally(
        self,
        *,
        device_type: str | None = None,
        version_ids: Mapping[str, Any] | None = None,
        device_profile: str | None = None,
    ) -> bool:
        """Whether the resolved device type asks to be decoded by loracity even when the
        network server sent a decoded payload (``decode_locally: true`` in configuration)."""
        name = self._resolve_name(
            device_type=device_type, version_ids=version_ids, device_profile=device_profile
        )
        return name in self._local

    def _resolve_name(
        self,
        *,
        device_type: str | None,
        version_ids: Mapping[str, Any] | None,
        device_profile: str | None,
    ) -> str | None:
        if device_type is not None and device_type in self._codecs:
            return device_type
        if version_ids is not None:
            brand, model = version_ids.get("brand_id"), version_ids.get("model_id")
            if isinstance(brand, str) and isinstance(model, str):
                target = self._version_ids.get((brand.lower(), model.lower()))
                if target is not None:
                    return target
        if device_profile is not None:
            return self._profiles.get(device_profile.strip().casefold())
        return None

    def device_types(self) -> list[DeviceType]:
        """Every device type, sorted by name: ``(name, description, kind)``."""
        return [
            DeviceType(name, self._descriptions[name], self._kinds[name])
            for name in sorted(self._codecs)
        ]


def _kind_of(codec: Codec) -> Kind:
    return "javascript" if isinstance(codec, JavaScriptCodec) else "native"


def _read_config(path: Path) -> _Config:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CodecConfigError(file=path, key="", problem="no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CodecConfigError(file=path, key="", problem=f"cannot be read ({exc})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        problem = " ".join(str(exc).split())
        raise CodecConfigError(file=path, key="", problem=f"not valid YAML: {problem}") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise CodecConfigError(file=path, key="", problem="expected a mapping at the top level")
    try:
        return _Config.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"])
        raise CodecConfigError(file=path, key=key, problem=_pydantic_message(error)) from None


def _pydantic_message(error: Mapping[str, Any]) -> str:
    if error["type"] == "extra_forbidden":
        return "unknown key"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _build(*, natives: Mapping[str, Codec], config: _Config, path: Path) -> CodecRegistry:
    codecs: dict[str, Codec] = dict(natives)
    descriptions: dict[str, str] = {}
    owned: list[JavaScriptCodec] = []
    try:
        aliases: dict[str, str] = {}
        for name, entry in config.device_types.items():
            key = f"device_types.{name}"
            if not _NAME.match(name):
                raise CodecConfigError(
                    file=path, key=key, problem="a device type name is letters, digits, . _ -"
                )
            if entry.codec is not None:
                aliases[name] = entry.codec
                continue
            codec = _load_javascript(name=name, entry=entry, path=path, key=key)
            owned.append(codec)
            codecs[name] = codec
        targets = {
            name: _follow_alias(name=name, aliases=aliases, known=codecs, path=path)
            for name in aliases
        }
        for name, target in targets.items():
            codecs[name] = codecs[target]
            given = config.device_types[name].description
            descriptions[name] = given or f"alias of {target}: {codecs[target].description}"
        version_ids = dict(DEFAULT_VERSION_IDS)
        for spec, target in config.version_ids.items():
            key = f"version_ids.{spec}"
            brand, slash, model = spec.partition("/")
            if not slash or not brand.strip() or not model.strip() or "/" in model:
                raise CodecConfigError(file=path, key=key, problem="expected 'brand_id/model_id'")
            _check_target(target=target, known=codecs, path=path, key=key)
            version_ids[(brand.strip(), model.strip())] = target
        for profile, target in config.device_profiles.items():
            _check_target(target=target, known=codecs, path=path, key=f"device_profiles.{profile}")
    except BaseException:
        for codec in owned:
            codec.close()
        raise
    return CodecRegistry(
        codecs=codecs,
        descriptions=descriptions,
        version_ids=version_ids,
        device_profiles=config.device_profiles,
        owned=owned,
        decode_locally=[
            name for name, entry in config.device_types.items() if entry.decode_locally
        ],
    )


def _load_javascript(
    *, name: str, entry: _DeviceTypeConfig, path: Path, key: str
) -> JavaScriptCodec:
    assert entry.javascript is not None
    source_path = (path.parent / entry.javascript).resolve()
    try:
        source = source_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CodecConfigError(
            file=path, key=f"{key}.javascript", problem=f"no such file: {source_path}"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CodecConfigError(
            file=path, key=f"{key}.javascript", problem=f"cannot read {source_path} ({exc})"
        ) from None
    try:
        return JavaScriptCodec(
            name=name,
            source=source,
            description=entry.description or f"JavaScript codec {entry.javascript}",
            field_map=entry.field_map,
            timeout_ms=entry.timeout_ms,
            memory_mb=entry.memory_mb,
            variables=entry.variables,
        )
    except JavaScriptLoadError as exc:
        raise CodecConfigError(
            file=path, key=f"{key}.javascript", problem=f"{entry.javascript}: {exc.problem}"
        ) from None
    except ValueError as exc:
        raise CodecConfigError(file=path, key=f"{key}.field_map", problem=str(exc)) from None


def _follow_alias(
    *, name: str, aliases: Mapping[str, str], known: Mapping[str, Codec], path: Path
) -> str:
    # Names declared in the file win over native ones, so follow aliases before codecs.
    seen = [name]
    target = aliases[name]
    while target in aliases:
        if target in seen:
            chain = " -> ".join([*seen, target])
            raise CodecConfigError(
                file=path, key=f"device_types.{name}.codec", problem=f"aliases loop: {chain}"
            )
        seen.append(target)
        target = aliases[target]
    _check_target(target=target, known=known, path=path, key=f"device_types.{name}.codec")
    return target


def _check_target(*, target: str, known: Mapping[str, Codec], path: Path, key: str) -> None:
    if target not in known:
        raise CodecConfigError(
            file=path,
            key=key,
            problem=f"unknown device type {target!r}; known: {', '.join(sorted(known))}",
        )
