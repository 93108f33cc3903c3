"""``loracity dashboards push``: argument errors, what it sends, idempotence by uid.

No Grafana runs on the test machines (it is not on PyPI or in Debian), so the calls go to a
small HTTP stand-in that answers the few Grafana API routes push uses the way Grafana does
(404 for a missing data source or folder, 200 after creating it). grafana-client itself, its
token authentication and its error mapping are real. Behaviour against a real Grafana is not
covered here.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from dashboards.files import json_dir, load_dashboards
from loracity.cli import app

ENV = {
    "LORACITY_DATABASE_URL": "postgresql://postgres@db.example:5433/loracity",
    "LORACITY_READONLY_PASSWORD": "s3cret-reader",
    "LORACITY_TIMEZONE": "Europe/Vienna",
    "LORACITY_TIMESCALEDB": "true",
    "GRAFANA_TOKEN": "",
    "GRAFANA_URL": "",
}


def _push(*args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["dashboards", "push", *args], env={**ENV, **env})
    return result.exit_code, result.output


def test_push_needs_a_url_and_a_token() -> None:
    code, out = _push("--token", "t")
    assert code != 0
    assert "--url" in out
    code, out = _push("--url", "http://127.0.0.1:3000")
    assert code == 1
    assert "--token (or GRAFANA_TOKEN) is needed" in out
    code, out = _push("--url", "grafana.local", "--token", "t")
    assert code == 1
    assert "--url 'grafana.local': give Grafana's base URL" in out


def test_dry_run_prints_the_calls_with_the_password_redacted() -> None:
    code, out = _push("--url", "http://grafana.example:3000/", "--dry-run")
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0] == "GET http://grafana.example:3000/api/datasources/uid/loracity-postgres"
    method, url, body = lines[1].split(" ", 2)
    assert (method, url) == ("POST", "http://grafana.example:3000/api/datasources")
    datasource = json.loads(body)
    assert datasource["uid"] == "loracity-postgres"
    assert datasource["type"] == "grafana-postgresql-datasource"
    assert datasource["url"] == "db.example:5433"
    assert datasource["user"] == "loracity_reader"
    assert datasource["jsonData"]["database"] == "loracity"
    assert datasource["jsonData"]["timescaledb"] is True
    assert datasource["secureJsonData"] == {"password": "***"}
    assert "s3cret-reader" not in out
    assert lines[2] == "GET http://grafana.example:3000/api/folders/loracity"
    assert lines[3].startswith("POST http://grafana.example:3000/api/folders ")
    saves = [json.loads(line.split(" ", 2)[2]) for line in lines[4:]]
    assert len(saves) == len(load_dashboards(folder=json_dir())) == 5
    for save in saves:
        assert save["overwrite"] is True
        assert save["folderUid"] == "loracity"
        assert "id" not in save["dashboard"]
        zone = next(v for v in save["dashboard"]["templating"]["list"] if v["name"] == "timezone")
        assert zone["current"]["value"] == "Europe/Vienna"


class _FakeGrafana(BaseHTTPRequestHandler):
    """Answers /api/datasources, /api/folders and /api/dashboards/db like Grafana."""

    state: dict[str, Any]

    def log_message(self, *args: object) -> None:
        pass

    def _reply(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self, body: Any = None) -> None:
        self.state["calls"].append(
            (self.command, self.path, body, self.headers.get("Authorization"))
        )

    def do_GET(self) -> None:
        self._record()
        if self.headers.get("Authorization") != "Bearer glsa_test":
            self._reply(401, {"message": "Unauthorized"})
        elif self.path.startswith("/api/datasources/uid/"):
            uid = self.path.rsplit("/", 1)[1]
            found = uid in self.state["datasources"]
            self._reply(
                200 if found else 404,
                {"uid": uid} if found else {"message": "Data source not found"},
            )
        elif self.path.startswith("/api/folders/"):
            uid = self.path.rsplit("/", 1)[1]
            found = uid in self.state["folders"]
            self._reply(
                200 if found else 404, {"uid": uid} if found else {"message": "folder not found"}
            )
        else:
            self._reply(404, {"message": "Not found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self._record(body)
        if self.path == "/api/datasources":
            self.state["datasources"][body["uid"]] = body
            self._reply(200, {"message": "Datasource added", "id": 1})
        elif self.path == "/api/folders":
            self.state["folders"][body["uid"]] = body
            self._reply(200, {"uid": body["uid"], "title": body["title"]})
        elif self.path == "/api/dashboards/db":
            uid = body["dashboard"]["uid"]
            if uid in self.state["dashboards"] and not body.get("overwrite"):
                self._reply(412, {"message": "version-mismatch", "status": "version-mismatch"})
                return
            self.state["dashboards"][uid] = body
            self._reply(200, {"uid": uid, "status": "success", "version": 1})
        else:
            self._reply(404, {"message": "Not found"})


@pytest.fixture
def fake_grafana() -> Iterator[tuple[str, dict[str, Any]]]:
    state: dict[str, Any] = {"calls": [], "datasources": {}, "folders": {}, "dashboards": {}}
    handler = type("Handler", (_FakeGrafana,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_push_creates_what_is_missing_then_overwrites_by_uid(
    fake_grafana: tuple[str, dict[str, Any]],
) -> None:
    url, state = fake_grafana
    code, out = _push("--url", url, "--token", "glsa_test")
    assert code == 0, out
    assert "data source loracity-postgres: created" in out
    assert state["datasources"]["loracity-postgres"]["secureJsonData"] == {
        "password": "s3cret-reader"
    }
    assert set(state["folders"]) == {"loracity"}
    assert len(state["dashboards"]) == 5
    assert all(call[3] == "Bearer glsa_test" for call in state["calls"])
    state["calls"].clear()
    again_code, again = _push("--url", url, "--token", "glsa_test")
    assert again_code == 0, again
    assert "data source loracity-postgres: exists, left as it is" in again
    posts = [(c[0], c[1]) for c in state["calls"] if c[0] == "POST"]
    assert posts == [("POST", "/api/dashboards/db")] * 5
    assert len(state["dashboards"]) == 5


def test_push_reports_grafana_refusing_the_token(fake_grafana: tuple[str, dict[str, Any]]) -> None:
    url, _ = fake_grafana
    code, out = _push("--url", url, "--token", "wrong")
    assert code == 1
    assert "loracity: looking up data source loracity-postgres: Grafana answered 401" in out


def test_push_says_when_grafana_is_unreachable() -> None:
    code, out = _push("--url", "http://127.0.0.1:1", "--token", "t")
    assert code == 1
    assert "cannot reach Grafana at http://127.0.0.1:1" in out
