"""Read, validate and expand scenario files; every problem names its line.

``load_scenario`` accepts a built-in scenario name (``meetup``) or a path. Validation runs in
two passes: the pydantic schema (types, ranges, unknown keys), then cross-checks the schema
cannot express (references, positions inside the area, radio coverage, bus timetables).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from simulators import geo
from simulators.behaviours.bus import LineModel
from simulators.device_types import BUS_PASSENGERS, BUS_POSITION, DEVICE_TYPES, available_codecs
from simulators.profiles import PROFILE_NAMES, LocalClock
from simulators.radio import GatewaySite, RadioModel
from simulators.scenario import (
    Bus,
    Device,
    DeviceGroup,
    Environment,
    Gateway,
    GpsTracker,
    Paxcounter,
    PeopleCounter,
    Position,
    ScenarioSpec,
    SiteSpec,
    WaterLevel,
)
from simulators.seeds import derive_rng, derive_seed
from simulators.yaml_source import YamlDocument, YamlSyntaxError, dotted, read_yaml

_BLIND_ZONE_M = 0.3
_STATIC_MODELS = ("people-counter", "paxcounter", "environment", "parking", "water-level")
_EDGE_MARGIN_M = 10.0  # GPS noise must not carry a position out of the area


@dataclass(slots=True, frozen=True)
class ScenarioProblem:
    """One thing wrong with a scenario file."""

    line: int
    path: str
    message: str

    def render(self, *, source: str) -> str:
        """Return ``source:line: path: message``."""
        where = f"{self.path}: " if self.path else ""
        return f"{source}:{self.line}: {where}{self.message}"


class ScenarioError(ValueError):
    """A scenario file is invalid; ``problems`` lists each problem with its line."""

    def __init__(self, *, source: str, problems: list[ScenarioProblem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__("\n".join(p.render(source=source) for p in problems))


@dataclass(slots=True, frozen=True)
class Scenario:
    """A validated scenario with groups expanded into devices and grids into gateways."""

    spec: ScenarioSpec
    source: str
    gateways: tuple[Gateway, ...]
    devices: tuple[Device, ...]

    @property
    def name(self) -> str:
        """Return the scenario's name."""
        return self.spec.name


@dataclass(slots=True, frozen=True)
class BuiltinScenario:
    """A scenario shipped with loracity."""

    name: str
    description: str
    path: Path


def builtin_scenarios() -> list[BuiltinScenario]:
    """Return the built-in scenarios, sorted by name."""
    found = []
    folder = resources.files("simulators") / "scenarios"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".yaml"):
            continue
        text = entry.read_text(encoding="utf-8")
        document = read_yaml(text=text)
        data = document.data if isinstance(document.data, dict) else {}
        found.append(
            BuiltinScenario(
                name=entry.name.removesuffix(".yaml"),
                description=str(data.get("description", "")).strip(),
                path=Path(str(entry)),
            )
        )
    return found


def load_scenario(*, source: str | Path) -> Scenario:
    """Load a built-in scenario by name, or a scenario file by path.

    Raises :class:`ScenarioError` (with line numbers) for an invalid file and
    ``FileNotFoundError`` when ``source`` is neither a built-in name nor a file.
    """
    text_source = str(source)
    path = Path(text_source)
    if not path.suffix and "/" not in text_source:
        for builtin in builtin_scenarios():
            if builtin.name == text_source:
                path = builtin.path
                break
    if not path.is_file():
        names = ", ".join(b.name for b in builtin_scenarios())
        raise FileNotFoundError(
            f"no scenario file {text_source!r} and no built-in scenario of that name "
            f"(built-in: {names})"
        )
    return parse_scenario(text=path.read_text(encoding="utf-8"), source=path.name)


def parse_scenario(*, text: str, source: str = "<scenario>") -> Scenario:
    """Validate scenario YAML text and return the expanded scenario."""
    try:
        document = read_yaml(text=text)
    except YamlSyntaxError as exc:
        raise ScenarioError(
            source=source, problems=[ScenarioProblem(exc.line, "", exc.problem)]
        ) from None
    if not isinstance(document.data, dict):
        problem = ScenarioProblem(1, "", "a scenario file must be a mapping (name:, area:, ...)")
        raise ScenarioError(source=source, problems=[problem])
    try:
        spec = ScenarioSpec.model_validate(document.data)
    except ValidationError as exc:
        raise ScenarioError(source=source, problems=_schema_problems(exc, document)) from None
    checker = _Checker(spec=spec, document=document)
    scenario = checker.run(source=source)
    if checker.problems:
        raise ScenarioError(source=source, problems=checker.problems)
    return scenario


