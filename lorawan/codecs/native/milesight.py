"""Milesight IoT models: per-model tables for the shared channel/type engine.

Byte layout (FPort 85): records of ``channel id (1) + channel type (1) + data``, integers
little-endian (see :mod:`lorawan.codecs.native.milesight_tlv`). The records each model knows,
as ``id type: data`` (fields named as in Milesight's own decoders):

Every model (device information, sent after join or on request)
    ff 01: protocol_version u8 · ff 08: sn 6 bytes hex · ff 16: sn 8 bytes hex ·
    ff 09: hardware_version 2 bytes hex · ff 0a: firmware_version 2 bytes hex ·
    ff 1f: firmware_version 4 bytes hex · ff ff: tsl_version 2 bytes hex ·
    ff 0b: device_status u8 · ff 0f: lorawan_class u8 · ff fe: reset_event u8

VS133/VS135 ToF people counter (lines 1-4 at channels 03-0e, "child" counts at 11-1c)
    03/06/09/0c d2: line_<n>_total_in u32 → people_in_total, channel n (cumulative)
    04/07/0a/0d d2: line_<n>_total_out u32 → people_out_total, channel n
    05/08/0b/0e cc: line_<n>_period_in u16 + line_<n>_period_out u16 → people_in/people_out
    0f e3: region_1..4_count u8 each → occupancy, channel = region
    10 e4: region u8 + region_<r>_avg_dwell u16 + region_<r>_max_dwell u16 (seconds)
    11.. 1e: the same for children (fields only); 50 fc (occlusion alarm, 3 bytes) is skipped

VS121 AI workplace occupancy sensor
    04 c9: people_count_all u8 → occupancy + region count u8 + occupied-region mask u16 BE
    05 cc: people_in u16 + people_out u16 → people_in/people_out
    06 cd: people_count_max u8 · 07 d5 / 08 d5: region_1..16_count u8 → occupancy, channel
    09-0c da: a_to_a .. d_to_d u16 (flows between areas) · 0d cc: people_total_in/out u16 →
    people_in_total/people_out_total · 0e e4: dwell_region u8 + dwell_time_avg/max u16 ·
    0f 85: timestamp u32 · 10 f7: line_in/line_out u16

AM307 / AM308 / AM319 ambience monitors
    01 75: battery u8 % · 03 67: temperature i16 /10 °C · 04 68: humidity u8 /2 % ·
    05 00: pir (0 idle, 1 trigger) → motion · 06 cb: light_level u8 (level 0-5, not lux) ·
    07 7d: co2 u16 ppm · 08 7d: tvoc_iaq u16 /100 (IAQ index) · 08 e6: tvoc_ug_m3 u16 ·
    09 73: pressure u16 /10 hPa · 0e 01: buzzer_status · AM308/AM319: 0b 7d pm2_5 u16,
    0c 7d pm10 u16 (ug/m3) · AM319: 0a 7d hcho u16 /100 (mg/m3), 0d 7d o3 u16 /100 (ppm) ·
    20 ce / 21 ce: history (timestamp u32 + the readings; 21 with TVOC in ug/m3)

EM500 series (battery 01 75 everywhere)
    -CO2: 03 67 temperature, 04 68 humidity, 05 7d co2 u16 ppm, 06 73 pressure u16 /10 hPa,
          83 d7 temperature alarm (temperature + temperature_change i16 /10 + alarm u8)
    -LGT: 03 94 illumination u32 lux · -PP: 03 7b pipe_pressure i16 kPa ·
    -PT100: 03 67 temperature, 83 d7 · -SMT(C): 03 67 temperature, 04 68 moisture u8 /2 %,
          04 ca moisture u16 /100 %, 05 7f ec u16 uS/cm · -SWL: 03 77 depth u16 cm →
          water_level · -UDL: 03 82 distance u16 mm. 0xffff / 0xfffd in SMT and SWL readings
          mean "collection failed" / "out of range" and become ``<field>_error``.

Quantities without a vocabulary entry yet (TVOC as IAQ index or ug/m3, HCHO, O3, light level,
soil EC) stay in ``fields`` only.
"""

