"""Dragino LHT65 / LHT65N, LDDS75 and LGT92 (uplinks on FPort 2; all integers big-endian).

LHT65 and LHT65N (temperature and humidity, optional external probe), 11 bytes (7 with no
external sensor)::

    0  battery          u16  bits 15-14 battery state (0 ultra low .. 3 good), bits 13-0 mV
    2  temperature      i16  1/100 Cel (built-in SHT sensor)
    4  humidity         u16  bits 11-0 in 1/10 %
    6  status and ext   u8   bits 7-4 status flags, bits 3-0 external sensor type
    7  external data    4 bytes, by external sensor type:
         0x0 none
         0x1 E1 probe temperature      i16 1/100 Cel (LHT65N: also 0x2, TMP117 probe)
         0x4 interrupt                 u8 pin level, u8 interrupt triggered
         0x5 illuminance               u16 lx
         0x6 ADC                       u16 mV
         0x7 counter                   u16
         0x8 counter                   u32
         0x9 E1 probe and time stamp   u32 Unix time; the probe temperature moves to
                                       bytes 0-1 and the battery state to bits 15-14 of
                                       bytes 4-5 (no battery voltage in this mode)
         0xF DS18B20 probe id          bytes 2-5 and 7-10 form the 8-byte id (no climate)

A temperature of 0x7FFF (327.67 Cel) means the sensor is not connected: the field is ``None``
and no measurement is produced (Dragino's decoder reports 327.67).

LDDS75 (ultrasonic distance), 8 bytes (firmware 1.1.4+; older firmware sends the first 4 or 5)::

    0  battery            u16  bits 13-0 mV
    2  distance           u16  mm; 0 = no ultrasonic sensor, below 280 mm = invalid (blind zone)
    4  interrupt flag     u8
    5  probe temperature  i16  1/10 Cel (DS18B20 probe; 0 when none is fitted)
    7  sensor flag        u8   1 = ultrasonic sensor detected

LGT92 (GPS tracker), 11, 15 or 18 bytes::

    0   latitude        i32  1/1000000 deg
    4   longitude       i32  1/1000000 deg
    8   alarm, battery  u16  bit 14 alarm, bits 13-0 mV
    10  mode            u8   bits 7-6 motion mode (disabled, move, collide, user),
                             bit 5 LED on, bits 4-0 firmware revision
    11  roll            i16  1/100 deg  (15 and 18 byte frames)
    13  pitch           i16  1/100 deg
    15  hdop            u8   1/100      (18 byte frames)
    16  altitude        i16  1/100 m

Latitude and longitude both 0 mean no GPS fix; both 0x0FFFFFFF mean the GPS is off (low
battery); then the position fields are ``None`` and ``position_status`` says why.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from lorawan.codecs.base import Codec, DecodeResult, EncodeResult, Measurement
from lorawan.codecs.native._values import EncodeValues
from lorawan.errors import CodecError

_PORT = 2
_NOT_CONNECTED = 0x7FFF

_U16 = struct.Struct(">H")
_I16 = struct.Struct(">h")
_U32 = struct.Struct(">I")
_LHT_BASE = struct.Struct(">HhHB")
_LHT_EXT_16 = struct.Struct(">hH")
_LDDS_FULL = struct.Struct(">HHBhB")
_LDDS_SHORT = struct.Struct(">HH")
_LGT_BASE = struct.Struct(">iiHB")
_LGT_ANGLES = struct.Struct(">hh")
_LGT_GPS = struct.Struct(">Bh")

_BATTERY_STATES = ("ultra_low", "low", "ok", "good")
_BATTERY_STATE_CODES = {state: code for code, state in enumerate(_BATTERY_STATES)}

# LHT65 external sensor type codes and their readable names.
_EXT_NONE = 0x0
_EXT_E1 = 0x1
_EXT_TMP117 = 0x2
_EXT_INTERRUPT = 0x4
_EXT_ILLUMINANCE = 0x5
_EXT_ADC = 0x6
_EXT_COUNTER_16 = 0x7
_EXT_COUNTER_32 = 0x8
_EXT_E1_TIMESTAMP = 0x9
_EXT_DS18B20_ID = 0xF
_EXT_NAMES = {
    _EXT_NONE: "none",
    _EXT_E1: "e1_temperature",
    _EXT_TMP117: "tmp117_temperature",
    _EXT_INTERRUPT: "interrupt",
    _EXT_ILLUMINANCE: "illuminance",
    _EXT_ADC: "adc",
    _EXT_COUNTER_16: "counter_16",
    _EXT_COUNTER_32: "counter_32",
    _EXT_E1_TIMESTAMP: "e1_temperature_timestamp",
    _EXT_DS18B20_ID: "ds18b20_id",
}
_EXT_CODES = {name: code for code, name in _EXT_NAMES.items()}

_LDDS_BLIND_ZONE_MM = 280

_GPS_OFF = 0x0FFFFFFF
_MOTION_MODES = ("disabled", "move", "collide", "user")
_MOTION_MODE_CODES = {mode: code for code, mode in enumerate(_MOTION_MODES)}


def _check_port(codec: str, f_port: int) -> None:
    if f_port != _PORT:
        raise CodecError(codec=codec, offset=None, expected=f"an uplink on FPort 2, not {f_port}")


def _length_error(codec: str, sizes: str, size: int, usable: int) -> CodecError:
    return CodecError(codec=codec, offset=min(size, usable), expected=f"{sizes} bytes, got {size}")


def _temperature(raw: int) -> float | None:
    return None if raw == _NOT_CONNECTED else raw / 100


def _raw_temperature(values: EncodeValues, key: str) -> int:
    if values.values.get(key, 0) is None:
        return _NOT_CONNECTED
    raw = values.scaled(key, 100, -0x8000, 0x7FFF)
    if raw == _NOT_CONNECTED:
        raise values.error(f"{key} below 327.67 (0x7FFF means not connected)")
    return raw


class DraginoLht65:
    """LHT65 / LHT65N temperature and humidity sensor with optional external sensor."""

    def __init__(self, *, name: str, description: str, tmp117: bool) -> None:
        self.name = name
        self.description = description
        # Only the LHT65N knows the TMP117 probe (external type 2).
        self._tmp117 = tmp117

    def decode(self, *, payload: bytes, f_port: int) -> DecodeResult:
        """Decode one FPort 2 uplink."""
        name = self.name
        _check_port(name, f_port)
        size = len(payload)
        ext = payload[6] & 0x0F if size >= 7 else None
        if not (size == 11 or (size == 7 and ext == _EXT_NONE)):
            raise _length_error(name, "11 (7 without external sensor)", size, 11)
        battery, temperature, humidity, status = _LHT_BASE.unpack_from(payload)
        fields: dict[str, Any] = {}
        measurements: list[Measurement] = []
        warnings: list[str] = []
        ext_name = _EXT_NAMES.get(status & 0x0F)
        if ext_name == "tmp117_temperature" and not self._tmp117:
            ext_name = None
        external: float | None = None

        if ext_name == "e1_temperature_timestamp":
            # In this mode the probe temperature takes the battery's place.
            fields["battery_state"] = _BATTERY_STATES[humidity >> 14]
            external = _temperature(_I16.unpack_from(payload)[0])
        else:
            volts = (battery & 0x3FFF) / 1000
            fields["battery_voltage"] = volts
            fields["battery_state"] = _BATTERY_STATES[battery >> 14]
            measurements.append(Measurement("battery_voltage", volts))
        if ext_name == "ds18b20_id":
            fields["ds18b20_id"] = (payload[2:6] + payload[7:11]).hex()
        else:
            sht = _temperature(temperature)
            rh = (humidity & 0x0FFF) / 10
            fields["temperature"] = sht
            fields["relative_humidity"] = rh
            if sht is None:
                warnings.append("built-in temperature sensor not connected (0x7FFF)")
            else:
                measurements.append(Measurement("temperature", sht))
            measurements.append(Measurement("relative_humidity", rh))
        fields["status_flags"] = status >> 4
        fields["external_sensor"] = ext_name or f"unknown_{status & 0x0F}"

        if ext_name is None:
            warnings.append(f"external sensor type {status & 0x0F} unknown; its data skipped")
        elif ext_name in ("e1_temperature", "tmp117_temperature"):
            external = _temperature(_I16.unpack_from(payload, 7)[0])
        elif ext_name == "interrupt":
            fields["interrupt_pin_high"] = bool(payload[7])
            fields["interrupt_triggered"] = bool(payload[8])
        elif ext_name == "illuminance":
            lux = _U16.unpack_from(payload, 7)[0]
            fields["illuminance"] = lux
            measurements.append(Measurement("illuminance", float(lux)))
        elif ext_name == "adc":
            fields["adc_voltage"] = _U16.unpack_from(payload, 7)[0] / 1000
        elif ext_name == "counter_16":
            fields["count"] = _U16.unpack_from(payload, 7)[0]
        elif ext_name == "counter_32":
            fields["count"] = _U32.unpack_from(payload, 7)[0]
        elif ext_name == "e1_temperature_timestamp":
            fields["timestamp"] = _U32.unpack_from(payload, 7)[0]

        if ext_name in ("e1_temperature", "tmp117_temperature", "e1_temperature_timestamp"):
            fields["external_temperature"] = external
            if external is None:
                warnings.append("external temperature probe not connected (0x7FFF)")
            else:
                measurements.append(Measurement("temperature", external, channel=1))
        return DecodeResult(measurements=measurements, fields=fields, warnings=warnings)

    def encode(self, *, values: Mapping[str, Any]) -> EncodeResult:
        """Build an 11-byte FPort 2 frame from decoded-shape values."""
        v = EncodeValues(codec=self.name, values=values)
        codes = dict(_EXT_CODES)
        if not self._tmp117:
            del codes["tmp117_temperature"]
        ext = v.choice("external_sensor", codes)
        state = v.choice("battery_state", _BATTERY_STATE_CODES)
        status = v.integer("status_flags", 0, 0xF) << 4 | ext
        keys = {"external_sensor", "battery_state", "status_flags"}
        if ext == _EXT_E1_TIMESTAMP:
            battery = _raw_temperature(v, "external_temperature") & 0xFFFF
            keys.add("external_temperature")
        else:
            battery = state << 14 | v.scaled("battery_voltage", 1000, 0, 0x3FFF)
            keys.add("battery_voltage")
        if ext == _EXT_DS18B20_ID:
            id_bytes = v.fixed_hex("ds18b20_id", 8)
            keys.add("ds18b20_id")
            v.only(keys)
            payload = _U16.pack(battery) + id_bytes[:4] + bytes((status,)) + id_bytes[4:]
            return EncodeResult(payload=payload, f_port=_PORT)

        temperature = _raw_temperature(v, "temperature")
        humidity = v.scaled("relative_humidity", 10, 0, 0x0FFF)
        if ext == _EXT_E1_TIMESTAMP:
            humidity |= state << 14
        keys |= {"temperature", "relative_humidity"}
        if ext in (_EXT_E1, _EXT_TMP117):
            tail = _LHT_EXT_16.pack(_raw_temperature(v, "external_temperature"), _NOT_CONNECTED)
            keys.add("external_temperature")
        elif ext == _EXT_INTERRUPT:
            pins = (v.flag("interrupt_pin_high"), v.flag("interrupt_triggered"))
            tail = bytes(pins) + _U16.pack(_NOT_CONNECTED)
            keys |= {"interrupt_pin_high", "interrupt_triggered"}
        elif ext == _EXT_ILLUMINANCE:
            tail = _U16.pack(v.integer("illuminance", 0, 0xFFFF)) + _U16.pack(_NOT_CONNECTED)
            keys.add("illuminance")
        elif ext == _EXT_ADC:
            tail = _U16.pack(v.scaled("adc_voltage", 1000, 0, 0xFFFF)) + _U16.pack(_NOT_CONNECTED)
            keys.add("adc_voltage")
        elif ext == _EXT_COUNTER_16:
            tail = _U16.pack(v.integer("count", 0, 0xFFFF)) + _U16.pack(_NOT_CONNECTED)
            keys.add("count")
        elif ext == _EXT_COUNTER_32:
            tail = _U32.pack(v.integer("count", 0, 0xFFFFFFFF))
            keys.add("count")
        elif ext == _EXT_E1_TIMESTAMP:
            tail = _U32.pack(v.integer("timestamp", 0, 0xFFFFFFFF))
            keys.add("timestamp")
        else:
            tail = _U32.pack(0x7FFF7FFF)
        v.only(keys)
        payload = _LHT_BASE.pack(battery, temperature, humidity, status) + tail
        return EncodeResult(payload=payload, f_port=_PORT)


class DraginoLdds75:
    """LDDS75 ultrasonic distance sensor (e.g. bin fill level, water level from above)."""

    name = "dragino-ldds75"
    description = "Dragino LDDS75 LoRaWAN distance detection sensor (firmware 1.1.4+ and older)"

    def decode(self, *, payload: bytes, f_port: int) -> DecodeResult:
        """Decode one FPort 2 uplink (8 bytes; 4 or 5 from older firmware)."""
        name = self.name
        _check_port(name, f_port)
        size = len(payload)
        fields: dict[str, Any] = {}
        measurements: list[Measurement] = []
        warnings: list[str] = []
        if size == 8:
            battery, distance, _interrupt, probe, sensor = _LDDS_FULL.unpack_from(payload)
        elif size in (4, 5):
            battery, distance = _LDDS_SHORT.unpack_from(payload)
        else:
            raise _length_error(name, "8 (4 or 5 from firmware before 1.1.4)", size, 8)

        volts = (battery & 0x3FFF) / 1000
        fields["battery_voltage"] = volts
        measurements.append(Measurement("battery_voltage", volts))
        fields["distance_mm"] = distance
        if distance == 0:
            warnings.append("no ultrasonic sensor detected (distance 0)")
        elif distance < _LDDS_BLIND_ZONE_MM:
            warnings.append(f"distance {distance} mm is inside the 280 mm blind zone (invalid)")
        else:
            measurements.append(Measurement("distance", distance / 1000))
        if size >= 5:
            fields["interrupt_triggered"] = bool(payload[4])
        if size == 8:
            temperature = probe / 10
            fields["probe_temperature"] = temperature
            fields["sensor_detected"] = bool(sensor)
            # The firmware sends 0 when no DS18B20 probe is fitted, which is most devices;
            # storing those zeros would fake a freezing probe, so 0 is not a measurement.
            if probe:
                measurements.append(Measurement("temperature", temperature))
        return DecodeResult(measurements=measurements, fields=fields, warnings=warnings)

    def encode(self, *, values: Mapping[str, Any]) -> EncodeResult:
        """Build a frame: 8 bytes with ``probe_temperature`` and ``sensor_detected``, 5 bytes
        with only ``interrupt_triggered``, 4 bytes with neither."""
        v = EncodeValues(codec=self.name, values=values)
        head = _LDDS_SHORT.pack(
            v.scaled("battery_voltage", 1000, 0, 0x3FFF), v.integer("distance_mm", 0, 0xFFFF)
        )
        keys = {"battery_voltage", "distance_mm"}
        if "probe_temperature" in values or "sensor_detected" in values:
            keys |= {"interrupt_triggered", "probe_temperature", "sensor_detected"}
            v.only(keys)
            tail = struct.pack(
                ">Bh?",
                v.flag("interrupt_triggered"),
                v.scaled("probe_temperature", 10, -0x8000, 0x7FFF),
                v.flag("sensor_detected"),
            )
            return EncodeResult(payload=head + tail, f_port=_PORT)
        if "interrupt_triggered" in values:
            keys.add("interrupt_triggered")
            v.only(keys)
            return EncodeResult(
                payload=head + bytes((v.flag("interrupt_triggered"),)), f_port=_PORT
            )
        v.only(keys)
        return EncodeResult(payload=head, f_port=_PORT)


class DraginoLgt92:
    """LGT92 GPS tracker with accelerometer."""

    name = "dragino-lgt92"
    description = "Dragino LGT92 LoRaWAN GPS tracker (11, 15 or 18 byte position frames)"

    def decode(self, *, payload: bytes, f_port: int) -> DecodeResult:
        """Decode one FPort 2 position uplink."""
        name = self.name
        _check_port(name, f_port)
        size = len(payload)
        if size not in (11, 15, 18):
            raise _length_error(name, "11, 15 or 18", size, 18 if size > 15 else 11)
        lat_raw, lon_raw, battery, mode = _LGT_BASE.unpack_from(payload)
        fields: dict[str, Any] = {}
        measurements: list[Measurement] = []
        warnings: list[str] = []
        if lat_raw == 0 and lon_raw == 0:
            fields |= {"latitude": None, "longitude": None, "position_status": "no_fix"}
            warnings.append("GPS had no fix (latitude and longitude 0)")
        elif lat_raw == _GPS_OFF and lon_raw == _GPS_OFF:
            fields |= {"latitude": None, "longitude": None, "position_status": "gps_off"}
            warnings.append("GPS switched off because of low battery")
        else:
            latitude = lat_raw / 1_000_000
            longitude = lon_raw / 1_000_000
            if not -90 <= latitude <= 90:
                raise CodecError(codec=name, offset=0, expected="a latitude within ±90 degrees")
            if not -180 <= longitude <= 180:
                raise CodecError(codec=name, offset=4, expected="a longitude within ±180 degrees")
            fields |= {"latitude": latitude, "longitude": longitude, "position_status": "fix"}
            measurements += (
                Measurement("latitude", latitude),
                Measurement("longitude", longitude),
            )
        volts = (battery & 0x3FFF) / 1000
        fields |= {
            "alarm": bool(battery & 0x4000),
            "battery_voltage": volts,
            "motion_mode": _MOTION_MODES[mode >> 6],
            "led_on": bool(mode & 0x20),
            "firmware_revision": mode & 0x1F,
        }
        measurements.append(Measurement("battery_voltage", volts))
        if size >= 15:
            roll, pitch = _LGT_ANGLES.unpack_from(payload, 11)
            fields |= {"roll": roll / 100, "pitch": pitch / 100}
        if size == 18:
            hdop, altitude = _LGT_GPS.unpack_from(payload, 15)
            fields |= {"hdop": hdop / 100, "altitude": altitude / 100}
            if fields["position_status"] == "fix":
                measurements.append(Measurement("altitude", altitude / 100))
        return DecodeResult(measurements=measurements, fields=fields, warnings=warnings)

    def encode(self, *, values: Mapping[str, Any]) -> EncodeResult:
        """Build an 11-byte frame, 15 with ``roll``/``pitch``, 18 with ``hdop``/``altitude``."""
        v = EncodeValues(codec=self.name, values=values)
        status = v.choice("position_status", {"fix": 0, "no_fix": 1, "gps_off": 2})
        if status == 0:
            lat = v.scaled("latitude", 1_000_000, -90_000_000, 90_000_000)
            lon = v.scaled("longitude", 1_000_000, -180_000_000, 180_000_000)
            if lat == 0 and lon == 0:
                raise v.error("a fix other than 0,0 (which means no fix)")
        else:
            if values.get("latitude") is not None or values.get("longitude") is not None:
                raise v.error("latitude and longitude None without a fix")
            lat = lon = 0 if status == 1 else _GPS_OFF
        battery = v.flag("alarm") << 14 | v.scaled("battery_voltage", 1000, 0, 0x3FFF)
        mode = (
            v.choice("motion_mode", _MOTION_MODE_CODES) << 6
            | v.flag("led_on") << 5
            | v.integer("firmware_revision", 0, 0x1F)
        )
        keys = {
            "latitude",
            "longitude",
            "position_status",
            "alarm",
            "battery_voltage",
            "motion_mode",
            "led_on",
            "firmware_revision",
        }
        payload = _LGT_BASE.pack(lat, lon, battery, mode)
        if "roll" in values or "hdop" in values:
            keys |= {"roll", "pitch"}
            payload += _LGT_ANGLES.pack(
                v.scaled("roll", 100, -0x8000, 0x7FFF), v.scaled("pitch", 100, -0x8000, 0x7FFF)
            )
        if "hdop" in values:
            keys |= {"hdop", "altitude"}
            payload += _LGT_GPS.pack(
                v.scaled("hdop", 100, 0, 0xFF), v.scaled("altitude", 100, -0x8000, 0x7FFF)
            )
        v.only(keys)
        return EncodeResult(payload=payload, f_port=_PORT)


CODECS: tuple[Codec, ...] = (
    DraginoLht65(
        name="dragino-lht65",
        description="Dragino LHT65 temperature and humidity sensor with external probe",
        tmp117=False,
    ),
    DraginoLht65(
        name="dragino-lht65n",
        description="Dragino LHT65N temperature and humidity sensor with external probe",
        tmp117=True,
    ),
    DraginoLdds75(),
    DraginoLgt92(),
)