def _schema_problems(exc: ValidationError, document: YamlDocument) -> list[ScenarioProblem]:
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        message = error["msg"]
        if error["type"] == "extra_forbidden":
            message = f"unknown setting {loc[-1]!r}"
        elif error["type"] == "missing":
            message = f"missing required setting {loc[-1]!r}"
        elif message.startswith("Value error, "):
            message = message.removeprefix("Value error, ")
        if error["type"] == "union_tag_invalid":
            message = message.replace("Input tag", "behaviour model").replace(
                "found using 'model'", ""
            )
        path = dotted(path=loc, known=document.lines)
        if error["type"] in ("missing", "extra_forbidden"):
            path = dotted(path=loc[:-1], known=document.lines)
        line = document.line_of(path=loc)
        problems.append(ScenarioProblem(line, path, message))
    return problems


class _Checker:
    """Cross-checks and expansion; collects every problem instead of stopping at the first."""

    def __init__(self, *, spec: ScenarioSpec, document: YamlDocument) -> None:
        self.spec = spec
        self.document = document
        self.problems: list[ScenarioProblem] = []
        self.clock: LocalClock | None = None

    def problem(self, path: tuple[str | int, ...], message: str) -> None:
        self.problems.append(
            ScenarioProblem(
                self.document.line_of(path=path),
                dotted(path=path, known=self.document.lines),
                message,
            )
        )

    def run(self, *, source: str) -> Scenario:
        spec = self.spec
        try:
            ZoneInfo(spec.timezone)
            self.clock = LocalClock(timezone=spec.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.problem(("timezone",), f"unknown time zone {spec.timezone!r}")
        gateways = self._gateways()
        self._sites()
        lines = self._lines()
        devices = list(self._devices())
        self._unique(devices)
        codecs = available_codecs()
        radio = RadioModel(
            settings=spec.radio,
            gateways=[
                GatewaySite(i, g.position.lat, g.position.lon, g.antenna_gain_dbi)
                for i, g in enumerate(gateways)
            ],
        )
        for device, path in devices:
            self._device(device, path, codecs, radio, lines)
        return Scenario(
            spec=spec,
            source=source,
            gateways=tuple(gateways),
            devices=tuple(d for d, _ in devices),
        )

    def _inside(self, position: Position, path: tuple[str | int, ...], what: str) -> None:
        area = self.spec.area
        distance = geo.distance_m(
            lat1=area.center.lat, lon1=area.center.lon, lat2=position.lat, lon2=position.lon
        )
        if distance > area.radius_m - _EDGE_MARGIN_M:
            self.problem(
                path,
                f"{what} is {distance:.0f} m from the area's centre, outside its "
                f"{area.radius_m:.0f} m radius",
            )

    def _gateways(self) -> list[Gateway]:
        spec = self.spec
        gateways = list(spec.gateways)
        for index, gateway in enumerate(spec.gateways):
            self._inside(gateway.position, ("gateways", index, "position"), "the gateway")
        grid = spec.gateway_grid
        if grid is not None:
            area = spec.area
            steps = int(area.radius_m // grid.spacing_m)
            for row in range(-steps, steps + 1):
                for col in range(-steps, steps + 1):
                    east, north = col * grid.spacing_m, row * grid.spacing_m
                    if math.hypot(east, north) > area.radius_m - _EDGE_MARGIN_M:
                        continue
                    lat, lon = geo.offset(
                        lat=area.center.lat, lon=area.center.lon, east_m=east, north_m=north
                    )
                    gateways.append(
                        Gateway(
                            id=f"{grid.prefix}-r{row + steps:02d}-c{col + steps:02d}",
                            position=Position(lat=lat, lon=lon, alt=grid.altitude),
                        )
                    )
        seen: set[str] = set()
        for index, gateway in enumerate(gateways):
            if gateway.id in seen:
                self.problem(("gateways", index, "id"), f"gateway id {gateway.id!r} is used twice")
            seen.add(gateway.id)
        return gateways

    def _profile(self, name: str, path: tuple[str | int, ...]) -> None:
        if name not in PROFILE_NAMES:
            self.problem(path, f"unknown profile {name!r}; known: {', '.join(PROFILE_NAMES)}")

    def _sites(self) -> None:
        seen: set[str] = set()
        for index, site in enumerate(self.spec.sites):
            if site.id in seen:
                self.problem(("sites", index, "id"), f"site id {site.id!r} is used twice")
            seen.add(site.id)
            self._profile(site.profile, ("sites", index, "profile"))

    def _lines(self) -> dict[str, LineModel]:
        models: dict[str, LineModel] = {}
        for index, line in enumerate(self.spec.lines):
            path: tuple[str | int, ...] = ("lines", index)
            if line.id in models:
                self.problem((*path, "id"), f"line id {line.id!r} is used twice")
            self._profile(line.profile, (*path, "profile"))
            for stop_index, stop in enumerate(line.stops):
                self._inside(stop.position, (*path, "stops", stop_index, "position"), "the stop")
            if line.last_departure < line.first_departure:
                self.problem((*path, "last_departure"), "the last departure is before the first")
            if self.clock is None:
                continue
            model = LineModel(spec=line, clock=self.clock)
            needed = model.vehicles_needed()
            if line.vehicles < needed:
                self.problem(
                    (*path, "vehicles"),
                    f"a round trip takes {model.round_trip / 60:.0f} min, so a "
                    f"{line.headway / 60:g} min headway needs at least {needed} vehicles, "
                    f"not {line.vehicles}",
                )
            models[line.id] = model
        return models

    def _devices(self) -> Iterator[tuple[Device, tuple[str | int, ...]]]:
        spec = self.spec
        for index, device in enumerate(spec.devices):
            yield device, ("devices", index)
        for index, group in enumerate(spec.groups):
            yield from self._expand(group, ("groups", index))

    def _expand(
        self, group: DeviceGroup, path: tuple[str | int, ...]
    ) -> Iterator[tuple[Device, tuple[str | int, ...]]]:
        spec = self.spec
        rng = derive_rng(spec.layout_seed, spec.name, group.prefix)
        center = group.placement.center or spec.area.center
        radius = group.placement.radius_m or (spec.area.radius_m - _EDGE_MARGIN_M * 2)
        common = group.model_dump(
            exclude={"prefix", "count", "placement", "capacity_spread", "behaviour"}
        )
        moving = group.behaviour.model in ("gps-tracker", "bus")
        for number in range(1, group.count + 1):
            position = None
            if not moving:
                # Uniform over the disc: the radius goes with the square root of a uniform.
                distance = radius * math.sqrt(rng.random())
                angle = rng.uniform(0.0, 2.0 * math.pi)
                lat, lon = geo.offset(
                    lat=center.lat,
                    lon=center.lon,
                    east_m=distance * math.cos(angle),
                    north_m=distance * math.sin(angle),
                )
                position = Position(lat=round(lat, 6), lon=round(lon, 6), alt=center.alt)
            behaviour = _vary(group, number - 1, rng)
            yield (
                Device.model_validate(
                    {
                        **common,
                        "id": f"{group.prefix}-{number:04d}",
                        "position": position,
                        "behaviour": behaviour,
                    }
                ),
                path,
            )

    def _unique(self, devices: list[tuple[Device, tuple[str | int, ...]]]) -> None:
        ids: set[str] = set()
        euis: set[str] = set()
        for device, path in devices:
            if device.id in ids:
                self.problem((*path, "id"), f"device id {device.id!r} is used twice")
            ids.add(device.id)
            if device.dev_eui is not None:
                if device.dev_eui in euis:
                    self.problem((*path, "dev_eui"), f"DevEUI {device.dev_eui} is used twice")
                euis.add(device.dev_eui)

    def _device(
        self,
        device: Device,
        path: tuple[str | int, ...],
        codecs: Mapping[str, object],
        radio: RadioModel,
        lines: dict[str, LineModel],
    ) -> None:
        behaviour = device.behaviour
        model = behaviour.model
        key: str = model
        if isinstance(behaviour, Bus):
            key = BUS_PASSENGERS if behaviour.report == "passengers" else BUS_POSITION
        device_type = DEVICE_TYPES.get(device.type)
        if device_type is None or device.type not in codecs:
            known = sorted(t for t in DEVICE_TYPES if t in codecs)
            self.problem(
                (*path, "type"),
                f"device type {device.type!r} has no codec the simulator can drive; "
                f"known: {', '.join(known)}",
            )
        elif key not in device_type.models:
            self.problem(
                (*path, "type"),
                f"a {device.type} cannot report the {key} behaviour; "
                f"it carries {', '.join(sorted(device_type.models))}",
            )
        if model in _STATIC_MODELS:
            if device.position is None:
                self.problem(path, f"a {model} device needs a position")
            else:
                self._inside(device.position, (*path, "position"), "the device")
        if isinstance(behaviour, PeopleCounter | Paxcounter | Environment):
            site = behaviour.site
            if isinstance(site, str):
                if site not in {s.id for s in self.spec.sites}:
                    self.problem((*path, "behaviour", "site"), f"no site {site!r} under sites")
            elif isinstance(site, SiteSpec):
                self._profile(site.profile, (*path, "behaviour", "site", "profile"))
        if behaviour.model == "parking":
            self._profile(behaviour.profile, (*path, "behaviour", "profile"))
        if isinstance(behaviour, WaterLevel):
            room = behaviour.mount_height - behaviour.base_level - behaviour.max_rise
            if room < _BLIND_ZONE_M:
                self.problem(
                    (*path, "behaviour", "mount_height"),
                    "the sensor must hang at least 0.3 m above the highest water "
                    f"(base_level + max_rise = {behaviour.base_level + behaviour.max_rise:g} m)",
                )
            if behaviour.mount_height > 7.5 and device.type == "dragino-ldds75":
                self.problem(
                    (*path, "behaviour", "mount_height"), "an LDDS75 measures at most 7.5 m"
                )
        points: list[Position] = []
        if isinstance(behaviour, GpsTracker):
            for index, point in enumerate(behaviour.route):
                self._inside(point, (*path, "behaviour", "route", index), "the route point")
            points = list(behaviour.route)
        elif isinstance(behaviour, Bus):
            line = lines.get(behaviour.line)
            if behaviour.line not in {spec.id for spec in self.spec.lines}:
                self.problem(
                    (*path, "behaviour", "line"), f"no line {behaviour.line!r} under lines"
                )
            elif line is not None:
                if behaviour.vehicle is None:
                    self.problem((*path, "behaviour", "vehicle"), "which vehicle of the line?")
                elif behaviour.vehicle >= line.spec.vehicles:
                    self.problem(
                        (*path, "behaviour", "vehicle"),
                        f"line {line.spec.id} has vehicles 0..{line.spec.vehicles - 1}",
                    )
                points = [stop.position for stop in line.spec.stops]
        elif device.position is not None:
            points = [device.position]
        for point in points:
            if not self._covered(point, radio):
                self.problem(
                    (*path, "position") if device.position is not None else path,
                    f"no gateway can hear {device.id} at {point.lat:.5f},{point.lon:.5f}, "
                    "even at SF12; add a gateway nearer to it",
                )
                break

    @staticmethod
    def _covered(point: Position, radio: RadioModel) -> bool:
        snrs = radio.links(lat=point.lat, lon=point.lon, shadowing=[0.0] * radio.gateway_count)
        return bool(snrs) and radio.spreading_factor(best_snr=max(snrs)) is not None


def _vary(group: DeviceGroup, index: int, rng: random.Random) -> dict[str, object]:
    """Return the behaviour settings of one group member (bus vehicle index, site size)."""
    behaviour = group.behaviour.model_dump()
    if isinstance(group.behaviour, Bus) and group.behaviour.vehicle is None:
        behaviour["vehicle"] = index
    site = behaviour.get("site")
    if isinstance(site, dict) and group.capacity_spread:
        spread = group.capacity_spread
        site["capacity"] = round(site["capacity"] * rng.uniform(1.0 - spread, 1.0 + spread), 1)
    return behaviour


def device_seed(*, seed: int, device_id: str) -> int:
    """Return the seed of a device's own random generator for a run seed."""
    return derive_seed(seed, "device", device_id)