from __future__ import annotations

from lorawan.codecs.base import Codec
from lorawan.codecs.native._layout import Field, hex_bytes, i16, u8, u16, u32
from lorawan.codecs.native.milesight_tlv import (
    DwellRecord,
    FixedRecord,
    HistoryRecord,
    MilesightCodec,
    PeopleCountRecord,
    Record,
    SkippedRecord,
)

_ON_OFF = {0: "off", 1: "on"}
_PIR = {0: "idle", 1: "trigger"}
_CLASS = {0: "Class A", 1: "Class B", 2: "Class C", 3: "Class CtoB"}
_RESET = {0: "normal", 1: "reset"}
_TEMPERATURE_ALARM = {0: "threshold alarm release", 1: "threshold alarm", 2: "mutation alarm"}
_SENSOR_ERRORS = {0xFFFF: "collection failed", 0xFFFD: "out of range"}


def _device_info() -> tuple[Record, ...]:
    return (
        FixedRecord(0xFF, 0x01, "protocol version", u8("protocol_version")),
        FixedRecord(0xFF, 0x08, "serial number", hex_bytes("sn", 6)),
        FixedRecord(0xFF, 0x16, "serial number", hex_bytes("sn", 8)),
        FixedRecord(0xFF, 0x09, "hardware version", hex_bytes("hardware_version", 2)),
        FixedRecord(0xFF, 0x0A, "firmware version", hex_bytes("firmware_version", 2)),
        FixedRecord(0xFF, 0x1F, "firmware version", hex_bytes("firmware_version", 4)),
        FixedRecord(0xFF, 0xFF, "TSL version", hex_bytes("tsl_version", 2)),
        FixedRecord(0xFF, 0x0B, "device status", u8("device_status", labels=_ON_OFF)),
        FixedRecord(0xFF, 0x0F, "LoRaWAN class", u8("lorawan_class", labels=_CLASS)),
        FixedRecord(0xFF, 0xFE, "reset event", u8("reset_event", labels=_RESET)),
    )


def _battery() -> Record:
    return FixedRecord(0x01, 0x75, "battery", u8("battery", quantity="battery"))


def _temperature(channel: int = 0x03) -> Record:
    return FixedRecord(
        channel, 0x67, "temperature", i16("temperature", scale=10, quantity="temperature")
    )


def _temperature_alarm() -> Record:
    return FixedRecord(
        0x83,
        0xD7,
        "temperature alarm",
        i16("temperature", scale=10, quantity="temperature"),
        i16("temperature_change", scale=10),
        u8("temperature_alarm", labels=_TEMPERATURE_ALARM),
    )


# --- VS133 / VS135 -------------------------------------------------------------------------


def _vs133_lines() -> tuple[Record, ...]:
    records: list[Record] = []
    for line in range(1, 5):
        base = 0x03 + 3 * (line - 1)
        child = base + 0x0E
        name = f"line_{line}"
        records += (
            FixedRecord(
                base,
                0xD2,
                f"line {line} total in",
                u32(f"{name}_total_in", quantity="people_in_total", channel=line),
            ),
            FixedRecord(
                base + 1,
                0xD2,
                f"line {line} total out",
                u32(f"{name}_total_out", quantity="people_out_total", channel=line),
            ),
            FixedRecord(
                base + 2,
                0xCC,
                f"line {line} period counts",
                u16(f"{name}_period_in", quantity="people_in", channel=line),
                u16(f"{name}_period_out", quantity="people_out", channel=line),
            ),
            FixedRecord(child, 0xD2, f"line {line} child total in", u32(f"{name}_child_total_in")),
            FixedRecord(
                child + 1, 0xD2, f"line {line} child total out", u32(f"{name}_child_total_out")
            ),
            FixedRecord(
                child + 2,
                0xCC,
                f"line {line} child period counts",
                u16(f"{name}_child_period_in"),
                u16(f"{name}_child_period_out"),
            ),
        )
    return tuple(records)


