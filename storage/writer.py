"""The batch writer: one transaction per batch, binary COPY, idempotent by the frame key.

The normal path COPYs a batch straight into ``uplinks``, ``receptions`` and ``measurements``
inside a savepoint: most batches hold only new frames. A frame may arrive twice (broker
redelivery after a crash, two ingest replicas, a re-published message), and COPY cannot skip rows
that already exist: when the unique key (dev_eui, received_at, f_cnt) refuses one, the savepoint
is rolled back and that batch (and the next) takes the staging path: rows are COPYed into
per-connection temporary tables and moved with ``INSERT ... ON CONFLICT DO NOTHING RETURNING``;
receptions and measurements follow only for the frames that were new. The key lives in the
database, so replicas never coordinate.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb, set_json_dumps

from lorawan.batch import Batch, StoredUplink, WriteResult
from lorawan.counters import COUNTER_TO_INTERVAL, CounterReading, frame_readings
from storage.flows import derive_for_readings

# The columns of ``uplinks`` the writer fills, in COPY order, with their PostgreSQL types (as
# COPY BINARY names them). Written once: the staging table, both COPYs and the move derive from
# it, and tests/storage/test_writer.py compares it with the migrated table (0001_core.sql).
UPLINK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("received_at", "timestamptz"),
    ("dev_eui", "text"),
    ("f_cnt", "int8"),
    ("f_port", "int4"),
    ("payload", "bytea"),
    ("decoded", "jsonb"),
    ("decoded_by", "text"),
    ("source", "text"),
    ("confirmed", "bool"),
    ("dev_addr", "text"),
    ("spreading_factor", "int2"),
    ("bandwidth", "int4"),
    ("frequency", "int8"),
    ("airtime", "float4"),
    ("gateway_count", "int2"),
    ("best_rssi", "float4"),
    ("best_snr", "float4"),
    ("raw", "bytea"),
)
_UPLINK_NAMES = ", ".join(name for name, _ in UPLINK_COLUMNS)

_STAGING_DDL = """
CREATE TEMP TABLE IF NOT EXISTS stage_uplinks ({uplink_columns}) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_receptions (
    received_at timestamptz, dev_eui text, f_cnt bigint, gateway_id text, rssi real, snr real,
    spreading_factor smallint, frequency bigint, gateway_time timestamptz
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_measurements (
    time timestamptz, dev_eui text, f_cnt bigint, quantity text, channel smallint,
    value double precision
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_new (
    dev_eui text, received_at timestamptz, f_cnt bigint
) ON COMMIT DELETE ROWS;
""".replace("{uplink_columns}", ", ".join(f"{name} {kind}" for name, kind in UPLINK_COLUMNS))

_UPLINK_TYPES = [copy_type for _, copy_type in UPLINK_COLUMNS]
_RECEPTION_TYPES = [
    "timestamptz",
    "text",
    "int8",
    "text",
    "float4",
    "float4",
    "int2",
    "int8",
    "timestamptz",
]
_MEASUREMENT_TYPES = ["timestamptz", "text", "int8", "text", "int2", "float8"]
_DIRECT_MEASUREMENT_TYPES = ["timestamptz", "text", "text", "int2", "float8"]

_STAGING_TABLES = ("stage_uplinks", "stage_receptions", "stage_measurements")
_DIRECT_TABLES = (
    f"uplinks ({_UPLINK_NAMES})",
    "receptions (received_at, dev_eui, f_cnt, gateway_id, rssi, snr, spreading_factor,"
    " frequency, gateway_time)",
    "measurements (time, dev_eui, quantity, channel, value)",
)
_DEAD_LETTER_TYPES = ["text", "bytea", "int4", "text", "text"]

# Sorting by the frame key keeps lock order identical across replicas: two replicas inserting
# the same frames in different orders would otherwise deadlock on the unique index.
_MOVE_SQL = """
WITH ins AS (
    INSERT INTO uplinks ({uplinks})
    SELECT * FROM stage_uplinks ORDER BY dev_eui, received_at, f_cnt
    ON CONFLICT DO NOTHING
    RETURNING dev_eui, received_at, f_cnt
), r AS (
    INSERT INTO receptions (received_at, dev_eui, f_cnt, gateway_id, rssi, snr,
                            spreading_factor, frequency, gateway_time)
    SELECT s.* FROM stage_receptions s
    JOIN ins ON s.dev_eui = ins.dev_eui AND s.received_at = ins.received_at AND s.f_cnt = ins.f_cnt
    RETURNING 1
), m AS (
    INSERT INTO measurements (time, dev_eui, quantity, channel, value)
    SELECT s.time, s.dev_eui, s.quantity, s.channel, s.value FROM stage_measurements s
    JOIN ins ON s.dev_eui = ins.dev_eui AND s.time = ins.received_at AND s.f_cnt = ins.f_cnt
    RETURNING 1
)
{keep}
SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM m)
"""
# Frames that have cumulative counters need to know which frames were new (for flows).
_MOVE_KEEP_NEW_SQL = _MOVE_SQL.format(
    uplinks=_UPLINK_NAMES, keep=", keep AS (INSERT INTO stage_new SELECT * FROM ins RETURNING 1)"
)
_MOVE_SQL = _MOVE_SQL.format(uplinks=_UPLINK_NAMES, keep="")
_NEW_FRAMES_SQL = "SELECT dev_eui, received_at, f_cnt FROM stage_new"

_DEVICE_UPSERT = """
INSERT INTO devices AS d (dev_eui, name, application, tenant, source, device_profile,
                          version_ids, latitude, longitude, altitude, tags, site, first_seen,
                          last_seen)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (dev_eui) DO UPDATE SET
    name = coalesce(EXCLUDED.name, d.name),
    application = coalesce(EXCLUDED.application, d.application),
    tenant = coalesce(EXCLUDED.tenant, d.tenant),
    source = EXCLUDED.source,
    device_profile = coalesce(EXCLUDED.device_profile, d.device_profile),
    version_ids = coalesce(EXCLUDED.version_ids, d.version_ids),
    -- A registered position (devices.position_registered) wins over network-server locations.
    latitude = CASE WHEN d.position_registered THEN d.latitude
                    ELSE coalesce(EXCLUDED.latitude, d.latitude) END,
    longitude = CASE WHEN d.position_registered THEN d.longitude
                     ELSE coalesce(EXCLUDED.longitude, d.longitude) END,
    altitude = CASE WHEN d.position_registered THEN d.altitude
                    ELSE coalesce(EXCLUDED.altitude, d.altitude) END,
    tags = CASE WHEN EXCLUDED.tags = '{}'::jsonb THEN d.tags ELSE EXCLUDED.tags END,
    site = coalesce(EXCLUDED.site, d.site),
    first_seen = least(d.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(d.last_seen, EXCLUDED.last_seen),
    updated_at = now()
"""

_GATEWAY_UPSERT = """
INSERT INTO gateways AS g (gateway_id, eui, latitude, longitude, altitude, first_seen, last_seen)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (gateway_id) DO UPDATE SET
    eui = coalesce(EXCLUDED.eui, g.eui),
    latitude = coalesce(EXCLUDED.latitude, g.latitude),
    longitude = coalesce(EXCLUDED.longitude, g.longitude),
    altitude = coalesce(EXCLUDED.altitude, g.altitude),
    first_seen = least(g.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(g.last_seen, EXCLUDED.last_seen)
"""

# A gateway the network server named by an id of its own (TTN) and also by its EUI: the id is
# an alias of the row keyed by the EUI (migration 0003). Learned rarely (once per gateway), so
# the merge of any row already stored under the alias runs in SQL, where the rule lives.
_ALIAS_UPSERT = """
INSERT INTO gateway_aliases (alias, gateway_id) VALUES (%s, %s)
ON CONFLICT (alias) DO UPDATE SET gateway_id = EXCLUDED.gateway_id
WHERE gateway_aliases.gateway_id <> EXCLUDED.gateway_id
"""
_ALIAS_MERGE = "SELECT loracity_merge_gateway_aliases()"
_ALIAS_LOOKUP = "SELECT alias, gateway_id FROM gateway_aliases WHERE alias = ANY(%s)"

_EVENT_INSERT = """
INSERT INTO device_events (time, dev_eui, kind, source, details, raw)
VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1
"""

# last_seen is for people (per-frame precision lives in uplinks): rewriting a device row for every
# frame would cost a row version per uplink, so it moves in steps of at least this much.
# Rows are locked in dev_eui order first, so two replicas cannot deadlock on them.
_LAST_SEEN_SQL = """
WITH s AS (
    SELECT * FROM unnest(%s::text[], %s::timestamptz[]) AS s(dev_eui, last)
), locked AS (
    SELECT d.dev_eui, s.last FROM devices d JOIN s USING (dev_eui)
    WHERE d.last_seen IS NULL OR d.last_seen < s.last - interval '1 minute'
    ORDER BY d.dev_eui FOR UPDATE OF d
)
UPDATE devices d SET last_seen = locked.last FROM locked WHERE d.dev_eui = locked.dev_eui
"""
_GATEWAY_LAST_SEEN_SQL = """
WITH s AS (
    SELECT * FROM unnest(%s::text[], %s::timestamptz[]) AS s(gateway_id, last)
), locked AS (
    SELECT g.gateway_id, s.last FROM gateways g JOIN s USING (gateway_id)
    WHERE g.last_seen IS NULL OR g.last_seen < s.last - interval '1 minute'
    ORDER BY g.gateway_id FOR UPDATE OF g
)
UPDATE gateways g SET last_seen = locked.last FROM locked
WHERE g.gateway_id = locked.gateway_id
"""


def configure_connection(conn: psycopg.Connection[Any]) -> None:
    """Prepare a new connection for the writer (staging tables, fast JSON). Pool ``configure``."""
    set_json_dumps(orjson.dumps, context=conn)
    conn.execute(_STAGING_DDL)
    conn.commit()


class BatchWriter:
    """Writes batches; remembers which device and gateway rows are current to skip upserts.

    Not thread-safe: one writer per ingest worker thread.
    """

    def __init__(self) -> None:
        self._devices: dict[str, tuple[Any, ...]] = {}
        self._gateways: dict[str, tuple[Any, ...]] = {}
        self._aliases: dict[str, str] = {}  # network server gateway id -> gateways row id
        self._direct_ok = True

    def write(self, *, conn: psycopg.Connection[Any], batch: Batch) -> WriteResult:
        """Write ``batch`` in one transaction and commit it; return what was new.

        On any error the transaction is rolled back and the exception propagates, so the caller
        can retry the very same batch: the result is the same as if the first try never ran.
        """
        result = WriteResult()
        uplinks, in_batch_dupes = _unique_frames(batch.uplinks)
        result.duplicates += in_batch_dupes
        with conn.transaction():
            gateway_ids, learned = self._gateway_ids(conn=conn, batch=batch)
            device_rows, gateway_rows, pending, seen = self._metadata_rows(batch, gateway_ids)
            if uplinks:
                counters = any(
                    m.quantity in COUNTER_TO_INTERVAL for su in uplinks for m in su.measurements
                )
                if self._copy_direct(conn=conn, uplinks=uplinks, gateway_ids=gateway_ids):
                    result.stored = len(uplinks)
                    result.measurements = sum(len(su.measurements) for su in uplinks)
                    if counters:
                        result.measurements += derive_for_readings(
                            conn=conn, readings=_counter_readings(uplinks)
                        )
                else:
                    self._copy_uplinks(conn=conn, uplinks=uplinks, gateway_ids=gateway_ids)
                    row = conn.execute(_MOVE_KEEP_NEW_SQL if counters else _MOVE_SQL).fetchone()
                    assert row is not None
                    result.stored = int(row[0])
                    result.measurements = int(row[1])
                    result.duplicates += len(uplinks) - result.stored
                    if counters and result.stored:
                        new = {tuple(row) for row in conn.execute(_NEW_FRAMES_SQL)}
                        result.measurements += derive_for_readings(
                            conn=conn,
                            readings=[
                                r
                                for r in _counter_readings(uplinks)
                                if (r.dev_eui, r.time, r.f_cnt) in new
                            ],
                        )
            for stored_event in batch.events:
                ev = stored_event.event
                cur = conn.execute(
                    _EVENT_INSERT,
                    (
                        ev.time,
                        ev.dev_eui,
                        ev.kind.value,
                        ev.source.value,
                        Jsonb(ev.details),
                        ev.raw,
                    ),
                )
                if cur.fetchone() is None:
                    result.event_duplicates += 1
                    continue
                result.events += 1
                if stored_event.measurements:
                    with conn.cursor() as cur2:
                        cur2.executemany(
                            "INSERT INTO measurements (time, dev_eui, quantity, channel, value)"
                            " VALUES (%s, %s, %s, %s, %s)",
                            [
                                (ev.time, ev.dev_eui, m.quantity, m.channel, m.value)
                                for m in stored_event.measurements
                            ],
                        )
                    result.measurements += len(stored_event.measurements)
            if batch.dead_letters:
                with conn.cursor().copy(
                    "COPY dead_letters (topic, payload, size, reason, detail)"
                    " FROM STDIN (FORMAT BINARY)"
                ) as copy:
                    copy.set_types(_DEAD_LETTER_TYPES)
                    for dl in batch.dead_letters:
                        copy.write_row((dl.topic, dl.payload, dl.size, dl.reason, dl.detail))
                result.dead_letters = len(batch.dead_letters)
                for dl in batch.dead_letters:
                    reasons = result.dead_letter_reasons
                    reasons[dl.reason] = reasons.get(dl.reason, 0) + 1
            if device_rows:
                with conn.cursor() as cur:
                    cur.executemany(_DEVICE_UPSERT, device_rows)
            if gateway_rows:
                with conn.cursor() as cur:
                    cur.executemany(_GATEWAY_UPSERT, gateway_rows)
            if learned:
                with conn.cursor() as cur:
                    cur.executemany(_ALIAS_UPSERT, sorted(learned.items()))
                conn.execute(_ALIAS_MERGE)
            if seen.devices:
                conn.execute(_LAST_SEEN_SQL, _arrays(seen.devices))
            if seen.gateways:
                conn.execute(_GATEWAY_LAST_SEEN_SQL, _arrays(seen.gateways))
        # Only after commit: a rolled-back upsert must be retried with the next batch.
        self._devices.update(pending[0])
        self._gateways.update(pending[1])
        self._aliases.update(learned)
        return result

    def _gateway_ids(
        self,
        *,
        conn: psycopg.Connection[Any],
        batch: Batch,
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The gateways row of each gateway the batch names, and the aliases it teaches.

        A gateway whose EUI is known is the row keyed by the EUI; one named only by a network
        server id is the row its alias points to, or its own row when there is no alias.
        """
        resolved: dict[str, str] = {}
        learned: dict[str, str] = {}
        for su in batch.uplinks:
            for r in su.uplink.receptions:
                if r.gateway_eui is None:
                    continue
                resolved[r.gateway_id] = r.gateway_eui
                new_alias = self._aliases.get(r.gateway_id) != r.gateway_eui
                if r.gateway_id != r.gateway_eui and new_alias:
                    learned[r.gateway_id] = r.gateway_eui
        unknown: set[str] = set()
        for su in batch.uplinks:
            for r in su.uplink.receptions:
                if r.gateway_id in resolved:
                    continue
                known = self._aliases.get(r.gateway_id)
                if known is None:
                    unknown.add(r.gateway_id)
                else:
                    resolved[r.gateway_id] = known
        if unknown:
            for alias, gateway_id in conn.execute(_ALIAS_LOOKUP, (sorted(unknown),)):
                resolved[alias] = gateway_id
                self._aliases[alias] = gateway_id  # committed by whoever learned it
        return resolved, learned

    def _copy_direct(
        self,
        *,
        conn: psycopg.Connection[Any],
        uplinks: list[StoredUplink],
        gateway_ids: dict[str, str],
    ) -> bool:
        """COPY straight into the final tables; False (and nothing written) if a frame is
        already stored, so the caller takes the staging path.

        Most batches hold only new frames: this skips writing every row twice. The unique
        frame key still decides, so correctness never depends on guessing right.
        """
        if not self._direct_ok:
            self._direct_ok = True  # one batch on the staging path, then try again
            return False
        try:
            with conn.transaction():  # a savepoint: a duplicate rolls back just this part
                self._copy_uplinks(
                    conn=conn, uplinks=uplinks, gateway_ids=gateway_ids, into=_DIRECT_TABLES
                )
        except psycopg.errors.UniqueViolation:
            # Redeliveries come in runs (a reconnect replays the in-flight window): take the
            # staging path for the next batch too before trying the fast one again.
            self._direct_ok = False
            return False
        return True

    @staticmethod
    def _copy_uplinks(
        *,
        conn: psycopg.Connection[Any],
        uplinks: Iterable[StoredUplink],
        gateway_ids: dict[str, str],
        into: tuple[str, str, str] | None = None,
    ) -> None:
        receptions: list[tuple[Any, ...]] = []
        measurements: list[tuple[Any, ...]] = []
        up_table, rx_table, m_table = into or _STAGING_TABLES
        with conn.cursor().copy(f"COPY {up_table} FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(_UPLINK_TYPES)
            for su in uplinks:
                u = su.uplink
                rssi = [r.rssi for r in u.receptions if r.rssi is not None]
                snr = [r.snr for r in u.receptions if r.snr is not None]
                copy.write_row(
                    (
                        u.received_at,
                        u.dev_eui,
                        u.f_cnt,
                        u.f_port,
                        u.payload,
                        su.decoded,
                        su.decoded_by,
                        u.source.value,
                        u.confirmed,
                        u.dev_addr,
                        u.spreading_factor,
                        u.bandwidth,
                        u.frequency,
                        u.airtime,
                        len(u.receptions),
                        max(rssi) if rssi else None,
                        max(snr) if snr else None,
                        u.raw,
                    )
                )
                for r in u.receptions:
                    receptions.append(
                        (
                            u.received_at,
                            u.dev_eui,
                            u.f_cnt,
                            gateway_ids.get(r.gateway_id, r.gateway_id),
                            r.rssi,
                            r.snr,
                            u.spreading_factor,
                            u.frequency,
                            r.time,
                        )
                    )
                for m in su.measurements:
                    if into is None:
                        measurements.append(
                            (u.received_at, u.dev_eui, u.f_cnt, m.quantity, m.channel, m.value)
                        )
                    else:
                        measurements.append(
                            (u.received_at, u.dev_eui, m.quantity, m.channel, m.value)
                        )
        if receptions:
            with conn.cursor().copy(f"COPY {rx_table} FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_RECEPTION_TYPES)
                for row in receptions:
                    copy.write_row(row)
        if measurements:
            with conn.cursor().copy(f"COPY {m_table} FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(_MEASUREMENT_TYPES if into is None else _DIRECT_MEASUREMENT_TYPES)
                for row in measurements:
                    copy.write_row(row)

    def _metadata_rows(
        self,
        batch: Batch,
        gateway_ids: dict[str, str],
    ) -> tuple[
        list[tuple[Any, ...]],
        list[tuple[Any, ...]],
        tuple[dict[str, tuple[Any, ...]], dict[str, tuple[Any, ...]]],
        _LastSeen,
    ]:
        devices: dict[str, tuple[Any, ...]] = {}
        gateways: dict[str, tuple[Any, ...]] = {}
        seen_times: dict[str, tuple[datetime, datetime]] = {}
        gw_times: dict[str, tuple[datetime, datetime]] = {}
        for su in batch.uplinks:
            u = su.uplink
            loc = u.device_location
            devices[u.dev_eui] = (
                u.device_name,
                u.application,
                u.tenant,
                u.source.value,
                u.device_profile,
                u.version_ids,
                loc.latitude if loc else None,
                loc.longitude if loc else None,
                loc.altitude if loc else None,
                u.tags or {},
                (u.tags or {}).get("site"),
            )
            _widen(seen_times, u.dev_eui, u.received_at)
            for r in u.receptions:
                gl = r.location
                gateway_id = gateway_ids.get(r.gateway_id, r.gateway_id)
                gateways[gateway_id] = (
                    r.gateway_eui or (gateway_id if gateway_id != r.gateway_id else None),
                    gl.latitude if gl else None,
                    gl.longitude if gl else None,
                    gl.altitude if gl else None,
                )
                _widen(gw_times, gateway_id, u.received_at)
        for se in batch.events:
            ev = se.event
            devices.setdefault(
                ev.dev_eui,
                (
                    ev.device_name,
                    ev.application,
                    ev.tenant,
                    ev.source.value,
                    ev.device_profile,
                    None,
                    None,
                    None,
                    None,
                    {},
                    None,
                ),
            )
            _widen(seen_times, ev.dev_eui, ev.time)
        device_rows, new_devices = _changed(devices, seen_times, self._devices)
        gateway_rows, new_gateways = _changed(gateways, gw_times, self._gateways)
        last_seen = _LastSeen(
            devices={k: v[1] for k, v in seen_times.items()},
            gateways={k: v[1] for k, v in gw_times.items()},
        )
        return device_rows, gateway_rows, (new_devices, new_gateways), last_seen


@dataclass(slots=True, frozen=True)
class _LastSeen:
    """The newest time per device and per gateway in a batch."""

    devices: dict[str, datetime]
    gateways: dict[str, datetime]


def _arrays(latest: dict[str, datetime]) -> tuple[list[str], list[datetime]]:
    keys = sorted(latest)
    return keys, [latest[k] for k in keys]


def _widen(times: dict[str, tuple[datetime, datetime]], key: str, t: datetime) -> None:
    span = times.get(key)
    times[key] = (t, t) if span is None else (min(span[0], t), max(span[1], t))


def _changed(
    current: dict[str, tuple[Any, ...]],
    times: dict[str, tuple[datetime, datetime]],
    cache: dict[str, tuple[Any, ...]],
) -> tuple[list[tuple[Any, ...]], dict[str, tuple[Any, ...]]]:
    rows: list[tuple[Any, ...]] = []
    pending: dict[str, tuple[Any, ...]] = {}
    for key in sorted(current):  # sorted: same lock order in every replica
        values = current[key]
        first, last = times[key]
        cached = cache.get(key)
        if cached == values:
            continue  # unchanged metadata; last_seen moves by the set-based UPDATE
        rows.append((key, *(Jsonb(v) if isinstance(v, dict) else v for v in values), first, last))
        pending[key] = values
    return rows, pending


def _unique_frames(uplinks: list[StoredUplink]) -> tuple[list[StoredUplink], int]:
    """The batch's distinct frames in frame-key order, and how many repeats were dropped.

    Key order keeps lock order identical across replicas (see _MOVE_SQL).
    """
    by_key: dict[tuple[str, datetime, int], StoredUplink] = {}
    for su in uplinks:
        by_key.setdefault((su.uplink.dev_eui, su.uplink.received_at, su.uplink.f_cnt), su)
    return [by_key[k] for k in sorted(by_key)], len(uplinks) - len(by_key)


def _counter_readings(uplinks: list[StoredUplink]) -> list[CounterReading]:
    return [
        r
        for su in uplinks
        for r in frame_readings(
            dev_eui=su.uplink.dev_eui,
            time=su.uplink.received_at,
            f_cnt=su.uplink.f_cnt,
            measurements=su.measurements,
            decoded=su.decoded,
        )
    ]
