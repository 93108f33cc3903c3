"""A demo scenario registers what the map and the board need: positions, site names, and the
mounting height a river gauge's water level is measured from."""

from __future__ import annotations

import psycopg
import pytest

from loracity.scenario_devices import register_scenario_devices
from simulators.loading import load_scenario
from storage.migrate import migrate

# Trackers report their position in every uplink; everything else is mounted somewhere.
_MOVING = ("gps-tracker", "bus")


@pytest.mark.parametrize("name", ["meetup", "arena-event", "bus-line"])
def test_every_fixed_device_has_a_position_and_every_site_a_name(
    name: str, database_url: str
) -> None:
    scenario = load_scenario(source=name)
    migrate(database_url=database_url)
    with psycopg.connect(database_url) as conn:
        register_scenario_devices(conn=conn, scenario=scenario)
        rows = conn.execute("SELECT name, latitude, longitude FROM devices").fetchall()
        sites: dict[str, str | None] = dict(conn.execute("SELECT site, name FROM sites").fetchall())
    moving = {d.id for d in scenario.devices if d.behaviour.model in _MOVING}
    unplaced = [n for n, lat, lon in rows if n not in moving and (lat is None or lon is None)]
    assert not unplaced
    assert sites
    assert all(sites.values()), sites
    assert all(s.name_de for s in scenario.spec.sites)  # German display names too


def test_the_river_gauge_is_registered_with_its_mounting_height(database_url: str) -> None:
    migrate(database_url=database_url)
    with psycopg.connect(database_url) as conn:
        register_scenario_devices(conn=conn, scenario=load_scenario(source="meetup"))
        row = conn.execute(
            "SELECT mounting_height FROM devices WHERE name = 'neckar-gauge'"
        ).fetchone()
    assert row == (4.5,)