def _vs133() -> MilesightCodec:
    return MilesightCodec(
        name="milesight-vs133",
        description="Milesight VS133/VS135 AI ToF people counter (line crossing, regions, dwell)",
        records=(
            *_device_info(),
            *_vs133_lines(),
            FixedRecord(
                0x0F,
                0xE3,
                "region counts",
                *(u8(f"region_{n}_count", quantity="occupancy", channel=n) for n in range(1, 5)),
            ),
            FixedRecord(
                0x1D,
                0xE3,
                "region child counts",
                *(u8(f"region_{n}_child_count") for n in range(1, 5)),
            ),
            DwellRecord(0x10, 0xE4, "region dwell time", ""),
            DwellRecord(0x1E, 0xE4, "region child dwell time", "_child"),
            SkippedRecord(0x50, 0xFC, 3, "occlusion alarms are not decoded"),
        ),
    )


# --- VS121 ---------------------------------------------------------------------------------


def _vs121() -> MilesightCodec:
    flows = []
    for index, source in enumerate("abcd"):
        flows.append(
            FixedRecord(
                0x09 + index,
                0xDA,
                f"{source.upper()} flows",
                *(u16(f"{source}_to_{target}") for target in "abcd"),
            )
        )
    return MilesightCodec(
        name="milesight-vs121",
        description="Milesight VS121 AI workplace occupancy sensor (people and region counts)",
        records=(
            *_device_info(),
            PeopleCountRecord(0x04, 0xC9),
            FixedRecord(
                0x05,
                0xCC,
                "people in/out",
                u16("people_in", quantity="people_in"),
                u16("people_out", quantity="people_out"),
            ),
            FixedRecord(0x06, 0xCD, "people count max", u8("people_count_max")),
            FixedRecord(
                0x07,
                0xD5,
                "region counts 1-8",
                *(u8(f"region_{n}_count", quantity="occupancy", channel=n) for n in range(1, 9)),
            ),
            FixedRecord(
                0x08,
                0xD5,
                "region counts 9-16",
                *(u8(f"region_{n}_count", quantity="occupancy", channel=n) for n in range(9, 17)),
            ),
            *flows,
            FixedRecord(
                0x0D,
                0xCC,
                "people total in/out",
                u16("people_total_in", quantity="people_in_total"),
                u16("people_total_out", quantity="people_out_total"),
            ),
            FixedRecord(
                0x0E,
                0xE4,
                "dwell time",
                u8("dwell_region"),
                u16("dwell_time_avg"),
                u16("dwell_time_max"),
            ),
            FixedRecord(0x0F, 0x85, "timestamp", u32("timestamp")),
            FixedRecord(0x10, 0xF7, "line in/out", u16("line_in"), u16("line_out")),
        ),
    )


# --- AM307 / AM308 / AM319 -----------------------------------------------------------------


def _am_history_fields(tvoc: Field, extra: tuple[Field, ...]) -> tuple[Field, ...]:
    return (
        u32("timestamp"),
        i16("temperature", scale=10),
        u16("humidity", scale=2),
        u8("pir", labels=_PIR),
        u8("light_level"),
        u16("co2"),
        tvoc,
        u16("pressure", scale=10),
        *extra,
    )


