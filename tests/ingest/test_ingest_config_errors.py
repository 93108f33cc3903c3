"""Bad configuration ends ``loracity ingest`` with one line and a non-zero status."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from devservers.ports import free_port


def _ingest(env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "loracity", "ingest", "--wait", "5"],
        env={**os.environ, "LORACITY_METRICS_PORT": "0", **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_wrong_mqtt_credentials(database_url: str) -> None:
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    if not (Path(mosquitto).exists() and Path(passwd).exists()):
        pytest.skip(
            "needs the mosquitto and mosquitto_passwd binaries for a broker with a password file"
        )
    # Run as root, mosquitto drops to its own user before reading the password file, so the
    # files live in a folder that user can read (pytest's tmp_path is private to root).
    tmp_path = Path(tempfile.mkdtemp(prefix="loracity-mqauth-"))
    tmp_path.chmod(0o755)
    subprocess.run([passwd, "-b", "-c", str(tmp_path / "pw"), "alice", "secret"], check=True)
    (tmp_path / "pw").chmod(0o644)
    port = free_port()
    (tmp_path / "m.conf").write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {tmp_path / 'pw'}\n"
    )
    broker = subprocess.Popen(
        [mosquitto, "-c", str(tmp_path / "m.conf")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.5)
        done = _ingest(
            {
                "LORACITY_DATABASE_URL": database_url,
                "LORACITY_MQTT_URL": f"mqtt://alice:wrong@127.0.0.1:{port}",
            }
        )
    finally:
        broker.terminate()
        broker.wait(10)
        shutil.rmtree(tmp_path, ignore_errors=True)
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("loracity: the MQTT broker at mqtt://alice:***@")
    assert "refused the credentials" in last
    assert "wrong" not in done.stderr  # the password is never logged


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"LORACITY_MQTT_URL": "http://broker:1883"}, "LORACITY_MQTT_URL"),
        ({"LORACITY_BATCH_SIZE": "0"}, "LORACITY_BATCH_SIZE"),
        ({"LORACITY_MQTT_TOPICS": " , "}, "LORACITY_MQTT_TOPICS"),
        ({"LORACITY_DATABASE_URL": "mysql://x"}, "LORACITY_DATABASE_URL"),
    ],
)
def test_invalid_settings(env: dict[str, str], message: str) -> None:
    done = _ingest(env, timeout=30)
    assert done.returncode == 1
    assert done.stderr.startswith("loracity: bad configuration: ")
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_unreachable_database_gives_up_with_one_line() -> None:
    done = _ingest(
        {"LORACITY_DATABASE_URL": f"postgresql://postgres:pw-not-shown@127.0.0.1:{free_port()}/x"}
    )
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("loracity: cannot reach the database at postgresql://postgres:***@")
    assert "pw-not-shown" not in done.stderr
