"""The scenario file schema: gateways, sites, lines, devices (or procedural groups), faults.

A scenario file, in brief (the built-ins in ``simulators/scenarios/`` show every part)::

    name: my-square                 # 3-36 lower-case letters, digits, dashes
    timezone: Europe/Berlin         # daily curves follow local time
    area: {center: {lat: 52.52, lon: 13.40}, radius_m: 1500}   # everything must lie inside
    network: {format: ttn-v3, tenant: loracity, application: my-square}   # or chirpstack-v4
    radio: {path_loss_exponent: 2.32}          # optional; see Radio
    faults: {loss: 0.01, duplicate: 0.01}      # optional; see Faults (per device too)
    gateways: [{id: town-hall, position: {lat: 52.52, lon: 13.40, alt: 30}}]
    gateway_grid: {spacing_m: 2500}            # or gateways generated over the area
    sites:                                     # crowds that counters and CO2 sensors share
      - {id: square, profile: square, capacity: 300, dwell: 20m,
         events: [{start: "20:00", duration: 2h, attendance: 5000, days: [fri, sat]}]}
    lines: [...]                               # bus lines: stops, vehicles, headway
    devices:
      - id: north-gate
        type: milesight-vs133                  # a codec's device type
        position: {lat: 52.5203, lon: 13.4049}
        behaviour: {model: people-counter, site: square, share: 0.5}
        interval: 5m                           # plus jitter (default 5 %), within duty cycle
    groups:                                    # many alike devices: prefix-0001, ...
      - {prefix: lot, count: 500, type: nwave-parking, behaviour: {model: parking}}

Behaviour models: ``people-counter``, ``paxcounter``, ``environment``, ``parking``,
``water-level``, ``gps-tracker``, ``bus``. Every model forbids unknown keys, so a typo
(``intervall``) is an error with its line instead of a silently ignored setting. Durations
are written ``90s``, ``5m``, ``2h30m`` or as seconds, and are seconds (``float``) after
validation; times of day are ``"HH:MM"``.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from simulators.durations import parse_clock, parse_duration

Duration = Annotated[float, BeforeValidator(lambda value: parse_duration(value=value))]
ClockTime = Annotated[float, BeforeValidator(lambda value: parse_clock(value=value))]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Identifier = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9](?:-?[a-z0-9]){2,35}$",
        description="3-36 lower-case letters, digits and single dashes (a TTN device ID)",
    ),
]


Prefix = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9](?:-?[a-z0-9]){1,29}$",
        description="2-30 characters; generated names add a dash and a number",
    ),
]


def _hex16(value: str) -> str:
    cleaned = value.replace(":", "").replace("-", "").lower()
    if len(cleaned) != 16 or any(c not in "0123456789abcdef" for c in cleaned):
        raise ValueError(f"{value!r} is not an EUI (16 hex digits)")
    return cleaned


Eui = Annotated[str, AfterValidator(_hex16)]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class NetworkFormat(enum.StrEnum):
    """The network server whose MQTT JSON a device's uplinks imitate."""

    TTN_V3 = "ttn-v3"
    CHIRPSTACK_V4 = "chirpstack-v4"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Position(_Model):
    """A WGS84 position; altitude in metres."""

    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    alt: float = 0.0


class Area(_Model):
    """The circle every device, gateway, route and stop must lie in."""

    center: Position
    radius_m: float = Field(gt=0.0, le=100_000.0)


class Network(_Model):
    """Defaults for how devices appear on the network server."""

    format: NetworkFormat = NetworkFormat.TTN_V3
    tenant: Identifier = "loracity"
    application: Identifier = "loracity-sim"


class Radio(_Model):
    """The radio model; defaults follow urban 868 MHz measurements (Petäjäjärvi et al. 2015)."""

    tx_power_dbm: float = Field(default=14.0, ge=-10.0, le=27.0)
    reference_loss_db: float = Field(default=128.95, gt=0.0)
    reference_distance_m: float = Field(default=1000.0, gt=0.0)
    path_loss_exponent: float = Field(default=2.32, ge=1.5, le=6.0)
    shadowing_db: float = Field(default=4.0, ge=0.0, le=20.0)
    fading_db: float = Field(default=2.0, ge=0.0, le=10.0)
    noise_figure_db: float = Field(default=6.0, ge=0.0, le=20.0)
    adr_margin_db: float = Field(default=10.0, ge=0.0, le=30.0)
    duty_cycle: float = Field(default=0.01, gt=0.0, le=1.0)


