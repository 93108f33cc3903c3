"""The pure message generator: scenario + seed + time window -> MQTT messages, no I/O.

Devices are scheduled on a heap by their next send time in *scenario* time; with ``speed``
above 1 scenario time runs faster than the time stamped into messages, which is how
accelerated and load runs work. Every random draw comes from a generator seeded from the run
seed and the device's ID, so a seed reproduces every byte.
"""

from __future__ import annotations

import base64
import heapq
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lorawan.codecs.base import Codec
from lorawan.errors import CodecError
from simulators import scenario as schema
from simulators.behaviours.base import Battery, Behaviour, Sample
from simulators.behaviours.bus import BusPassengers, BusPosition, LineModel
from simulators.behaviours.crowd import Paxcounter, PeopleCounter
from simulators.behaviours.environment import EnvironmentSensor
from simulators.behaviours.parking import ParkingSpace
from simulators.behaviours.tracker import GpsTracker
from simulators.behaviours.water import WaterLevelGauge
from simulators.behaviours.weather import Weather
from simulators.device_types import DEVICE_TYPES, Adapter, available_codecs, repository_ids
from simulators.envelopes import DeviceIdentity, Envelope, Frame, GatewayInfo, make_envelope
from simulators.loading import Scenario, device_seed
from simulators.messages import MessageKind, SimMessage
from simulators.profiles import LocalClock, Profile
from simulators.radio import EU868_CHANNELS, GatewaySite, Link, RadioModel, airtime_s
from simulators.scenario import Device, Faults, NetworkFormat, SiteSpec
from simulators.seeds import derive_seed
from simulators.sites import SiteModel
from simulators.timefmt import NS, TimeFormatter, to_ns

_MIN_GAP = 1.0  # seconds; no device sends twice within a second whatever its settings


@dataclass(slots=True)
class DeviceTally:
    """What happened to a device's uplinks that no message shows."""

    lost: int = 0  # sent, never delivered (packet loss fault)
    silenced: int = 0  # not sent while the device was silent
    fcnt_resets: int = 0
    fcnt_wraps: int = 0


@dataclass(slots=True)
class _Context:
    scenario: Scenario
    seed: int
    start: float
    clock: LocalClock
    weather: Weather
    radio: RadioModel
    gateways: tuple[GatewayInfo, ...]
    codecs: Mapping[str, Codec]
    format: NetworkFormat | None
    faults: Faults | None
    sites: dict[str, SiteModel] = field(default_factory=dict)
    lines: dict[str, LineModel] = field(default_factory=dict)
    euis: set[str] = field(default_factory=set)

    def site(self, ref: str | SiteSpec, device_id: str) -> SiteModel:
        if isinstance(ref, str):
            found = self.sites.get(ref)
            if found is None:
                spec = next(s for s in self.scenario.spec.sites if s.id == ref)
                found = self.sites[ref] = SiteModel(name=ref, spec=spec, clock=self.clock)
            return found
        return SiteModel(name=device_id, spec=ref, clock=self.clock)

    def line(self, line_id: str) -> LineModel:
        found = self.lines.get(line_id)
        if found is None:
            spec = next(line for line in self.scenario.spec.lines if line.id == line_id)
            found = self.lines[line_id] = LineModel(spec=spec, clock=self.clock)
        return found


def _behaviour(device: Device, ctx: _Context, rng: random.Random) -> Behaviour:
    spec = device.behaviour
    start = ctx.start
    if isinstance(spec, schema.PeopleCounter):
        site = ctx.site(spec.site, device.id)
        return PeopleCounter(site=site, share=spec.share, rng=rng, start=start)
    if isinstance(spec, schema.Paxcounter):
        return Paxcounter(
            site=ctx.site(spec.site, device.id),
            share=spec.share,
            wifi_ratio=spec.wifi_ratio,
            ble_ratio=spec.ble_ratio,
            background=spec.background,
            rng=rng,
        )
    if isinstance(spec, schema.Environment):
        return EnvironmentSensor(
            indoor=spec.indoor,
            site=ctx.site(spec.site, device.id) if spec.site is not None else None,
            mean_temperature=spec.mean_temperature,
            daily_amplitude=spec.daily_amplitude,
            co2_per_person=spec.co2_per_person,
            weather=ctx.weather,
            clock=ctx.clock,
            rng=rng,
            start=start,
        )
    if isinstance(spec, schema.Parking):
        return ParkingSpace(
            profile=Profile(name=spec.profile),
            mean_stay=spec.mean_stay,
            clock=ctx.clock,
            rng=rng,
            start=start,
        )
    if isinstance(spec, schema.WaterLevel):
        return WaterLevelGauge(
            base_level=spec.base_level,
            mount_height=spec.mount_height,
            rain_probability=spec.rain_probability,
            max_rise=spec.max_rise,
            weather=ctx.weather,
            clock=ctx.clock,
            rng=rng,
        )
    if isinstance(spec, schema.GpsTracker):
        return GpsTracker(
            points=[(p.lat, p.lon) for p in spec.route],
            altitude=spec.route[0].alt,
            speed=spec.speed,
            loop=spec.loop,
            pause=spec.pause,
            rng=rng,
        )
    if isinstance(spec, schema.Bus):
        line = ctx.line(spec.line)
        vehicle = spec.vehicle or 0
        if spec.report == "passengers":
            return BusPassengers(line=line, vehicle=vehicle, rng=rng, start=start)
        return BusPosition(line=line, vehicle=vehicle, rng=rng)
    raise TypeError(f"unknown behaviour {spec!r}")


