"""What loracity publishes: the datasets (quantity groups, people flow per site) and their
documented columns, shared by the CSV and Parquet writers, the manifest and the catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

Kind = Literal["measurements", "people_flow"]


@dataclass(slots=True, frozen=True)
class Column:
    """One column of a dump: its name, Parquet type and meaning."""

    name: str
    arrow: pa.DataType
    description: str


@dataclass(slots=True, frozen=True)
class Dataset:
    """One published dataset (a ``dcat:DatasetSeries`` with one ``dcat:Dataset`` per month)."""

    id: str
    kind: Kind
    title: str
    description: str
    quantities: tuple[str, ...]
    theme: str  # EU data theme code (http://publications.europa.eu/resource/authority/data-theme)
    keywords: tuple[str, ...]
    site: str | None = None


#: Quantity groups published as raw measurements. People counts are never among them: they
#: are published only per site, through the privacy rule.
GROUPS: tuple[Dataset, ...] = (
    Dataset(
        "air-quality",
        "measurements",
        "Air quality",
        "CO2, volatile organic compounds, particulate matter and noise measured by LoRaWAN "
        "sensors, every value as measured.",
        ("co2", "tvoc", "pm1_0", "pm2_5", "pm10", "noise"),
        "ENVI",
        ("air quality", "CO2", "particulate matter", "noise", "LoRaWAN"),
    ),
    Dataset(
        "climate",
        "measurements",
        "Climate",
        "Temperature, relative humidity, barometric pressure and illuminance measured by "
        "LoRaWAN sensors, every value as measured.",
        ("temperature", "relative_humidity", "pressure", "illuminance"),
        "ENVI",
        ("temperature", "humidity", "weather", "LoRaWAN"),
    ),
    Dataset(
        "water",
        "measurements",
        "Water",
        "Water levels of rivers and soil moisture measured by LoRaWAN sensors.",
        ("water_level", "soil_moisture"),
        "ENVI",
        ("water level", "soil moisture", "LoRaWAN"),
    ),
    Dataset(
        "parking",
        "measurements",
        "Parking",
        "Occupancy of single parking spaces (1 occupied, 0 free) from LoRaWAN sensors.",
        ("parking_occupied",),
        "TRAN",
        ("parking", "mobility", "LoRaWAN"),
    ),
)

#: People quantities published per site (cumulative device totals are not: they are
#: turned into interval counts at ingest).
FLOW_QUANTITIES: tuple[str, ...] = (
    "people_in",
    "people_out",
    "occupancy",
    "wifi_devices",
    "ble_devices",
    "passengers_boarding",
    "passengers_alighting",
)


def people_flow_dataset(*, site: str) -> Dataset:
    """The people-flow dataset of one site."""
    return Dataset(
        f"people-flow-{site}",
        "people_flow",
        f"People flow at {site}",
        f"People entering and leaving, present, and phones seen at the site {site!r}, summed "
        "over the site's counting devices in buckets of at least 15 minutes; cells with fewer "
        "people than the privacy threshold k are suppressed. No identifiers are ever stored.",
        FLOW_QUANTITIES,
        "SOCI",
        ("people counting", "pedestrian flow", "LoRaWAN"),
        site=site,
    )


MEASUREMENT_COLUMNS: tuple[Column, ...] = (
    Column("time_utc", pa.timestamp("us", tz="UTC"), "time of the measurement, UTC (ISO 8601)"),
    Column(
        "time_local",
        pa.timestamp("us", tz="UTC"),
        "the same instant in the city's local time, with its UTC offset",
    ),
    Column("device_id", pa.string(), "DevEUI of the device (16 hexadecimal characters)"),
    Column("device_name", pa.string(), "name of the device"),
    Column("site", pa.string(), "site the device belongs to, if any"),
    Column("latitude", pa.float64(), "WGS84 latitude of the device"),
    Column("longitude", pa.float64(), "WGS84 longitude of the device"),
    Column("quantity", pa.string(), "what was measured (loracity quantity vocabulary)"),
    Column("unit", pa.string(), "unit of the value as a UCUM code"),
    Column("channel", pa.int16(), "sensor channel of the device (0 for single-sensor devices)"),
    Column("value", pa.float64(), "the measured value"),
)

FLOW_COLUMNS: tuple[Column, ...] = (
    Column("bucket_start_utc", pa.timestamp("us", tz="UTC"), "start of the bucket, UTC"),
    Column("bucket_end_utc", pa.timestamp("us", tz="UTC"), "end of the bucket (exclusive), UTC"),
    Column(
        "bucket_start_local",
        pa.timestamp("us", tz="UTC"),
        "start of the bucket in the city's local time, with its UTC offset",
    ),
    Column("site", pa.string(), "the site"),
    Column(
        "quantity",
        pa.string(),
        "people_in / people_out (sum over the bucket), occupancy, wifi_devices, ble_devices "
        "(largest value in the bucket), passengers_boarding / passengers_alighting (sum)",
    ),
    Column("unit", pa.string(), "unit as a UCUM code ({count})"),
    Column("value", pa.float64(), "the count; empty when suppressed"),
    Column("suppressed", pa.bool_(), "true when 0 < count < k and the value is withheld"),
    Column("devices", pa.int32(), "how many counting devices contributed to the bucket"),
)


def columns_of(dataset: Dataset) -> tuple[Column, ...]:
    """The columns of ``dataset``'s dumps."""
    return MEASUREMENT_COLUMNS if dataset.kind == "measurements" else FLOW_COLUMNS
