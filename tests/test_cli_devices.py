"""``loracity devices`` and ``loracity simulate register`` as a user types them."""

from __future__ import annotations

import os
import subprocess
import sys

import psycopg

from storage.migrate import migrate


def _run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LORACITY_DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "loracity", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_register_a_scenario_then_change_and_list_a_device(database_url: str) -> None:
    missing = _run(database_url, "simulate", "register", "meetup")
    assert missing.returncode == 1
    assert "loracity db migrate" in missing.stderr
    migrate(database_url=database_url)
    done = _run(database_url, "simulate", "register", "meetup")
    assert done.returncode == 0, done.stderr
    assert "registered 12 devices" in done.stdout
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT count(*), count(device_type), count(site) FROM devices"
        ).fetchone()
        assert rows is not None
        assert rows[0] == 12
        assert rows[1] == 12
        assert rows[2] > 0
        pax = conn.execute(
            "SELECT device_type, site FROM devices WHERE name = 'square-paxcounter'"
        ).fetchone()
        assert pax == ("paxcounter-plain", "market-square")
        eui = conn.execute("SELECT dev_eui FROM devices ORDER BY dev_eui LIMIT 1").fetchone()
        assert eui is not None
    changed = _run(
        database_url, "devices", "set", eui[0].upper(), "--site", "north-gate", "--decode-locally"
    )
    assert changed.returncode == 0, changed.stderr
    listing = _run(database_url, "devices", "list")
    line = next(x for x in listing.stdout.splitlines() if x.startswith(eui[0]))
    assert "north-gate" in line
    assert "local" in line
    bad = _run(database_url, "devices", "set", "12345", "--site", "x")
    assert bad.returncode == 1
    assert "16 hexadecimal characters" in bad.stderr
    unknown = _run(database_url, "devices", "set", eui[0], "--type", "no-such-codec")
    assert unknown.returncode == 1
    assert "loracity codecs list" in unknown.stderr