class Faults(_Model):
    """Faults on demand; probabilities are per uplink unless said otherwise."""

    loss: Probability = 0.0
    duplicate: Probability = 0.0
    corrupt: Probability = 0.0
    malformed: Probability = 0.0
    late: Probability = 0.0
    late_delay: Duration = 120.0
    fcnt_reset: Probability = 0.0
    fcnt_wrap: bool = Field(
        default=False, description="16-bit frame counters starting just below 65536"
    )
    silent_fraction: Probability = Field(default=0.0, description="share of devices going silent")
    silent_after: Duration = 3600.0
    silent_for: Duration | None = Field(default=None, description="omitted: silent for good")

    def any(self) -> bool:
        """Return whether any fault is switched on."""
        return bool(
            self.loss
            or self.duplicate
            or self.corrupt
            or self.malformed
            or self.late
            or self.fcnt_reset
            or self.fcnt_wrap
            or self.silent_fraction
        )


class Gateway(_Model):
    """A gateway at a fixed position."""

    id: Identifier
    eui: Eui | None = None
    position: Position
    antenna_gain_dbi: float = Field(default=3.0, ge=-5.0, le=15.0)


class GatewayGrid(_Model):
    """Gateways placed on a square grid over the area (for procedural scenarios)."""

    spacing_m: float = Field(gt=100.0)
    prefix: Prefix = "gw"
    altitude: float = 30.0


class Event(_Model):
    """A crowd event at a site: arrivals before ``start``, departures after the end."""

    name: str = "event"
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] | None = None
    start: ClockTime
    duration: Duration
    attendance: int = Field(gt=0)
    arrival: Duration = Field(default=5400.0, gt=0.0, description="doors open before start")
    departure: Duration = Field(default=2400.0, gt=0.0, description="time to empty after")


class SiteSpec(_Model):
    """A place whose expected occupancy follows a daily profile plus events."""

    profile: str = "square"
    capacity: float = Field(default=100.0, ge=0.0)
    dwell: Duration = Field(default=1800.0, gt=0.0, description="mean stay of a visitor")
    events: list[Event] = Field(default_factory=list)


class Site(SiteSpec):
    """A named site that devices refer to by ``id``."""

    id: Identifier
    name: str | None = Field(default=None, description="display name (English)")
    name_de: str | None = Field(default=None, description="display name (German)")


SiteRef = str | SiteSpec


class PeopleCounter(_Model):
    """Entrance/line counters: people in and out per interval, occupancy never negative."""

    model: Literal["people-counter"]
    site: SiteRef = Field(default_factory=SiteSpec)
    share: float = Field(default=1.0, gt=0.0, le=1.0, description="share of the site's flow")


class Paxcounter(_Model):
    """Wi-Fi/BLE device counts around a site's crowd."""

    model: Literal["paxcounter"]
    site: SiteRef = Field(default_factory=SiteSpec)
    share: float = Field(default=1.0, gt=0.0, le=1.0)
    wifi_ratio: float = Field(default=0.8, ge=0.0, le=5.0)
    ble_ratio: float = Field(default=0.5, ge=0.0, le=5.0)
    background: float = Field(default=4.0, ge=0.0, description="devices always in range")


class Environment(_Model):
    """Temperature and humidity daily cycles; indoors CO2 follows a site's occupancy."""

    model: Literal["environment"]
    indoor: bool = False
    site: SiteRef | None = None
    mean_temperature: float | None = Field(default=None, ge=-30.0, le=40.0)
    daily_amplitude: float = Field(default=4.0, ge=0.0, le=15.0)
    co2_per_person: float = Field(default=6.0, ge=0.0, le=200.0)


class Parking(_Model):
    """A single parking space: occupied or free, changes reported when they happen."""

    model: Literal["parking"]
    profile: str = "parking"
    mean_stay: Duration = Field(default=3600.0, gt=60.0)


class WaterLevel(_Model):
    """An ultrasonic gauge above a stream: base level plus rain events that recede slowly."""

    model: Literal["water-level"]
    base_level: float = Field(default=0.6, ge=0.0, le=20.0, description="metres")
    mount_height: float = Field(default=3.0, gt=0.3, le=30.0, description="sensor above bed, m")
    rain_probability: float = Field(default=0.25, ge=0.0, le=1.0, description="per day")
    max_rise: float = Field(default=1.2, ge=0.0, le=20.0, description="metres")