def _am3xx(name: str, model: str, extra: tuple[Record, ...], history: tuple[Field, ...]) -> Codec:
    return MilesightCodec(
        name=name,
        description=f"Milesight {model} indoor ambience monitor",
        records=(
            *_device_info(),
            _battery(),
            _temperature(),
            FixedRecord(
                0x04, 0x68, "humidity", u8("humidity", scale=2, quantity="relative_humidity")
            ),
            FixedRecord(0x05, 0x00, "PIR", u8("pir", labels=_PIR, quantity="motion")),
            FixedRecord(0x06, 0xCB, "light level", u8("light_level")),
            FixedRecord(0x07, 0x7D, "CO2", u16("co2", quantity="co2")),
            FixedRecord(0x08, 0x7D, "TVOC (IAQ index)", u16("tvoc_iaq", scale=100)),
            FixedRecord(0x08, 0xE6, "TVOC (ug/m3)", u16("tvoc_ug_m3")),
            FixedRecord(0x09, 0x73, "pressure", u16("pressure", scale=10, quantity="pressure")),
            FixedRecord(0x0E, 0x01, "buzzer", u8("buzzer_status", labels=_ON_OFF)),
            *extra,
            HistoryRecord(
                0x20, 0xCE, "history", *_am_history_fields(u16("tvoc_iaq", scale=100), history)
            ),
            HistoryRecord(0x21, 0xCE, "history", *_am_history_fields(u16("tvoc_ug_m3"), history)),
        ),
    )


_PM = (
    FixedRecord(0x0B, 0x7D, "PM2.5", u16("pm2_5", quantity="pm2_5")),
    FixedRecord(0x0C, 0x7D, "PM10", u16("pm10", quantity="pm10")),
)
_PM_HISTORY = (u16("pm2_5"), u16("pm10"))


def _am307() -> Codec:
    return _am3xx("milesight-am307", "AM307", (), ())


def _am308() -> Codec:
    return _am3xx("milesight-am308", "AM308", _PM, _PM_HISTORY)


def _am319() -> Codec:
    gases = (
        FixedRecord(0x0A, 0x7D, "HCHO", u16("hcho", scale=100)),
        FixedRecord(0x0D, 0x7D, "O3", u16("o3", scale=100)),
    )
    # The AM319 comes with an HCHO or an O3 sensor; its history records do not say which.
    return _am3xx(
        "milesight-am319", "AM319", (*_PM, *gases), (*_PM_HISTORY, u16("hcho_or_o3", scale=100))
    )


# --- EM500 series --------------------------------------------------------------------------

_HUMIDITY = FixedRecord(
    0x04, 0x68, "humidity", u8("humidity", scale=2, quantity="relative_humidity")
)
_CO2 = FixedRecord(0x05, 0x7D, "CO2", u16("co2", quantity="co2"))
_BAROMETER = FixedRecord(0x06, 0x73, "pressure", u16("pressure", scale=10, quantity="pressure"))
_ILLUMINATION = FixedRecord(0x03, 0x94, "illumination", u32("illumination", quantity="illuminance"))
_PIPE_PRESSURE = FixedRecord(
    0x03, 0x7B, "pipe pressure", i16("pipe_pressure", quantity="pipe_pressure")
)
_MOISTURE = FixedRecord(
    0x04, 0x68, "soil moisture", u8("moisture", scale=2, quantity="soil_moisture")
)
_MOISTURE_FINE = FixedRecord(
    0x04,
    0xCA,
    "soil moisture",
    u16("moisture", scale=100, quantity="soil_moisture", errors=_SENSOR_ERRORS),
)
_EC = FixedRecord(0x05, 0x7F, "soil conductivity", u16("ec", errors=_SENSOR_ERRORS))
_SMT_TEMPERATURE = FixedRecord(
    0x03,
    0x67,
    "temperature",
    i16("temperature", scale=10, quantity="temperature", errors=_SENSOR_ERRORS),
)
_DEPTH = FixedRecord(
    0x03,
    0x77,
    "water depth",
    u16("depth", quantity="water_level", q_div=100, errors=_SENSOR_ERRORS),
)
_DISTANCE = FixedRecord(0x03, 0x82, "distance", u16("distance", quantity="distance", q_div=1000))
_MEASURING_SETTINGS = SkippedRecord(0xFF, 0x1B, 5, "measuring range settings are not decoded")
_DISTANCE_ALARM = SkippedRecord(
    0x83, 0xE9, 5, "distance alarms are not decoded (their distance unit is undocumented)"
)


