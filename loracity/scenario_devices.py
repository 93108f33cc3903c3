"""Registering a simulator scenario's devices in the database (device type and site).

A real pilot registers its devices once; a simulated one does the same, so ingest knows the
codec of devices whose network-server messages do not name one (a Paxcounter on The Things
Stack has no Device Repository ids) and which site each counter belongs to.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from simulators.generator import Simulation
from simulators.loading import Scenario
from simulators.scenario import WaterLevel
from storage.devices import register_device, register_site


def register_scenario_devices(*, conn: psycopg.Connection[Any], scenario: Scenario) -> int:
    """Register every device of ``scenario`` (type, name, site, position, send interval,
    a water gauge's mounting height) and
    its sites (with their capacity); returns how many devices."""
    for site in scenario.spec.sites:
        register_site(
            conn=conn, site=site.id, name=site.name, capacity=round(site.capacity) or None
        )
    simulation = Simulation(scenario=scenario, start=datetime.now(UTC))
    identities = simulation.identities()
    intervals = simulation.intervals()
    heights = {
        device.id: device.behaviour.mount_height
        for device in scenario.devices
        if isinstance(device.behaviour, WaterLevel)
    }
    for identity in identities:
        register_device(
            conn=conn,
            dev_eui=identity.dev_eui,
            name=identity.device_id,
            device_type=identity.device_type,
            site=identity.tags.get("site"),
            position=identity.location,
            expected_interval_s=max(1, round(intervals[identity.dev_eui])),
            mounting_height=heights.get(identity.device_id),
        )
    return len(identities)