class GpsTracker(_Model):
    """A tracker moving along a route at a steady speed."""

    model: Literal["gps-tracker"]
    route: list[Position] = Field(min_length=2)
    speed: float = Field(default=5.0, gt=0.0, le=70.0, description="metres per second")
    loop: bool = Field(default=False, description="true: back to the first point; false: reverse")
    pause: Duration = Field(default=300.0, description="stop at each end of the route")


class Bus(_Model):
    """A vehicle of a bus line: passenger counts at each stop, or its GPS position."""

    model: Literal["bus"]
    line: Identifier
    vehicle: int | None = Field(default=None, ge=0, description="omitted in a group: the index")
    report: Literal["passengers", "position"] = "passengers"


Behaviour = Annotated[
    PeopleCounter | Paxcounter | Environment | Parking | WaterLevel | GpsTracker | Bus,
    Field(discriminator="model"),
]


class Stop(_Model):
    """A bus stop; ``demand`` weighs its boardings against the other stops."""

    name: str
    position: Position
    demand: float = Field(default=1.0, ge=0.0)


class Line(_Model):
    """A bus line running out along its stops and back, on a fixed-headway timetable."""

    id: Identifier
    stops: list[Stop] = Field(min_length=2)
    vehicles: int = Field(gt=0, le=200)
    headway: Duration = Field(default=600.0, gt=0.0)
    first_departure: ClockTime = 5.5 * 3600
    last_departure: ClockTime = 23.0 * 3600
    speed: float = Field(default=7.0, gt=0.0, le=30.0, description="metres per second")
    dwell: Duration = Field(default=30.0, ge=0.0)
    layover: Duration = Field(default=300.0, ge=0.0)
    capacity: int = Field(default=80, gt=0)
    boardings_per_trip: float = Field(default=40.0, ge=0.0, description="at the busiest hour")
    profile: str = "transit"


class _DeviceCommon(_Model):
    type: str = Field(description="the codec's device type, e.g. milesight-vs133")
    behaviour: Behaviour
    interval: Duration = Field(default=300.0, gt=0.0)
    jitter: Duration | None = Field(default=None, description="default: 5 % of the interval")
    format: NetworkFormat | None = None
    application: Identifier | None = None
    site_name: str | None = Field(default=None, description="a label sent as a device tag")
    confirmed: bool = False
    network_decoded: bool = Field(default=False, description="send the decoded object too")
    faults: Faults | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class Device(_DeviceCommon):
    """One simulated device."""

    id: Identifier
    dev_eui: Eui | None = None
    position: Position | None = None


class Placement(_Model):
    """Where a group's devices go: uniformly at random in a circle (default: the area)."""

    center: Position | None = None
    radius_m: float | None = Field(default=None, gt=0.0)


class DeviceGroup(_DeviceCommon):
    """``count`` devices made alike, named ``{prefix}-0001`` onwards (procedural scenarios)."""

    prefix: Prefix
    count: int = Field(gt=0, le=100_000)
    placement: Placement = Field(default_factory=Placement)
    capacity_spread: float = Field(
        default=0.5, ge=0.0, lt=1.0, description="inline site capacities vary by this share"
    )


class ScenarioSpec(_Model):
    """A whole scenario file."""

    name: Identifier
    description: str = ""
    timezone: str = "Europe/Berlin"
    layout_seed: int = Field(default=1, description="fixes procedural positions across runs")
    area: Area
    network: Network = Field(default_factory=Network)
    radio: Radio = Field(default_factory=Radio)
    faults: Faults = Field(default_factory=Faults)
    gateways: list[Gateway] = Field(default_factory=list)
    gateway_grid: GatewayGrid | None = None
    sites: list[Site] = Field(default_factory=list)
    lines: list[Line] = Field(default_factory=list)
    devices: list[Device] = Field(default_factory=list)
    groups: list[DeviceGroup] = Field(default_factory=list)

    @model_validator(mode="after")
    def _something_to_simulate(self) -> ScenarioSpec:
        if not self.devices and not self.groups:
            raise ValueError("a scenario needs at least one entry under devices or groups")
        if not self.gateways and self.gateway_grid is None:
            raise ValueError("a scenario needs gateways or a gateway_grid")
        return self
