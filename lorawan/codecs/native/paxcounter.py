"""ESP32-Paxcounter (cyberman54/ESP32-Paxcounter): Wi-Fi and BLE device counts and more.

The firmware has two binary encoders whose bytes cannot be told apart, hence two device types:
``paxcounter-plain`` (PAYLOAD_ENCODER 1, big-endian) and ``paxcounter-packed`` (PAYLOAD_ENCODER
2, little-endian, lora-serialization style). Layouts per FPort, as in ``src/payload.cpp``::

    port 1  counts:    wifi u16 [+ ble u16, absent when BLE scanning is off]
                       [+ GPS block when GPSPORT == 1: lat i32, lon i32 (1e-6 deg),
                          satellites u8, hdop u16 (1/100), altitude i16 (m)]
                       [+ SDS011, packed only: pm10 u16, pm2_5 u16 (1/10 ug/m3)]
                       openSenseMap mode: lat i32, lon i32, wifi u16 [+ ble u16] [+ SDS011]
    port 2  status:    battery u16 (mV, 0 = no probe), uptime u64 (s), cpu temperature u8,
                       free memory u32 (bytes), core 0 reset reason u8, restarts u32
                       (firmware before 2021: ... reset reason u8 core 0, u8 core 1; 17 bytes)
    port 3  config:    plain (27 bytes): dr u8, tx power u8, adr u8, screensaver u8, screen u8,
                       counter mode u8, rssi limit i16, send cycle u8 (2 s), wifi channel
                       switch u8 (1/100 s), ble scan time u8 (1/100 s), ble scan u8, antenna u8,
                       sleep cycle u16 (10 s), payload mask u8, reserved u8, version 10 chars
                       packed (21 bytes): dr, tx power, rssi limit i16, send cycle, wifi channel
                       switch, ble scan time, sleep cycle u16, flags bitmap (bit 7 adr, 6
                       screensaver, 5 screen, 4 counter mode != 0, 3 ble scan, 2 antenna),
                       payload mask u8, version 10 chars
    port 4  GPS:       the GPS block (13 bytes), or lat + lon only (8 bytes, openSenseMap)
    port 5  button:    u8
    port 7  BME:       plain: temperature i16 (degC), pressure u16 (hPa), humidity u16 (%),
                       IAQ u16 — whole numbers; packed: temperature i16 big-endian (1/100 degC),
                       pressure u16 (1/10 hPa), humidity u16 (1/100 %), IAQ u16 (1/100)
    port 8  battery:   u16 (mV)
    port 9  time:      timesync sequence number u8, or epoch time u32 + time status u8
    port 10-12:        user sensors, layout set by the user's sensor.cpp (kept as hex)

Payload mask bits (bit 0 first): counter, reserved, bme, gps, sensor1, sensor2, sensor3, battery.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lorawan.codecs.base import Codec, DecodeResult, EncodeResult
from lorawan.codecs.native._bytes import Reader
from lorawan.codecs.native._layout import Field, Layout, ascii_text, i16, i32, u8, u16, u32, u64
from lorawan.errors import CodecError

_USER_SENSOR_PORTS = (10, 11, 12)
_MASK_BITS = ("counter", "reserved", "bme", "gps", "sensor1", "sensor2", "sensor3", "battery")
# Packed flags byte, most significant bit first; bits 1 and 0 are always zero.
_FLAG_BITS = ("adr", "screensaver", "screen_on", "counter_mode", "ble_scan", "external_antenna")
_BOOL = {0: False, 1: True}


def _layouts(big_endian: bool) -> dict[int, dict[int, Layout]]:
    """Return ``{port: {length: layout}}`` for one encoder."""
    be = big_endian

    def gps(full: bool) -> tuple[Field, ...]:
        position = (
            i32("latitude", scale=1_000_000, big_endian=be, quantity="latitude"),
            i32("longitude", scale=1_000_000, big_endian=be, quantity="longitude"),
        )
        if not full:
            return position
        return (
            *position,
            u8("satellites"),
            u16("hdop", scale=100, big_endian=be),
            i16("altitude", big_endian=be, quantity="altitude"),
        )

    wifi = u16("wifi", big_endian=be, quantity="wifi_devices")
    ble = u16("ble", big_endian=be, quantity="ble_devices")
    battery = u16(
        "battery_voltage", scale=1000, big_endian=be, quantity="battery_voltage", missing=0
    )
    counts: list[tuple[Field, ...]] = [(wifi,), (wifi, ble)]
    combined = [c + gps(True) for c in counts] + [gps(False) + c for c in counts]
    count_layouts = counts + combined
    if not big_endian:
        # The plain encoder writes SDS011 readings as text, which this codec does not decode.
        sds = (
            u16("pm10", scale=10, quantity="pm10"),
            u16("pm2_5", scale=10, quantity="pm2_5"),
        )
        count_layouts += [layout + sds for layout in count_layouts]
    status_head = (
        battery,
        u64("uptime_s", big_endian=be),
        u8("cpu_temperature"),
        u32("free_memory_bytes", big_endian=be),
        u8("reset_reason_core0"),
    )
    if big_endian:
        environment = (
            i16("temperature", big_endian=True, quantity="temperature"),
            u16("pressure", big_endian=True, quantity="pressure"),
            u16("humidity", big_endian=True, quantity="relative_humidity"),
            u16("air_quality_index", big_endian=True),
        )
    else:
        environment = (
            # The packed encoder writes this one value big-endian (writeFloat).
            i16("temperature", scale=100, big_endian=True, quantity="temperature"),
            u16("pressure", scale=10, quantity="pressure"),
            u16("humidity", scale=100, quantity="relative_humidity"),
            u16("air_quality_index", scale=100),
        )
    table: dict[int, list[Layout]] = {
        1: [Layout(*fields) for fields in count_layouts],
        2: [
            Layout(*status_head, u32("restarts", big_endian=be)),
            Layout(*status_head, u8("reset_reason_core1")),
        ],
        4: [Layout(*gps(True)), Layout(*gps(False))],
        5: [Layout(u8("button"))],
        7: [Layout(*environment)],
        8: [Layout(battery)],
        9: [
            Layout(u8("timesync_seqno")),
            Layout(u32("time", big_endian=be), u8("time_status")),
        ],
    }
    result: dict[int, dict[int, Layout]] = {}
    for port, layouts in table.items():
        by_size = {layout.size: layout for layout in layouts}
        if len(by_size) != len(layouts):
            raise ValueError(f"two port {port} layouts share a length")
        result[port] = by_size
    return result


def _config_scalars(big_endian: bool) -> tuple[Field, ...]:
    be = big_endian
    return (
        i16("rssi_limit", big_endian=be),
        u8("send_cycle_s", mul=2),
        u8("wifi_channel_switch_s", scale=100),
        u8("ble_scan_time_s", scale=100),
    )


class Paxcounter:
    """One of the two Paxcounter binary encoders."""

    def __init__(self, *, big_endian: bool) -> None:
        self._big_endian = big_endian
        self.name = "paxcounter-plain" if big_endian else "paxcounter-packed"
        kind = "plain (big-endian)" if big_endian else "packed (little-endian)"
        self.description = f"ESP32-Paxcounter, {kind} payload encoder"
        self._layouts = _layouts(big_endian)
        self._sizes = {
            port: ", ".join(str(size) for size in sorted(by_size))
            for port, by_size in self._layouts.items()
        }
        self._by_keys = {
            (layout.keys, port): layout
            for port, by_size in self._layouts.items()
            for layout in by_size.values()
        }
        # rssi limit .. ble scan time sit at the same place relative to each other in both
        # encoders; the flags around them differ.
        self._scalars = Layout(*_config_scalars(big_endian))
        self._version = Layout(ascii_text("software_version", 10))
        self._config_size = 27 if big_endian else 21

    def decode(self, *, payload: bytes, f_port: int) -> DecodeResult:
        """Decode one uplink; the FPort selects the layout, the length its variant."""
        result = DecodeResult()
        if f_port == 3:
            self._decode_config(payload, result)
            return result
        if f_port in _USER_SENSOR_PORTS:
            if not payload:
                raise CodecError(codec=self.name, offset=0, expected="user sensor bytes")
            result.fields["user_sensor"] = f_port - 9
            result.fields["payload_hex"] = payload.hex()
            result.warnings.append(
                f"user sensor {f_port - 9}: the layout is defined in the device's sensor.cpp;"
                " bytes kept as hex"
            )
            return result
        by_size = self._layouts.get(f_port)
        if by_size is None:
            raise CodecError(
                codec=self.name,
                offset=None,
                expected=f"a Paxcounter FPort (1-5, 7-12), got {f_port}",
            )
        layout = by_size.get(len(payload))
        if layout is None:
            raise CodecError(
                codec=self.name,
                offset=0,
                expected=(
                    f"a port {f_port} payload of {self._sizes[f_port]} bytes,"
                    f" got {len(payload)} bytes"
                ),
            )
        layout.decode(
            data=payload,
            offset=0,
            target=result.fields,
            measurements=result.measurements,
            warnings=result.warnings,
        )
        return result

    def _decode_config(self, payload: bytes, result: DecodeResult) -> None:
        if len(payload) != self._config_size:
            raise CodecError(
                codec=self.name,
                offset=min(len(payload), self._config_size),
                expected=(
                    f"a port 3 configuration of {self._config_size} bytes, got {len(payload)} bytes"
                ),
            )
        fields = result.fields
        reader = Reader(codec=self.name, data=payload)
        fields["lora_dr"] = reader.u8(what="data rate")
        fields["tx_power"] = reader.u8(what="tx power")
        if self._big_endian:
            flags = [reader.u8(what=name) for name in _FLAG_BITS[:4]]
        offset = self._scalars.decode(
            data=payload, offset=reader.offset, target=fields, measurements=None, warnings=[]
        )
        reader.offset = offset
        if self._big_endian:
            flags += [reader.u8(what=name) for name in _FLAG_BITS[4:]]
            fields["sleep_cycle_s"] = reader.u16be(what="sleep cycle") * 10
            mask = reader.u8(what="payload mask")
            reader.skip(size=1, what="reserved byte")
            for name, raw in zip(_FLAG_BITS, flags, strict=True):
                # counter_mode is 0 cyclic, 1 cumulative, 2 cyclic confirmed.
                fields[name] = raw if name == "counter_mode" else _BOOL.get(raw, raw)
        else:
            fields["sleep_cycle_s"] = reader.u16le(what="sleep cycle") * 10
            bitmap = reader.u8(what="flags")
            for bit, name in enumerate(_FLAG_BITS):
                on = bool(bitmap >> (7 - bit) & 1)
                # The packed format only tells cyclic (0) from the other modes (1).
                fields[name] = int(on) if name == "counter_mode" else on
            mask = reader.u8(what="payload mask")
        fields["payload_mask"] = [name for bit, name in enumerate(_MASK_BITS) if mask >> bit & 1]
        self._version.decode(
            data=payload, offset=reader.offset, target=fields, measurements=None, warnings=[]
        )

    def encode(self, *, values: Mapping[str, Any]) -> EncodeResult:
        """Encode fields (as :meth:`decode` returns them); their names select the FPort."""
        keys = frozenset(values)
        if "user_sensor" in keys:
            return self._encode_user_sensor(values)
        if "payload_mask" in keys:
            return EncodeResult(payload=self._encode_config(values), f_port=3)
        for (layout_keys, port), layout in self._by_keys.items():
            if layout_keys == keys:
                return EncodeResult(
                    payload=layout.encode(values=values, codec=self.name), f_port=port
                )
        raise CodecError(
            codec=self.name,
            offset=None,
            expected=f"the fields of one Paxcounter payload, not {sorted(keys)}",
        )

    def _encode_user_sensor(self, values: Mapping[str, Any]) -> EncodeResult:
        sensor = values.get("user_sensor")
        raw = values.get("payload_hex")
        if set(values) != {"user_sensor", "payload_hex"} or sensor not in (1, 2, 3):
            raise CodecError(
                codec=self.name, offset=None, expected="user_sensor 1-3 and payload_hex only"
            )
        try:
            payload = bytes.fromhex(raw) if isinstance(raw, str) else b""
        except ValueError:
            payload = b""
        if not payload:
            raise CodecError(codec=self.name, offset=None, expected="payload_hex as hex digits")
        return EncodeResult(payload=payload, f_port=9 + int(sensor))

    def _encode_config(self, values: Mapping[str, Any]) -> bytes:
        expected = {
            "lora_dr", "tx_power", "sleep_cycle_s", "payload_mask", "software_version",
            *_FLAG_BITS, *self._scalars.keys,
        }  # fmt: skip
        if set(values) != expected:
            raise CodecError(
                codec=self.name, offset=None, expected=f"configuration fields {sorted(expected)}"
            )
        mask_names = values["payload_mask"]
        if not isinstance(mask_names, list) or not set(mask_names) <= set(_MASK_BITS):
            raise CodecError(
                codec=self.name, offset=None, expected=f"payload_mask as a list of {_MASK_BITS}"
            )
        mask = sum(1 << bit for bit, name in enumerate(_MASK_BITS) if name in mask_names)
        be = self._big_endian
        sleep = Layout(u16("sleep_cycle_s", mul=10, big_endian=be))
        head = Layout(u8("lora_dr"), u8("tx_power")).encode(values=values, codec=self.name)
        scalars = self._scalars.encode(values=values, codec=self.name)
        version = self._version.encode(values=values, codec=self.name)
        if be:
            flags = Layout(*(u8(name, labels=_BOOL) for name in _FLAG_BITS))
            flag_bytes = flags.encode(values=values, codec=self.name)
            return b"".join(
                (
                    head,
                    flag_bytes[:4],
                    scalars,
                    flag_bytes[4:],
                    sleep.encode(values=values, codec=self.name),
                    bytes((mask, 0)),
                    version,
                )
            )
        bitmap = sum(1 << (7 - bit) for bit, name in enumerate(_FLAG_BITS) if values[name])
        return b"".join(
            (
                head,
                scalars,
                sleep.encode(values=values, codec=self.name),
                bytes((bitmap, mask)),
                version,
            )
        )


CODECS: tuple[Codec, ...] = (Paxcounter(big_endian=True), Paxcounter(big_endian=False))