def _identity(device: Device, ctx: _Context) -> DeviceIdentity:
    spec = ctx.scenario.spec
    dev_eui = device.dev_eui
    attempt = 0
    while dev_eui is None or (device.dev_eui is None and dev_eui in ctx.euis):
        # 70B3D5 is an IEEE block many LoRaWAN vendors use; the rest is stable per device.
        value = derive_seed("dev_eui", spec.name, device.id, attempt) & 0xFF_FFFF_FFFF
        dev_eui = f"70b3d5{value:010x}"
        attempt += 1
    ctx.euis.add(dev_eui)
    key = derive_seed("session", spec.name, device.id)
    tags = dict(device.tags)
    if device.site_name:
        tags.setdefault("site", device.site_name)
    position = device.position
    return DeviceIdentity(
        device_id=device.id,
        dev_eui=dev_eui,
        join_eui="70b3d57ed0000000",
        dev_addr=f"260b{key & 0xFFFF:04x}",
        session_key_id=base64.b64encode(key.to_bytes(8, "big") * 2).decode(),
        application=device.application or spec.network.application,
        tenant=spec.network.tenant,
        device_type=device.type,
        tags=tags,
        location=(position.lat, position.lon, position.alt) if position is not None else None,
        version_ids=repository_ids(device_type=device.type),
    )


class _DeviceRun:
    """One device's state during a run."""

    __slots__ = (
        "adapter",
        "battery",
        "behaviour",
        "codec",
        "confirmed",
        "decoded",
        "envelope",
        "faults",
        "fcnt",
        "fcnt_mask",
        "frng",
        "identity",
        "interval",
        "jitter",
        "links",
        "min_gap",
        "rng",
        "shadowing",
        "silent_from",
        "silent_until",
        "spec",
        "spreading_factor",
        "tally",
    )

    def __init__(self, *, spec: Device, ctx: _Context) -> None:
        self.spec = spec
        self.rng = rng = random.Random(device_seed(seed=ctx.seed, device_id=spec.id))
        self.behaviour = _behaviour(spec, ctx, rng)
        self.battery = Battery(rng=rng, start=ctx.start)
        self.identity = _identity(spec, ctx)
        fmt = ctx.format or spec.format or ctx.scenario.spec.network.format
        self.envelope: Envelope = make_envelope(
            format=fmt, identity=self.identity, gateways=ctx.gateways
        )
        self.codec = ctx.codecs[spec.type]
        self.adapter: Adapter = DEVICE_TYPES[spec.type].adapter
        self.confirmed = spec.confirmed
        self.decoded = spec.network_decoded
        self.interval = spec.interval
        self.jitter = spec.jitter if spec.jitter is not None else 0.05 * spec.interval
        self.min_gap = _MIN_GAP
        self.shadowing = ctx.radio.draw_shadowing(rng=rng)
        self.links: list[Link] | None = None
        self.spreading_factor = 12
        if spec.position is not None:
            self.links, self.spreading_factor = self._links(
                ctx.radio, spec.position.lat, spec.position.lon
            )
        self.tally = DeviceTally()
        faults = ctx.faults or spec.faults or ctx.scenario.spec.faults
        self.faults: Faults | None = faults if faults.any() else None
        self.frng: random.Random | None = None
        self.fcnt = 0
        self.fcnt_mask = 0xFFFF_FFFF
        self.silent_from = self.silent_until = float("inf")
        if self.faults is not None:
            self.frng = frng = random.Random(derive_seed(ctx.seed, "faults", spec.id))
            if self.faults.fcnt_wrap:
                self.fcnt_mask = 0xFFFF
                self.fcnt = 0x10000 - frng.randint(5, 200)
            if frng.random() < self.faults.silent_fraction:
                self.silent_from = ctx.start + self.faults.silent_after * frng.uniform(0.8, 1.2)
                duration = self.faults.silent_for
                self.silent_until = self.silent_from + duration if duration else float("inf")

    def _links(self, radio: RadioModel, lat: float, lon: float) -> tuple[list[Link], int]:
        mean = radio.links(lat=lat, lon=lon, shadowing=self.shadowing)
        sf = radio.spreading_factor(best_snr=max(mean)) or 12
        return radio.audible(mean_snr=mean, spreading_factor=sf), sf

    def first_time(self, start: float) -> float | None:
        nominal = start + self.rng.uniform(0.0, self.interval)
        return self.behaviour.next_time(after=start, nominal=nominal)

    def next_time(self, after: float) -> float | None:
        jitter = self.jitter
        nominal = after + self.interval + (self.rng.uniform(-jitter, jitter) if jitter else 0.0)
        found = self.behaviour.next_time(after=after, nominal=max(nominal, after + _MIN_GAP))
        if found is None:
            return None
        return max(found, after + self.min_gap)


