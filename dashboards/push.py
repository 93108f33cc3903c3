"""``loracity dashboards push``: upload the dashboards to a running Grafana over its HTTP API.

Idempotent by uid: the folder and the data source are created only when missing, and every
dashboard is saved with ``overwrite`` so a second push replaces the first. The data source is
built from the provisioning file, with loracity's settings where Grafana's provisioning would
read its environment.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from dashboards.files import DashboardFile, load_dashboards, load_datasources

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")
_REDACTED = "***"


class PushError(Exception):
    """Grafana refused a call or could not be reached; the message says which call."""


class GrafanaTarget(Protocol):
    """The few Grafana HTTP API calls a push needs."""

    def datasource_exists(self, uid: str) -> bool: ...
    def create_datasource(self, body: dict[str, Any]) -> None: ...
    def folder_exists(self, uid: str) -> bool: ...
    def create_folder(self, *, uid: str, title: str) -> None: ...
    def save_dashboard(self, body: dict[str, Any]) -> None: ...


@dataclass(slots=True, frozen=True)
class DatasourceValues:
    """What Grafana's provisioning would take from its environment, from loracity's settings."""

    host: str  # host:port as Grafana reaches the database
    database: str
    user: str
    password: str | None
    timescaledb: bool

    def environment(self) -> dict[str, str]:
        """The provisioning file's variable names with these values."""
        return {
            "POSTGRES_HOST": self.host,
            "POSTGRES_DB": self.database,
            "LORACITY_READONLY_ROLE": self.user,
            "LORACITY_READONLY_PASSWORD": self.password or "",
            "LORACITY_TIMESCALEDB": "true" if self.timescaledb else "false",
        }


@dataclass(slots=True, frozen=True)
class PushPlan:
    """What to upload: the data source body, the folder and the dashboards' bodies."""

    datasource: dict[str, Any]
    folder_uid: str
    folder_title: str
    dashboards: list[dict[str, Any]]


def _substitute(value: Any, env: dict[str, str]) -> Any:
    if isinstance(value, str):
        whole = _ENV_REF.fullmatch(value)
        text = _ENV_REF.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), value)
        # A value that is one variable and reads as a bool or number becomes one, as in
        # Grafana >= 9.4 (its jsonData.timescaledb is a JSON bool).
        if whole and text in ("true", "false"):
            return text == "true"
        if whole and text.isdigit():
            return int(text)
        return text
    if isinstance(value, dict):
        return {k: _substitute(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, env) for v in value]
    return value


def datasource_body(*, datasource_file: Path, values: DatasourceValues) -> dict[str, Any]:
    """The ``POST /api/datasources`` body for the (first) data source in the provisioning file."""
    entry = load_datasources(path=datasource_file)[0]
    body = _substitute(copy.deepcopy(entry), values.environment())
    for key in ("editable", "version", "orgId"):
        body.pop(key, None)
    # In someone else's Grafana, don't take over the default data source.
    body["isDefault"] = False
    if not values.password:
        body.pop("secureJsonData", None)
    return dict(body)


def dashboard_body(
    dashboard: DashboardFile, *, folder_uid: str, timezone: str | None
) -> dict[str, Any]:
    """The ``POST /api/dashboards/db`` body: overwrite by uid, into the folder."""
    model = copy.deepcopy(dashboard.model)
    model.pop("id", None)
    model.pop("version", None)
    if timezone:
        _default_timezone(model, timezone)
    return {
        "dashboard": model,
        "folderUid": folder_uid,
        "overwrite": True,
        "message": "loracity dashboards push",
    }


def _default_timezone(model: dict[str, Any], timezone: str) -> None:
    for variable in (model.get("templating") or {}).get("list") or []:
        if isinstance(variable, dict) and variable.get("name") == "timezone":
            options = [o.strip() for o in str(variable.get("query") or "").split(",") if o.strip()]
            if timezone not in options:
                options.insert(0, timezone)
            variable["query"] = ",".join(options)
            variable["current"] = {"selected": True, "text": timezone, "value": timezone}
            variable["options"] = [
                {"selected": o == timezone, "text": o, "value": o} for o in options
            ]


def build_plan(
    *,
    folder: Path,
    datasource_file: Path,
    values: DatasourceValues,
    folder_uid: str,
    folder_title: str,
    timezone: str | None,
) -> PushPlan:
    """Read the files and build everything a push sends."""
    return PushPlan(
        datasource=datasource_body(datasource_file=datasource_file, values=values),
        folder_uid=folder_uid,
        folder_title=folder_title,
        dashboards=[
            dashboard_body(d, folder_uid=folder_uid, timezone=timezone)
            for d in load_dashboards(folder=folder)
        ],
    )