def _em500(suffix: str, model: str, records: tuple[Record, ...]) -> Codec:
    return MilesightCodec(
        name=f"milesight-em500{suffix}",
        description=f"Milesight {model} environment sensor",
        records=(*_device_info(), _battery(), *records),
    )


def _em500_variants() -> tuple[Codec, ...]:
    return (
        _em500(
            "-co2",
            "EM500-CO2",
            (
                _temperature(),
                _HUMIDITY,
                _CO2,
                _BAROMETER,
                _temperature_alarm(),
                HistoryRecord(
                    0x20,
                    0xCE,
                    "history",
                    u32("timestamp"),
                    u16("co2"),
                    u16("pressure", scale=10),
                    i16("temperature", scale=10),
                    u8("humidity", scale=2),
                ),
            ),
        ),
        _em500(
            "-lgt",
            "EM500-LGT",
            (
                _ILLUMINATION,
                HistoryRecord(0x20, 0xCE, "history", u32("timestamp"), u32("illumination")),
            ),
        ),
        _em500(
            "-pp",
            "EM500-PP",
            (
                _PIPE_PRESSURE,
                HistoryRecord(0x20, 0xCE, "history", u32("timestamp"), i16("pipe_pressure")),
            ),
        ),
        _em500(
            "-pt100",
            "EM500-PT100",
            (
                _temperature(),
                _temperature_alarm(),
                _MEASURING_SETTINGS,
                HistoryRecord(
                    0x20, 0xCE, "history", u32("timestamp"), i16("temperature", scale=10)
                ),
            ),
        ),
        _em500(
            "-smt",
            "EM500-SMT/SMTC",
            (
                _SMT_TEMPERATURE,
                # The finer record first: the encoder uses the first record that fits a value.
                _MOISTURE_FINE,
                _MOISTURE,
                _EC,
                _temperature_alarm(),
                HistoryRecord(
                    0x20,
                    0xCE,
                    "history",
                    u32("timestamp"),
                    u16("ec", errors=_SENSOR_ERRORS),
                    i16("temperature", scale=10, errors=_SENSOR_ERRORS),
                    u16("moisture", scale=100, errors=_SENSOR_ERRORS),
                ),
            ),
        ),
        _em500(
            "-swl",
            "EM500-SWL",
            (
                _DEPTH,
                _MEASURING_SETTINGS,
                HistoryRecord(
                    0x20, 0xCE, "history", u32("timestamp"), u16("depth", errors=_SENSOR_ERRORS)
                ),
            ),
        ),
        _em500(
            "-udl",
            "EM500-UDL",
            (
                _DISTANCE,
                _DISTANCE_ALARM,
                HistoryRecord(0x20, 0xCE, "history", u32("timestamp"), u16("distance")),
            ),
        ),
    )


def _em500_any() -> Codec:
    """EM500 of unknown variant: every record whose meaning does not depend on the variant."""
    return _em500(
        "",
        "EM500 (variant not set; prefer milesight-em500-<variant>)",
        (
            _temperature(),
            _CO2,
            _BAROMETER,
            _ILLUMINATION,
            _PIPE_PRESSURE,
            _MOISTURE_FINE,
            _EC,
            _DEPTH,
            _DISTANCE,
            _temperature_alarm(),
            SkippedRecord(
                0x04,
                0x68,
                1,
                "air humidity on the EM500-CO2 but soil moisture on the EM500-SMT;"
                " register the device as milesight-em500-co2 or milesight-em500-smt",
            ),
            _MEASURING_SETTINGS,
            _DISTANCE_ALARM,
        ),
    )


CODECS: tuple[Codec, ...] = (
    _vs133(),
    _vs121(),
    _am307(),
    _am308(),
    _am319(),
    _em500_any(),
    *_em500_variants(),
)
