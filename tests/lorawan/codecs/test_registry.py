"""The codec registry: native codecs, device types from YAML, resolving codecs for uplinks."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from lorawan.codecs import native
from lorawan.codecs.javascript import JavaScriptCodec
from lorawan.codecs.native import native_codecs
from lorawan.codecs.registry import (
    CodecConfigError,
    CodecRegistry,
    DeviceType,
    UnknownDeviceTypeError,
)
from lorawan.errors import CodecError
from tests.native_device_types import NATIVE_DEVICE_TYPES

DATA = Path(__file__).parents[2] / "data" / "js"
NATIVE = {codec.name: codec for codec in native_codecs()}


@pytest.fixture(scope="module")
def registry() -> Iterator[CodecRegistry]:
    with CodecRegistry.load(config=DATA / "codecs.yaml") as loaded:
        yield loaded


def _write(folder: Path, text: str) -> Path:
    path = folder / "codecs.yaml"
    path.write_text(text, encoding="utf-8")
    return path


# -- natives and defaults -------------------------------------------------------------------------


def test_without_configuration_every_native_codec_is_registered() -> None:
    with CodecRegistry.load() as registry:
        listed = registry.device_types()

    assert [entry.name for entry in listed] == list(NATIVE_DEVICE_TYPES)
    assert {entry.kind for entry in listed} == {"native"}
    for entry in listed:
        assert entry.description == NATIVE[entry.name].description


def test_a_native_codec_module_that_fails_to_import_is_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(native, "_MODULES", (*native._MODULES, "no_such_codec"))
    with pytest.raises(ModuleNotFoundError, match="no_such_codec"):
        native_codecs()


def test_unknown_device_type_lists_the_known_ones() -> None:
    registry = CodecRegistry.load()

    with pytest.raises(UnknownDeviceTypeError) as caught:
        registry.get("no-such-sensor")

    assert isinstance(caught.value, KeyError)
    assert str(caught.value).startswith("unknown device type 'no-such-sensor'; known: ")
    assert "cayenne-lpp" in caught.value.known


@pytest.mark.parametrize(
    ("brand", "model", "device_type"),
    [
        ("milesight-iot", "vs133", "milesight-vs133"),
        ("dragino", "lht65", "dragino-lht65"),
        ("elsys", "ers-co2", "elsys-ers"),
        ("opensource", "esp32-paxcounter", "paxcounter-packed"),
        ("Milesight-IoT", "VS133", "milesight-vs133"),
    ],
)
def test_ttn_version_ids_of_native_devices_are_known(
    brand: str, model: str, device_type: str
) -> None:
    registry = CodecRegistry.load()

    codec = registry.resolve(version_ids={"brand_id": brand, "model_id": model, "band_id": "EU"})

    assert codec is NATIVE[device_type]


def test_profile_named_like_a_device_type_resolves() -> None:
    registry = CodecRegistry.load()

    assert registry.resolve(device_profile="Dragino-LHT65") is NATIVE["dragino-lht65"]
    assert registry.resolve(device_profile="some other profile") is None
    assert registry.resolve() is None


# -- configuration --------------------------------------------------------------------------------


def test_javascript_device_type_decodes_with_its_field_map(registry: CodecRegistry) -> None:
    codec = registry.get("room-sensor")

    result = codec.decode(payload=bytes.fromhex("00d75a0ce4"), f_port=1)

    assert isinstance(codec, JavaScriptCodec)
    assert {(m.quantity, round(m.value, 3)) for m in result.measurements} == {
        ("temperature", 21.5),
        ("relative_humidity", 45.0),
        ("battery_voltage", 3.3),
    }


def test_limits_and_variables_come_from_configuration(registry: CodecRegistry) -> None:
    parking = registry.get("parking-v2")
    level = registry.get("water-level")

    assert isinstance(parking, JavaScriptCodec)
    assert (parking.timeout_ms, parking.memory_mb) == (200, 32)
    assert level.decode(payload=bytes([0x03, 0xE8]), f_port=1).fields["level_mm"] == 1500


def test_aliases_share_their_target(registry: CodecRegistry) -> None:

    assert registry.get("lobby-counter") is NATIVE["milesight-vs133"]
    assert registry.get("meeting-room") is registry.get("room-sensor")


def test_device_types_lists_kinds_and_descriptions(registry: CodecRegistry) -> None:
    listed = {entry.name: entry for entry in registry.device_types()}

    assert listed["room-sensor"] == DeviceType(
        "room-sensor", "Test room sensor (JavaScript)", "javascript"
    )
    assert listed["meeting-room"] == ("meeting-room", "Meeting room climate", "javascript")
    assert listed["lobby-counter"].kind == "native"
    assert listed["lobby-counter"].description.startswith("alias of milesight-vs133: ")
    assert listed["parking-v2"].description == "JavaScript codec codecs/parking-v2.js"
    assert set(NATIVE_DEVICE_TYPES) <= set(listed)


def test_resolve_order(registry: CodecRegistry) -> None:
    room = registry.get("room-sensor")
    parking = registry.get("parking-v2")
    meeting = registry.get("meeting-room")
    ttn_ids = {"brand_id": "example-vendor", "model_id": "room-sensor-1"}

    assert registry.resolve(device_type="parking-v2", version_ids=ttn_ids) is parking
    assert registry.resolve(device_type="unknown", version_ids=ttn_ids) is room
    assert registry.resolve(version_ids={"brand_id": "x", "model_id": "y"}) is None
    assert (
        registry.resolve(version_ids={"model_id": "room-sensor-1"}, device_profile="parking-v2")
        is parking
    )
    assert registry.resolve(device_profile="room sensors (floor 2)") is meeting


def test_relative_javascript_paths_follow_the_yaml_file(tmp_path: Path) -> None:
    (tmp_path / "deep" / "codecs").mkdir(parents=True)
    shutil.copy(DATA / "codecs" / "parking-v2.js", tmp_path / "deep" / "codecs" / "p.js")
    config = _write(tmp_path / "deep", "device_types:\n  p: {javascript: codecs/p.js}\n")

    with CodecRegistry.load(config=config) as registry:
        assert registry.get("p").decode(payload=bytes([1, 0, 0]), f_port=1).fields["occupied"]


def test_configured_type_may_replace_a_native_one(tmp_path: Path) -> None:
    shutil.copy(DATA / "codecs" / "parking-v2.js", tmp_path / "p.js")
    config = _write(tmp_path, "device_types:\n  cayenne-lpp: {javascript: p.js}\n")

    with CodecRegistry.load(config=config) as registry:
        assert isinstance(registry.get("cayenne-lpp"), JavaScriptCodec)


def test_close_releases_the_javascript_codecs() -> None:
    registry = CodecRegistry.load(config=DATA / "codecs.yaml")
    codec = registry.get("parking-v2")
    registry.close()

    with pytest.raises(CodecError, match="closed"):
        codec.decode(payload=bytes([1, 0, 0]), f_port=1)


# -- configuration errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("device_types: [", "", "not valid YAML"),
        ("- a\n- b\n", "", "expected a mapping at the top level"),
        ("device_type: {}\n", "device_type", "unknown key"),
        ("device_types:\n  x: {codec: no-such-codec}\n", "device_types.x.codec", "unknown device"),
        (
            "device_types:\n  a: {codec: b}\n  b: {codec: a}\n",
            "device_types.a.codec",
            "aliases loop: a -> b -> a",
        ),
        ("device_types:\n  x: {}\n", "device_types.x", "give exactly one of"),
        (
            "device_types:\n  x: {codec: cayenne-lpp, timeout_ms: 5}\n",
            "device_types.x",
            "timeout_ms only apply to 'javascript' device types",
        ),
        (
            "device_types:\n  x: {javascript: p.js, timout_ms: 5}\n",
            "device_types.x.timout_ms",
            "unknown key",
        ),
        (
            "device_types:\n  x: {javascript: p.js, timeout_ms: -1}\n",
            "device_types.x.timeout_ms",
            "greater than 0",
        ),
        ("device_types:\n  x: {javascript: missing.js}\n", "device_types.x.javascript", "no such"),
        (
            "device_types:\n  x: {javascript: broken.js}\n",
            "device_types.x.javascript",
            "broken.js: threw 'SyntaxError",
        ),
        (
            "device_types:\n  x: {javascript: p.js, field_map: {batv: voltage}}\n",
            "device_types.x.field_map",
            "batv: unknown quantity 'voltage'",
        ),
        ("device_types:\n  'bad name': {codec: x}\n", "device_types.bad name", "device type name"),
        ("version_ids:\n  vs133: cayenne-lpp\n", "version_ids.vs133", "brand_id/model_id"),
        ("version_ids:\n  a/b: nothing\n", "version_ids.a/b", "unknown device type 'nothing'"),
        ("device_profiles:\n  P: nothing\n", "device_profiles.P", "unknown device type"),
    ],
)
def test_configuration_errors_name_the_file_and_key(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    shutil.copy(DATA / "codecs" / "parking-v2.js", tmp_path / "p.js")
    (tmp_path / "broken.js").write_text("function decodeUplink( {", encoding="utf-8")
    config = _write(tmp_path, text)

    with pytest.raises(CodecConfigError) as caught:
        CodecRegistry.load(config=config)

    assert caught.value.file == str(config)
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{config}: {key}: " if key else f"{config}: ")


def test_missing_configuration_file(tmp_path: Path) -> None:
    with pytest.raises(CodecConfigError, match="no such file"):
        CodecRegistry.load(config=tmp_path / "nope.yaml")


def test_empty_configuration_file_gives_the_natives(tmp_path: Path) -> None:
    with CodecRegistry.load(config=_write(tmp_path, "# nothing yet\n")) as registry:
        assert [entry.name for entry in registry.device_types()] == list(NATIVE_DEVICE_TYPES)


def test_decode_locally_flag_of_a_device_type(tmp_path: Path) -> None:
    config = tmp_path / "codecs.yaml"
    config.write_text(
        "device_types:\n"
        "  lobby-air: {codec: milesight-am308, decode_locally: true}\n"
        "device_profiles:\n"
        "  Lobby AM308: lobby-air\n"
        "  Plain AM308: milesight-am308\n"
    )
    with CodecRegistry.load(config=config) as registry:
        assert registry.decodes_locally(
            device_type=None, version_ids=None, device_profile="lobby am308"
        )
        assert not registry.decodes_locally(
            device_type=None, version_ids=None, device_profile="Plain AM308"
        )
        assert not registry.decodes_locally(
            device_type="milesight-am308", version_ids=None, device_profile=None
        )
