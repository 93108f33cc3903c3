"""Response models, named by role (``QuantityPublic``, ``DevicePublic``, ...).

Small and list responses use these; long series are serialised without per-row models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints


class QuantityPublic(BaseModel):
    """One entry of the quantity vocabulary."""

    name: str = Field(examples=["co2"])
    unit: str = Field(description="UCUM unit code", examples=["ppm"])
    description: str = Field(examples=["carbon dioxide concentration"])
    kind: str = Field(
        description="gauge (a reading), interval (a count per interval) or counter (a "
        "cumulative device total)",
        examples=["gauge"],
    )


# --- devices -------------------------------------------------------------------------------

_DEV_EUI_EXAMPLE = "70b3d57ed0001234"


class PositionPublic(BaseModel):
    """Where a device is (WGS 84), and whether an operator registered it."""

    latitude: float = Field(examples=[52.5163])
    longitude: float = Field(examples=[13.3777])
    altitude: float | None = Field(default=None, examples=[34.0])
    registered: bool = Field(
        description="true when set by an operator (API, CLI, scenario); a registered position "
        "is never overwritten by locations the network server reports",
        examples=[True],
    )


class DevicePublic(BaseModel):
    """A device as the API shows it."""

    dev_eui: str = Field(description="16 lower-case hex characters", examples=[_DEV_EUI_EXAMPLE])
    name: str | None = Field(examples=["co2-townhall-1"])
    device_type: str | None = Field(description="codec device type", examples=["elsys-ers-co2"])
    site: str | None = Field(examples=["market-square"])
    application: str | None = Field(examples=["city-sensors"])
    source: str | None = Field(description="network server: ttn or chirpstack", examples=["ttn"])
    position: PositionPublic | None
    tags: dict[str, Any] = Field(examples=[{"district": "mitte"}])
    expected_interval_s: int | None = Field(
        description="how often the device should send, in seconds", examples=[600]
    )
    mounting_height: float | None = Field(
        description="height of a distance sensor above the river bed, metres", examples=[None]
    )
    first_seen: datetime | None
    last_seen: datetime | None
    silent: bool = Field(
        description="not heard for more than 3 expected intervals (1 day without an expected "
        "interval), or never heard",
        examples=[False],
    )


class DeviceListPublic(BaseModel):
    """One page of devices in DevEUI order."""

    items: list[DevicePublic]
    next: str | None = Field(
        description="the URL of the next page, null on the last page",
        examples=["/v1/devices?site=market-square&cursor=70b3d57ed0001234"],
    )


class PositionIn(BaseModel):
    """A position to register."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    latitude: float = Field(ge=-90, le=90, examples=[52.5163])
    longitude: float = Field(ge=-180, le=180, examples=[13.3777])
    altitude: float | None = Field(default=None, ge=-500, le=10_000, examples=[34.0])


_NAME = Field(default=None, min_length=1, max_length=200, examples=["co2-townhall-1"])
_TYPE = Field(
    default=None,
    pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
    description="codec device type (`loracity codecs list`)",
    examples=["elsys-ers-co2"],
)
_SITE = Field(default=None, min_length=1, max_length=100, examples=["market-square"])
_INTERVAL = Field(default=None, ge=1, le=31 * 86_400, examples=[600])
_HEIGHT = Field(default=None, ge=-1_000, le=10_000, allow_inf_nan=False, examples=[3.2])
_TAGS_DESC = "string labels; filter with tag=key=value"


class DeviceWrite(BaseModel):
    """A device registration (PUT replaces every field; omitted fields become null)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "co2-townhall-1",
                    "device_type": "elsys-ers-co2",
                    "site": "market-square",
                    "position": {"latitude": 52.5163, "longitude": 13.3777},
                    "tags": {"district": "mitte"},
                    "expected_interval_s": 600,
                }
            ]
        },
    )

    name: str | None = _NAME
    device_type: str | None = _TYPE
    site: str | None = _SITE
    position: PositionIn | None = None
    tags: dict[str, Annotated[str, StringConstraints(max_length=200)]] = Field(
        default_factory=dict, max_length=50, description=_TAGS_DESC
    )
    expected_interval_s: int | None = _INTERVAL
    mounting_height: float | None = _HEIGHT


class DevicePatch(BaseModel):
    """Fields to change (PATCH); fields not sent keep their values, null clears one."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"site": "library", "expected_interval_s": 300}]},
    )

    name: str | None = _NAME
    device_type: str | None = _TYPE
    site: str | None = _SITE
    position: PositionIn | None = None
    tags: dict[str, Annotated[str, StringConstraints(max_length=200)]] | None = Field(
        default=None, max_length=50, description=_TAGS_DESC
    )
    expected_interval_s: int | None = _INTERVAL
    mounting_height: float | None = _HEIGHT


# --- series, latest, map -------------------------------------------------------------------


class PointPublic(BaseModel):
    """One raw point or one bucket (``time`` is the bucket's start)."""

    time: datetime = Field(description="UTC", examples=["2026-03-28T23:00:00Z"])
    time_local: datetime = Field(
        description="the same instant with the offset of the requested zone",
        examples=["2026-03-29T00:00:00+01:00"],
    )
    channel: int = Field(description="sensor channel (0 for single-sensor devices)")
    value: float | None = Field(description="null only when a stored value is not a number")


class SeriesPublic(BaseModel):
    """A page of a device's series."""

    dev_eui: str
    quantity: str
    unit: str = Field(description="UCUM unit code")
    tz: str
    bucket: str | None
    agg: str | None
    from_: datetime = Field(alias="from")
    to: datetime
    points: list[PointPublic]
    next: str | None = Field(description="the URL of the next page, null on the last page")


class LatestPublic(BaseModel):
    """The latest value of one quantity and channel of a device."""

    dev_eui: str
    name: str | None
    site: str | None
    quantity: str
    channel: int
    value: float | None
    unit: str
    time: datetime
    time_local: datetime
    age_s: float = Field(description="seconds between `time` and `generated_at`")
    stale: bool = Field(description="older than three expected send intervals (1 day without)")


class LatestListPublic(BaseModel):
    """Latest values, in DevEUI, quantity and channel order."""

    generated_at: datetime
    tz: str
    items: list[LatestPublic]


class MapValuePublic(BaseModel):
    """A latest value on the map."""

    quantity: str
    channel: int
    value: float | None
    unit: str
    time: datetime
    time_local: datetime
    age_s: float
    stale: bool


class MapPropertiesPublic(BaseModel):
    """What a map feature says about its device."""

    dev_eui: str
    name: str | None
    device_type: str | None
    site: str | None
    last_seen: datetime | None
    silent: bool
    values: list[MapValuePublic]


class PointGeometry(BaseModel):
    """A GeoJSON Point: ``[longitude, latitude]``."""

    type: Literal["Point"]
    coordinates: list[float] = Field(min_length=2, max_length=3)


class FeaturePublic(BaseModel):
    """A device on the map."""

    type: Literal["Feature"]
    id: str
    geometry: PointGeometry
    properties: MapPropertiesPublic


class FeatureCollectionPublic(BaseModel):
    """The map: a GeoJSON FeatureCollection (RFC 7946)."""

    type: Literal["FeatureCollection"]
    generated_at: datetime
    features: list[FeaturePublic]