def push(
    *, target: GrafanaTarget, plan: PushPlan, log: Callable[[str], None] = lambda _line: None
) -> None:
    """Create the data source and the folder when missing, then save every dashboard."""
    uid = str(plan.datasource.get("uid"))
    if target.datasource_exists(uid):
        log(f"data source {uid}: exists, left as it is")
    else:
        if "secureJsonData" not in plan.datasource:
            raise PushError(
                f"data source {uid} is missing in Grafana and no password for it is "
                "set: set LORACITY_READONLY_PASSWORD (the read-only role's password)"
            )
        target.create_datasource(plan.datasource)
        log(f"data source {uid}: created")
    if target.folder_exists(plan.folder_uid):
        log(f"folder {plan.folder_uid}: exists")
    else:
        target.create_folder(uid=plan.folder_uid, title=plan.folder_title)
        log(f"folder {plan.folder_uid}: created")
    for body in plan.dashboards:
        target.save_dashboard(body)
        log(f"dashboard {body['dashboard'].get('uid')}: saved ({body['dashboard'].get('title')})")


def _redact(body: dict[str, Any]) -> dict[str, Any]:
    shown = copy.deepcopy(body)
    secure = shown.get("secureJsonData")
    if isinstance(secure, dict):
        shown["secureJsonData"] = dict.fromkeys(secure, _REDACTED)
    return shown


class DryRunTarget:
    """Prints the API calls a push would make (Grafana answering 'not found' to every
    lookup, so the creating calls are shown too); secrets are redacted."""

    def __init__(self, *, url: str, echo: Callable[[str], None]) -> None:
        self._url = url.rstrip("/")
        self._echo = echo

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> None:
        line = f"{method} {self._url}/api{path}"
        if body is not None:
            line += " " + json.dumps(_redact(body), ensure_ascii=False, sort_keys=True)
        self._echo(line)

    def datasource_exists(self, uid: str) -> bool:
        self._call("GET", f"/datasources/uid/{uid}")
        return False

    def create_datasource(self, body: dict[str, Any]) -> None:
        self._call("POST", "/datasources", body)

    def folder_exists(self, uid: str) -> bool:
        self._call("GET", f"/folders/{uid}")
        return False

    def create_folder(self, *, uid: str, title: str) -> None:
        self._call("POST", "/folders", {"uid": uid, "title": title})

    def save_dashboard(self, body: dict[str, Any]) -> None:
        self._call("POST", "/dashboards/db", body)


class GrafanaClientTarget:
    """The calls made with grafana-client against a real Grafana."""

    def __init__(self, *, url: str, token: str, timeout_s: float = 10.0) -> None:
        from grafana_client.api import GrafanaApi

        self._api = GrafanaApi.from_url(url=url, credential=token, timeout=timeout_s)
        self._url = url

    def _do(self, what: str, call: Callable[[], Any], *, missing_ok: bool = False) -> bool:
        from grafana_client.client import GrafanaClientError, GrafanaException

        try:
            call()
        except GrafanaClientError as exc:
            if missing_ok and exc.status_code == 404:
                return False
            raise PushError(f"{what}: Grafana answered {exc.status_code}: {exc.message}") from exc
        except GrafanaException as exc:
            raise PushError(f"{what}: Grafana answered {exc.status_code}: {exc.message}") from exc
        except Exception as exc:  # connection errors come from requests
            raise PushError(f"{what}: cannot reach Grafana at {self._url}: {exc}") from exc
        return True

    def datasource_exists(self, uid: str) -> bool:
        return self._do(
            f"looking up data source {uid}",
            lambda: self._api.datasource.get_datasource_by_uid(uid),
            missing_ok=True,
        )

    def create_datasource(self, body: dict[str, Any]) -> None:
        self._do("creating the data source", lambda: self._api.datasource.create_datasource(body))

    def folder_exists(self, uid: str) -> bool:
        return self._do(
            f"looking up folder {uid}", lambda: self._api.folder.get_folder(uid), missing_ok=True
        )

    def create_folder(self, *, uid: str, title: str) -> None:
        self._do(
            f"creating folder {uid}", lambda: self._api.folder.create_folder(title=title, uid=uid)
        )

    def save_dashboard(self, body: dict[str, Any]) -> None:
        self._do(
            f"saving dashboard {body['dashboard'].get('uid')}",
            lambda: self._api.dashboard.update_dashboard(body),
        )
