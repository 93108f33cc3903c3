"""Ingest decoding raw frames with loracity's codecs, people flows from cumulative counters,
and ``redecode`` — against a real PostgreSQL."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from functools import partial

import orjson
import psycopg
import pytest

from ingest.redecode import redecode
from lorawan.codecs.base import Codec
from lorawan.codecs.native import native_codecs
from lorawan.decoding import PayloadDecoder
from lorawan.pipeline import RawMessage, process_messages
from storage.devices import device_codec_settings, register_device
from storage.migrate import TimescaleOptions, migrate
from storage.writer import BatchWriter, configure_connection
from tests.ingest.helpers import BASE_TIME, rfc3339

COUNTER = "imbuildings-people-counter"
DEV_EUI = "0a1b2c3d4e5f6071"


class NativeResolver:
    """Resolves registered device types to native codecs (what the registry does, minus
    configuration)."""

    def __init__(
        self, overrides: Mapping[str, Codec] | None = None, local: frozenset[str] = frozenset()
    ) -> None:
        self.codecs = {c.name: c for c in native_codecs()}
        self.codecs.update(overrides or {})
        self.local = local

    def decodes_locally(
        self,
        *,
        device_type: str | None,
        version_ids: Mapping[str, str] | None,
        device_profile: str | None,
    ) -> bool:
        return device_type in self.local or device_profile in self.local

    def resolve(
        self,
        *,
        device_type: str | None,
        version_ids: Mapping[str, str] | None,
        device_profile: str | None,
    ) -> Codec | None:
        for name in (device_type, device_profile):
            if name and name in self.codecs:
                return self.codecs[name]
        return None


@pytest.fixture
def conn(database_url: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    migrate(database_url=database_url, timescale=TimescaleOptions(use_timescaledb=False))
    with psycopg.connect(database_url) as c:
        configure_connection(c)
        yield c


def counter_frame(
    *, f_cnt: int, when: datetime, total_in: int, total_out: int, profile: str | None = None
) -> RawMessage:
    """A ChirpStack v4 uplink with an IMBUILDINGS variant 7 frame and no decoded object."""
    codec = {c.name: c for c in native_codecs()}[COUNTER]
    enc = codec.encode(
        values={
            "payload_variant": 7,
            "sensor_status": 0,
            "people_in_total": total_in,
            "people_out_total": total_out,
        }
    )
    msg = {
        "deduplicationId": str(uuid.uuid4()),
        "time": rfc3339(when),
        "deviceInfo": {
            "applicationId": "a",
            "applicationName": "entrances",
            "deviceName": "north-door",
            "devEui": DEV_EUI,
            **({"deviceProfileName": profile} if profile else {}),
        },
        "fCnt": f_cnt,
        "fPort": enc.f_port,
        "data": base64.b64encode(enc.payload).decode(),
    }
    return RawMessage(f"application/a/device/{DEV_EUI}/event/up", orjson.dumps(msg))


def write(
    conn: psycopg.Connection[tuple[object, ...]], frames: list[RawMessage], decoder: PayloadDecoder
) -> None:
    decoder.refresh_devices(load=partial(device_codec_settings, conn=conn), force=True)
    batch = process_messages(messages=frames, max_message_bytes=65536, decoder=decoder)
    BatchWriter().write(conn=conn, batch=batch)


def series(conn: psycopg.Connection[tuple[object, ...]], quantity: str) -> list[float]:
    return [
        float(str(r[0]))
        for r in conn.execute(
            "SELECT value FROM measurements WHERE quantity = %s ORDER BY time", (quantity,)
        )
    ]


def test_cumulative_totals_become_interval_flows_across_wrap_reset_and_restart(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    register_device(conn=conn, dev_eui=DEV_EUI, device_type=COUNTER, site="town-hall")
    t = [BASE_TIME + timedelta(minutes=15 * i) for i in range(8)]
    frames = [
        counter_frame(f_cnt=1, when=t[0], total_in=65500, total_out=10),
        counter_frame(f_cnt=2, when=t[1], total_in=65520, total_out=25),
        counter_frame(f_cnt=3, when=t[2], total_in=4, total_out=31),  # 16-bit wrap: +20
        counter_frame(f_cnt=4, when=t[3], total_in=9, total_out=40),
    ]
    write(conn, [*frames, frames[1]], PayloadDecoder(resolver=NativeResolver()))
    assert series(conn, "people_in") == [20.0, 20.0, 5.0]
    assert series(conn, "people_out") == [15.0, 6.0, 9.0]
    # A restarted ingest (new writer, new decoder) continues from the state in the database.
    rebooted = [
        counter_frame(f_cnt=1, when=t[4], total_in=2, total_out=1),  # reboot: since reset
        counter_frame(f_cnt=2, when=t[5], total_in=12, total_out=4),
    ]
    # The batch also carries a redelivered old frame: stored once, no interval counted twice.
    write(conn, [frames[3], *rebooted], PayloadDecoder(resolver=NativeResolver()))
    assert conn.execute("SELECT count(*) FROM uplinks").fetchone() == (6,)
    assert series(conn, "people_in") == [20.0, 20.0, 5.0, 2.0, 10.0]
    assert series(conn, "people_out") == [15.0, 6.0, 9.0, 1.0, 3.0]
    # A late frame (older than the last one seen) adds no interval: its people are already in
    # the next newer delta, so the day's sum stays right.
    late = counter_frame(f_cnt=9, when=t[5] - timedelta(minutes=5), total_in=11, total_out=3)
    write(conn, [late], PayloadDecoder(resolver=NativeResolver()))
    assert sum(series(conn, "people_in")) == 57.0
    assert series(conn, "people_in_total")[-1] == 12.0
    site = conn.execute("SELECT site, name FROM devices").fetchone()
    assert site == ("town-hall", "north-door")
    decoded = conn.execute(
        "SELECT decoded_by, decoded->>'people_in_total' FROM uplinks ORDER BY received_at LIMIT 1"
    ).fetchone()
    assert decoded == (COUNTER, "65500")


def test_codec_resolved_by_chirpstack_profile_without_registration(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    frame = counter_frame(f_cnt=1, when=BASE_TIME, total_in=7, total_out=3, profile=COUNTER)
    write(conn, [frame], PayloadDecoder(resolver=NativeResolver()))
    assert series(conn, "people_in_total") == [7.0]


def test_corrupt_frame_is_kept_and_dead_lettered(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    register_device(conn=conn, dev_eui=DEV_EUI, device_type=COUNTER)
    frame = counter_frame(f_cnt=1, when=BASE_TIME, total_in=7, total_out=3)
    msg = orjson.loads(frame.payload)
    msg["data"] = base64.b64encode(b"\x00\x01").decode()  # two bytes: far too short
    write(
        conn,
        [RawMessage(frame.topic, orjson.dumps(msg))],
        PayloadDecoder(resolver=NativeResolver()),
    )
    assert conn.execute("SELECT count(*), min(decoded_by) FROM uplinks").fetchone() == (1, None)
    dead = conn.execute("SELECT reason, detail FROM dead_letters").fetchone()
    assert dead is not None
    assert dead[0] == "codec_error"
    assert COUNTER in str(dead[1])
    assert "byte" in str(dead[1])
    assert series(conn, "people_in_total") == []


def test_redecode_replaces_measurements_after_a_codec_fix(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    # First the device was registered with the wrong device type: its frames fail to decode.
    register_device(conn=conn, dev_eui=DEV_EUI, device_type="milesight-vs133")
    t = [BASE_TIME + timedelta(minutes=10 * i) for i in range(3)]
    frames = [
        counter_frame(f_cnt=i + 1, when=t[i], total_in=100 + 7 * i, total_out=50 + i)
        for i in range(3)
    ]
    write(conn, frames, PayloadDecoder(resolver=NativeResolver()))
    assert series(conn, "people_in") == []
    register_device(conn=conn, dev_eui=DEV_EUI, device_type=COUNTER)
    conn.commit()
    report = redecode(conn=conn, resolver=NativeResolver(), dev_eui=DEV_EUI)
    assert (report.frames, report.decoded, report.failed) == (3, 3, 0)
    assert series(conn, "people_in_total") == [100.0, 107.0, 114.0]
    assert series(conn, "people_in") == [7.0, 7.0]
    # Running it again replaces, never adds.
    redecode(conn=conn, resolver=NativeResolver(), dev_eui=DEV_EUI)
    assert series(conn, "people_in") == [7.0, 7.0]
    assert conn.execute(
        "SELECT count(*) FROM uplinks WHERE decoded_by = %s", (COUNTER,)
    ).fetchone() == (3,)
    # The next live frame continues from the re-decoded total: its interval is not lost.
    live = counter_frame(f_cnt=4, when=t[2] + timedelta(minutes=10), total_in=121, total_out=53)
    write(conn, [live], PayloadDecoder(resolver=NativeResolver()))
    assert series(conn, "people_in") == [7.0, 7.0, 7.0]
    assert series(conn, "people_out") == [1.0, 1.0, 1.0]


def test_counter_reboot_from_a_high_total_is_a_reset_not_a_crowd(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    register_device(conn=conn, dev_eui=DEV_EUI, device_type=COUNTER)
    t = [BASE_TIME + timedelta(minutes=15 * i) for i in range(4)]
    write(
        conn,
        [
            counter_frame(f_cnt=10, when=t[0], total_in=59990, total_out=7),
            counter_frame(f_cnt=11, when=t[1], total_in=60000, total_out=9),
        ],
        PayloadDecoder(resolver=NativeResolver()),
    )
    # 15 minutes later the total reads 5: a wrap would mean 5541 people through one door in
    # 900 s (six a second, all the time), so the device rebooted and has counted 5 since.
    write(
        conn,
        [counter_frame(f_cnt=12, when=t[2], total_in=5, total_out=1)],
        PayloadDecoder(resolver=NativeResolver()),
    )
    assert series(conn, "people_in") == [10.0, 5.0]
    assert series(conn, "people_out") == [2.0, 1.0]
    events = conn.execute("SELECT time, kind, source, details FROM device_events").fetchall()
    assert events == [
        (
            t[2],
            "counter_reset",
            "loracity",
            {
                "f_cnt": 12,
                "counters": [
                    {
                        "quantity": "people_in_total",
                        "channel": 0,
                        "previous": 60000.0,
                        "current": 5.0,
                        "reason": "implausible_wrap",
                        "elapsed_s": 900.0,
                    },
                    {
                        "quantity": "people_out_total",
                        "channel": 0,
                        "previous": 9.0,
                        "current": 1.0,
                        "reason": "counter_dropped",
                        "elapsed_s": 900.0,
                    },
                ],
            },
        )
    ]


def test_counter_drop_with_a_restarted_frame_counter_is_a_reset(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    register_device(conn=conn, dev_eui=DEV_EUI, device_type=COUNTER)
    t = [BASE_TIME + timedelta(minutes=15 * i) for i in range(3)]
    # 65530 → 3 in 15 minutes could be a rollover (+9), but the frame counter started again
    # too: the device rebooted and has counted 3 since.
    first = counter_frame(f_cnt=40, when=t[0], total_in=65500, total_out=20)
    write(conn, [first], PayloadDecoder(resolver=NativeResolver()))
    # With a redelivered frame in it the batch takes the writer's staging path.
    write(
        conn,
        [
            first,
            counter_frame(f_cnt=41, when=t[1], total_in=65530, total_out=22),
            counter_frame(f_cnt=1, when=t[2], total_in=3, total_out=0),
        ],
        PayloadDecoder(resolver=NativeResolver()),
    )
    assert series(conn, "people_in") == [30.0, 3.0]
    assert series(conn, "people_out") == [2.0, 0.0]
    reasons = conn.execute(
        "SELECT x->>'quantity', x->>'reason' FROM device_events,"
        " jsonb_array_elements(details->'counters') x WHERE time = %s ORDER BY 1",
        (t[2],),
    ).fetchall()
    assert reasons == [
        ("people_in_total", "frame_counter_restarted"),
        ("people_out_total", "frame_counter_restarted"),
    ]


def vs133_frame(*, f_cnt: int, when: datetime, values: dict[str, object]) -> RawMessage:
    """A ChirpStack v4 uplink from a Milesight VS133 with no decoded object."""
    enc = {c.name: c for c in native_codecs()}["milesight-vs133"].encode(values=values)
    msg = {
        "deduplicationId": str(uuid.uuid4()),
        "time": rfc3339(when),
        "deviceInfo": {"applicationId": "a", "devEui": DEV_EUI},
        "fCnt": f_cnt,
        "fPort": enc.f_port,
        "data": base64.b64encode(enc.payload).decode(),
    }
    return RawMessage(f"application/a/device/{DEV_EUI}/event/up", orjson.dumps(msg))


def test_reset_flag_and_direct_counts_on_the_writers_staging_path(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    register_device(conn=conn, dev_eui=DEV_EUI, device_type="milesight-vs133")
    t = [BASE_TIME + timedelta(minutes=15 * i) for i in range(3)]
    first = vs133_frame(
        f_cnt=7,
        when=t[0],
        values={
            "line_1_total_in": 100,
            "line_1_total_out": 50,
            "line_1_period_in": 3,
            "line_1_period_out": 1,
        },
    )
    write(conn, [first], PayloadDecoder(resolver=NativeResolver()))
    # The redelivered first frame sends the batch down the staging path.
    write(
        conn,
        [
            first,
            vs133_frame(
                f_cnt=8,
                when=t[1],
                values={  # rebooted, and says so
                    "reset_event": "reset",
                    "line_1_total_in": 4,
                    "line_1_total_out": 2,
                },
            ),
            vs133_frame(
                f_cnt=9,
                when=t[2],
                values={  # counted the interval itself
                    "line_1_total_in": 9,
                    "line_1_total_out": 3,
                    "line_1_period_in": 5,
                    "line_1_period_out": 1,
                },
            ),
        ],
        PayloadDecoder(resolver=NativeResolver()),
    )
    assert series(conn, "people_in") == [3.0, 4.0, 5.0]
    assert series(conn, "people_out") == [1.0, 2.0, 1.0]
    events = conn.execute("SELECT time, details FROM device_events").fetchall()
    assert events == [
        (
            t[1],
            {
                "f_cnt": 8,
                "counters": [
                    {
                        "quantity": "people_in_total",
                        "channel": 1,
                        "previous": 100.0,
                        "current": 4.0,
                        "reason": "device_reset",
                        "elapsed_s": 900.0,
                    },
                    {
                        "quantity": "people_out_total",
                        "channel": 1,
                        "previous": 50.0,
                        "current": 2.0,
                        "reason": "device_reset",
                        "elapsed_s": 900.0,
                    },
                ],
            },
        )
    ]


def test_network_decoded_payload_is_used_unless_local_decoding_is_asked(
    conn: psycopg.Connection[tuple[object, ...]],
) -> None:
    def with_object(f_cnt: int) -> RawMessage:
        frame = counter_frame(
            f_cnt=f_cnt,
            when=BASE_TIME + timedelta(minutes=f_cnt),
            total_in=40,
            total_out=2,
            profile=COUNTER,
        )
        msg = orjson.loads(frame.payload)
        msg["object"] = {"in": 40, "out": 2}  # a network-server decoder with its own names
        return RawMessage(frame.topic, orjson.dumps(msg))

    write(conn, [with_object(1)], PayloadDecoder(resolver=NativeResolver()))
    assert conn.execute("SELECT decoded_by FROM uplinks").fetchone() == ("network",)
    assert series(conn, "people_in_total") == []
    # The device type asks for local decoding (decode_locally in the codecs configuration).
    write(
        conn, [with_object(2)], PayloadDecoder(resolver=NativeResolver(local=frozenset({COUNTER})))
    )
    assert series(conn, "people_in_total") == [40.0]
    # Or the device itself does (loracity devices set --decode-locally).
    register_device(conn=conn, dev_eui=DEV_EUI, decode_locally=True)
    write(conn, [with_object(3)], PayloadDecoder(resolver=NativeResolver()))
    assert series(conn, "people_in_total") == [40.0, 40.0]