class Simulation:
    """A scenario run in scenario time from ``start``; :meth:`messages` yields its traffic.

    ``speed`` is scenario seconds per stamped second (1 for real time and backfill).
    ``format`` and ``faults`` override what the scenario sets for every device;
    ``topic_prefix`` goes in front of every topic (as a bridge into a local broker adds one).
    ``shard=(i, n)`` keeps every n-th device starting with the i-th, so n processes can share
    a scenario's load; a device's values do not depend on the sharding.
    ``tallies`` counts, per device ID, what happened to uplinks that yield no message.
    """

    def __init__(
        self,
        *,
        scenario: Scenario,
        start: datetime,
        seed: int = 0,
        speed: float = 1.0,
        format: NetworkFormat | None = None,
        faults: Faults | None = None,
        codecs: Mapping[str, Codec] | None = None,
        topic_prefix: str = "",
        shard: tuple[int, int] = (0, 1),
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        if "+" in topic_prefix or "#" in topic_prefix:
            raise ValueError("a topic prefix cannot contain MQTT wildcards")
        if topic_prefix and not topic_prefix.endswith("/"):
            topic_prefix += "/"
        self.topic_prefix = topic_prefix
        spec = scenario.spec
        self.scenario = scenario
        self.seed = seed
        self.speed = speed
        self.start_ns = to_ns(moment=start)
        start_s = self.start_ns / NS
        clock = LocalClock(timezone=spec.timezone)
        gateway_sites = []
        gateway_infos = []
        gateway_euis = {g.eui for g in scenario.gateways if g.eui is not None}
        for index, gateway in enumerate(scenario.gateways):
            key = derive_seed("gateway", spec.name, gateway.id)
            eui = gateway.eui
            attempt = 0
            while eui is None or (gateway.eui is None and eui in gateway_euis):
                # B827EB FFFE: the EUI-64 form of a Raspberry Pi MAC, as many gateways have.
                low = derive_seed("gateway-eui", spec.name, gateway.id, attempt) & 0xFF_FFFF
                eui = f"b827ebfffe{low:06x}"
                attempt += 1
            gateway_euis.add(eui)
            position = gateway.position
            gateway_sites.append(
                GatewaySite(index, position.lat, position.lon, gateway.antenna_gain_dbi)
            )
            gateway_infos.append(
                GatewayInfo(
                    id=gateway.id,
                    eui=eui,
                    lat=position.lat,
                    lon=position.lon,
                    alt=position.alt,
                    has_gps=bool(key >> 40 & 1),
                    counter_offset=key >> 8 & 0xFFFF_FFFF,
                )
            )
        self._ctx = _Context(
            scenario=scenario,
            seed=seed,
            start=start_s,
            clock=clock,
            weather=Weather(seed=derive_seed(seed, "weather"), clock=clock),
            radio=RadioModel(settings=spec.radio, gateways=gateway_sites),
            gateways=tuple(gateway_infos),
            codecs=codecs if codecs is not None else available_codecs(),
            format=format,
            faults=faults,
        )
        index, shards = shard
        if not 0 <= index < shards:
            raise ValueError("shard must be (index, count) with 0 <= index < count")
        self._devices = [
            _DeviceRun(spec=device, ctx=self._ctx)
            for number, device in enumerate(scenario.devices)
            if number % shards == index
        ]
        self._topics = [topic_prefix + device.envelope.topic for device in self._devices]
        self.tallies: dict[str, DeviceTally] = {d.spec.id: d.tally for d in self._devices}
        self._ids_rng = random.Random(derive_seed(seed, "envelope-ids", index, shards))
        self._times = TimeFormatter()
        self._started = False

    def devices(self) -> dict[str, str]:
        """Return each device's DevEUI (16 lower-case hex digits) by device ID."""
        return {d.spec.id: d.identity.dev_eui for d in self._devices}

    def device_types(self) -> dict[str, str]:
        """Return each device's type (its codec's name) by device ID."""
        return {d.spec.id: d.spec.type for d in self._devices}

    def intervals(self) -> dict[str, float]:
        """Return every device's nominal send interval in seconds, by DevEUI."""
        return {d.identity.dev_eui: d.interval for d in self._devices}

    def identities(self) -> list[DeviceIdentity]:
        """Return every device's identity (DevEUI, type, tags such as ``site``), in order."""
        return [d.identity for d in self._devices]

    def messages(self, *, end: datetime | None = None) -> Iterator[SimMessage]:
        """Yield messages in delivery order until ``end`` (stamped time; None: forever).

        Messages held back by the late-delivery fault are released when their time comes;
        those still held at ``end`` are yielded last, so every frame that was not lost is
        delivered exactly as the counts say. A simulation runs once: devices keep their state.
        """
        if self._started:
            raise RuntimeError("a Simulation yields its messages once; make a new one")
        self._started = True
        return self._messages(end=end)

    def _messages(self, *, end: datetime | None) -> Iterator[SimMessage]:
        start_ns = self.start_ns
        end_ns = to_ns(moment=end) if end is not None else None
        start_s = start_ns / NS
        scale = NS / self.speed
        heap: list[tuple[float, int]] = []
        for index, device in enumerate(self._devices):
            first = device.first_time(start_s)
            if first is not None:
                heap.append((first, index))
        heapq.heapify(heap)
        held: list[tuple[int, int, SimMessage]] = []
        sequence = 0
        out: list[SimMessage] = []
        devices = self._devices
        while heap:
            tau, index = heap[0]
            stamp = start_ns + int((tau - start_s) * scale)
            if end_ns is not None and stamp >= end_ns:
                break
            while held and held[0][0] <= stamp:
                yield heapq.heappop(held)[2]
            device = devices[index]
            self._emit(device, self._topics[index], tau, stamp, out)
            for message in out:
                if message.deliver_ns > stamp:
                    sequence += 1
                    heapq.heappush(held, (message.deliver_ns, sequence, message))
                else:
                    yield message
            out.clear()
            following = device.next_time(tau)
            if following is None:
                heapq.heappop(heap)
            else:
                heapq.heapreplace(heap, (following, index))
        while held:
            yield heapq.heappop(held)[2]

    def _emit(
        self, device: _DeviceRun, topic: str, tau: float, stamp: int, out: list[SimMessage]
    ) -> None:
        tally = device.tally
        if device.silent_from <= tau < device.silent_until:
            tally.silenced += 1
            return
        rng = device.rng
        faults, frng = device.faults, device.frng
        draws: tuple[float, ...] = ()
        if faults is not None and frng is not None:
            r = frng.random
            # A fixed number of draws per uplink keeps each fault's rate independent of the
            # others being switched on.
            draws = (r(), r(), r(), r(), r(), r())
            if draws[0] < faults.fcnt_reset:
                device.fcnt = 0
                tally.fcnt_resets += 1

        sample: Sample = device.behaviour.sample(at=tau)
        volts = device.battery.volts(tau)
        sample["battery_voltage"] = volts
        sample["battery"] = Battery.percent(volts)
        f_cnt = device.fcnt
        encoded = device.codec.encode(values=device.adapter(sample, f_cnt))
        payload = encoded.payload

        radio = self._ctx.radio
        links, sf = device.links, device.spreading_factor
        if links is None:
            links, sf = device._links(radio, sample["latitude"], sample["longitude"])
        hearings = radio.hear(links=links, spreading_factor=sf, rng=rng)
        airtime = airtime_s(payload_size=len(payload), spreading_factor=sf)
        device.min_gap = max(_MIN_GAP, radio.min_interval(airtime=airtime))
        channel = rng.randrange(len(EU868_CHANNELS))
        # Drawn before any fault can end this uplink, so faults never shift later values.
        ns_time = stamp + rng.randrange(15_000_000, 60_000_000)
        as_time = ns_time + rng.randrange(2_000_000, 40_000_000)

        device.fcnt = (f_cnt + 1) & device.fcnt_mask
        if device.fcnt == 0:
            tally.fcnt_wraps += 1
        kind = MessageKind.UPLINK
        if draws and faults is not None and frng is not None:
            if draws[1] < faults.loss:
                tally.lost += 1
                return
            if draws[2] < faults.corrupt:
                payload = _corrupt(device.codec, payload, encoded.f_port, frng)
                kind = MessageKind.CORRUPT

        decoded: dict[str, Any] | None = None
        if device.decoded and kind is MessageKind.UPLINK:
            decoded = device.codec.decode(payload=payload, f_port=encoded.f_port).fields
        frame = Frame(
            f_cnt=f_cnt,
            f_port=encoded.f_port,
            payload=payload,
            confirmed=device.confirmed,
            spreading_factor=sf,
            frequency=EU868_CHANNELS[channel],
            channel=channel,
            airtime=airtime,
            sent_ns=stamp,
            ns_ns=ns_time,
            as_ns=as_time,
            hearings=hearings,
            decoded=decoded,
        )
        body = device.envelope.build(frame=frame, rng=self._ids_rng, times=self._times)
        deliver = stamp
        late = False
        if draws and faults is not None and frng is not None:
            if draws[3] < faults.malformed:
                # Any proper prefix of a JSON object is invalid JSON: the object never closes.
                body = body[: frng.randrange(1, len(body) - 1)]
                kind = MessageKind.MALFORMED
            if draws[4] < faults.late:
                deliver = stamp + int(faults.late_delay * frng.uniform(0.5, 1.5) * NS)
                late = True
        message = SimMessage(
            topic=topic,
            payload=body,
            kind=kind,
            device_id=device.spec.id,
            device_type=device.spec.type,
            dev_eui=device.identity.dev_eui,
            format=device.envelope.format,
            f_cnt=f_cnt,
            f_port=encoded.f_port,
            frame=payload,
            time_ns=ns_time,
            deliver_ns=deliver,
            late=late,
            values=sample,
        )
        out.append(message)
        if (
            draws
            and faults is not None
            and frng is not None
            and draws[5] < faults.duplicate
            and kind is MessageKind.UPLINK
        ):
            # Only valid uplinks are re-delivered, so stored rows equal distinct uplinks and
            # dead letters equal corrupt plus malformed messages, with no copies to discount.
            again = deliver + int(frng.uniform(0.2, 5.0) * NS)
            out.append(
                SimMessage(
                    topic=message.topic,
                    payload=body,
                    kind=MessageKind.DUPLICATE,
                    device_id=message.device_id,
                    device_type=message.device_type,
                    dev_eui=message.dev_eui,
                    format=message.format,
                    f_cnt=f_cnt,
                    f_port=message.f_port,
                    frame=payload,
                    time_ns=message.time_ns,
                    deliver_ns=again,
                    late=late,
                    values=sample,
                )
            )


def _corrupt(codec: Codec, payload: bytes, f_port: int, rng: random.Random) -> bytes:
    """Return a damaged payload the codec rejects (truncated, padded or overwritten)."""
    candidates = []
    if len(payload) > 1:
        candidates.append(payload[: rng.randrange(1, len(payload))])
    candidates += [
        payload + bytes([rng.randrange(256)]),
        payload + rng.randbytes(3),
        bytes([0xFF]) + payload[1:],
        rng.randbytes(len(payload) + 1),
    ]
    for candidate in candidates:
        try:
            codec.decode(payload=candidate, f_port=f_port)
        except CodecError:
            return candidate
    return candidates[0]


def generate_messages(
    *,
    scenario: Scenario,
    start: datetime,
    end: datetime | None,
    seed: int = 0,
    speed: float = 1.0,
    format: NetworkFormat | None = None,
    faults: Faults | None = None,
    topic_prefix: str = "",
    shard: tuple[int, int] = (0, 1),
) -> Iterator[SimMessage]:
    """Yield the scenario's messages stamped from ``start`` up to ``end``, without any I/O.

    The same arguments always yield the same bytes. See :class:`Simulation` for counts of
    lost and silenced uplinks, which yield no message.
    """
    simulation = Simulation(
        scenario=scenario,
        start=start,
        seed=seed,
        speed=speed,
        format=format,
        faults=faults,
        topic_prefix=topic_prefix,
        shard=shard,
    )
    return simulation.messages(end=end)
