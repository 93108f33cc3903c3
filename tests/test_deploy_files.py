"""Offline checks of the Docker deployment: Dockerfile, .dockerignore, deploy/docker-compose.yml
and deploy/mosquitto/mosquitto.conf.

No Docker engine is needed. The checks compare the files with the code they drive (setting names,
CLI commands and options, built-in scenarios, the wheel's packages), which is what breaks silently
when either side changes, and pin the broker and image choices the README relies on.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
import yaml
from typer.models import CommandInfo
from typer.testing import CliRunner

from loracity.cli import app
from loracity.settings import Settings
from simulators.loading import builtin_scenarios

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
COMPOSE_FILE = DEPLOY / "docker-compose.yml"
MOSQUITTO_CONF = DEPLOY / "mosquitto" / "mosquitto.conf"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"

SETTING_NAMES = frozenset(f"LORACITY_{name.upper()}" for name in Settings.model_fields)

# Compose interpolation: $$ escapes a dollar, ${NAME}, ${NAME:-default}, ${NAME-default}, $NAME.
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?-)(?P<default>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


# --- helpers ---------------------------------------------------------------------------------


def _interpolate(value: Any, *, env: Mapping[str, str], missing: list[str]) -> Any:
    """Resolve compose variables as `docker compose` would with ``env`` as the .env file."""
    if isinstance(value, str):

        def resolve(match: re.Match[str]) -> str:
            if match["escaped"]:
                return "$"
            name = match["braced"] or match["bare"]
            if name in env and (env[name] or match["op"] != ":-"):
                return env[name]
            if match["op"]:
                return match["default"]
            missing.append(name)
            return ""

        return _VARIABLE.sub(resolve, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, env=env, missing=missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env=env, missing=missing) for v in value]
    return value


def _compose_text_with_replica_example() -> str:
    """The compose file with the commented-out ``ingest-2`` example switched on."""
    lines = COMPOSE_FILE.read_text(encoding="utf-8").splitlines()
    start = lines.index("  # ingest-2:")
    end = start
    while end < len(lines) and lines[end].startswith("  #"):
        end += 1
    example = ["  " + line[4:] for line in lines[start:end]]
    return "\n".join([*lines[:start], *example, *lines[end:]]) + "\n"


def _load(text: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    missing: list[str] = []
    resolved = _interpolate(yaml.safe_load(text), env=env or {}, missing=missing)
    assert isinstance(resolved, dict)
    return resolved


@functools.cache
def _compose() -> dict[str, Any]:
    return _load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _services(doc: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    services = (doc or _compose())["services"]
    assert isinstance(services, dict)
    return services


def _is_loracity(service: dict[str, Any]) -> bool:
    """Built from this repository's Dockerfile."""
    build = service.get("build")
    if build is None:
        return False
    context = build if isinstance(build, str) else build.get("context", ".")
    return (DEPLOY / context).resolve() == REPO


def _loracity_services(doc: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in _services(doc).items() if _is_loracity(s)}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Container path -> volume name or host path, from short-syntax volume entries."""
    mounts = {}
    for entry in service.get("volumes") or []:
        source, target = entry.split(":")[:2]
        mounts[target.rstrip("/")] = source
    return mounts


def _mosquitto_directives() -> dict[str, list[str]]:
    directives: dict[str, list[str]] = {}
    for raw in MOSQUITTO_CONF.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, value = line.partition(" ")
        directives.setdefault(name, []).append(value.strip())
    return directives


def _dockerfile_stages() -> list[list[tuple[str, str]]]:
    """(INSTRUCTION, arguments) per build stage, continuation lines joined."""
    logical: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[list[tuple[str, str]]] = []
    for line in logical:
        instruction, _, arguments = line.partition(" ")
        if instruction.upper() == "FROM":
            stages.append([])
        assert stages, "the Dockerfile must start with FROM"
        stages[-1].append((instruction.upper(), arguments.strip()))
    return stages


def _dockerignored(path: str) -> bool:
    """Whether the build context leaves ``path`` out (Docker's rules: later lines win, ``!``
    re-includes, a pattern that matches a folder leaves out everything in it)."""
    ignored = False
    parts = path.split("/")
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negate = pattern.startswith("!")
        pattern = pattern.removeprefix("!").strip("/")
        prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
        if pattern.startswith("**/"):
            tail = pattern[3:]
            hit = any(fnmatch.fnmatchcase(part, tail) for part in parts)
        else:
            hit = any(fnmatch.fnmatchcase(prefix, pattern) for prefix in prefixes)
        if hit:
            ignored = not negate
    return ignored


def _commands(typer_app: typer.Typer) -> Iterator[CommandInfo]:
    yield from typer_app.registered_commands
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None
        yield from _commands(group.typer_instance)


@pytest.fixture
def parse_cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[str, dict[str, Any]]]:
    """Run the real ``loracity`` command line with every command's body replaced by a recorder:
    options and arguments are parsed and validated exactly as in the container, nothing runs."""
    calls: list[tuple[str, dict[str, Any]]] = []
    for info in _commands(app):
        original = info.callback
        assert original is not None

        def recorder(original: Callable[..., Any] = original) -> Callable[..., None]:
            @functools.wraps(original)
            def record(**kwargs: Any) -> None:
                calls.append((original.__name__, kwargs))

            return record

        monkeypatch.setattr(info, "callback", recorder())
    for name in [n for n in os.environ if n.startswith("LORACITY_")]:
        monkeypatch.delenv(name)

    def parse(args: list[str], env: Mapping[str, str] | None = None) -> tuple[str, dict[str, Any]]:
        result = CliRunner().invoke(app, args, env=dict(env or {}))
        assert result.exit_code == 0, f"`loracity {' '.join(args)}` fails: {result.output}"
        assert calls, f"`loracity {' '.join(args)}` ran no command"
        return calls.pop()

    return parse


# --- docker-compose.yml ----------------------------------------------------------------------


def test_compose_file_defines_the_stack() -> None:
    services = _services()
    assert {"timescaledb", "mosquitto", "migrate", "ingest", "simulator"} <= set(services)
    assert services["simulator"].get("profiles") == ["demo"]
    for name in ("timescaledb", "mosquitto", "migrate", "ingest"):
        assert not services[name].get("profiles"), f"{name} must start without --profile"


def test_compose_file_works_without_an_env_file() -> None:
    missing: list[str] = []
    _interpolate(yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8")), env={},
                 missing=missing)
    assert missing == [], f"variables without a default: {sorted(set(missing))}"


@pytest.mark.parametrize("service_name", sorted(_services()))
def test_environment_names_exist_in_settings(service_name: str) -> None:
    service = _services()[service_name]
    env = _environment(service)
    unknown = sorted(k for k in env if k.startswith("LORACITY_") and k not in SETTING_NAMES)
    assert unknown == [], f"{service_name} sets variables loracity ignores: {unknown}"
    if _is_loracity(service):
        foreign = sorted(k for k in env if not k.startswith("LORACITY_"))
        assert foreign == [], f"{service_name} sets non-loracity variables: {foreign}"


def test_environment_values_are_strings() -> None:
    # An unquoted off/yes/9108 becomes a YAML boolean or number, which compose rejects or
    # rewrites (off -> false).
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            assert isinstance(value, str), f"{name}: {key} must be a quoted string"


@pytest.mark.parametrize("service_name", sorted(_loracity_services()))
def test_environment_is_valid_configuration(
    service_name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env in the way
    for name in [n for n in os.environ if n.startswith("LORACITY_")]:
        monkeypatch.delenv(name)
    for key, value in _environment(_services()[service_name]).items():
        monkeypatch.setenv(key, value)
    Settings()  # raises on any invalid value


def test_database_url_follows_the_database_service() -> None:
    doc = _load(COMPOSE_FILE.read_text(encoding="utf-8"), env={"POSTGRES_PASSWORD": "s3cret"})
    services = _services(doc)
    database = _environment(services["timescaledb"])
    assert database["POSTGRES_PASSWORD"] == "s3cret"
    for name, service in _loracity_services(doc).items():
        url = _environment(service).get("LORACITY_DATABASE_URL")
        if url is None:
            continue
        parts = urlsplit(url)
        assert (parts.hostname, parts.port) == ("timescaledb", 5432), name
        assert parts.username == database.get("POSTGRES_USER", "postgres"), name
        assert parts.password == "s3cret", f"{name} does not follow POSTGRES_PASSWORD"
        assert parts.path.lstrip("/") == database["POSTGRES_DB"], name


def test_loracity_services_reach_the_broker_service() -> None:
    listeners = {int(v.split()[0]) for v in _mosquitto_directives()["listener"]}
    for name, service in _loracity_services().items():
        url = _environment(service).get("LORACITY_MQTT_URL")
        if url is None:
            continue
        parts = urlsplit(url)
        assert parts.hostname == "mosquitto", name
        assert parts.port in listeners, name


def test_depends_on_conditions_can_be_met() -> None:
    services = _services()
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for target, spec in depends.items():
            condition = spec["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}'s health"
            elif condition == "service_completed_successfully":
                assert services[target].get("restart", "no") == "no", (
                    f"{target} must be one-shot for {name} to see it complete")


def test_startup_order() -> None:
    services = _services()
    assert services["migrate"]["depends_on"]["timescaledb"]["condition"] == "service_healthy"
    ingest = services["ingest"]["depends_on"]
    assert ingest["migrate"]["condition"] == "service_completed_successfully"
    assert ingest["mosquitto"]["condition"] == "service_healthy"
    # Messages published before ingest first subscribes would reach no one.
    assert services["simulator"]["depends_on"]["ingest"]["condition"] == "service_healthy"


def test_data_lives_in_named_volumes() -> None:
    doc = _compose()
    named = set(doc.get("volumes") or {})
    location = _mosquitto_directives()["persistence_location"][0].rstrip("/")
    for service, target in (("timescaledb", "/var/lib/postgresql/data"), ("mosquitto", location)):
        source = _mounts(_services()[service]).get(target)
        assert source in named, f"{service} keeps {target} in no named volume"


def test_mosquitto_mounts_this_config() -> None:
    source = _mounts(_services()["mosquitto"])["/mosquitto/config"]
    assert (DEPLOY / source).resolve() == MOSQUITTO_CONF.parent


def test_external_images_are_pinned() -> None:
    for name, service in _services().items():
        if _is_loracity(service):
            continue
        image = service["image"]
        _, sep, tag = image.rpartition(":")
        assert sep, f"{name}: {image} has no tag"
        assert "/" not in tag, f"{name}: {image} has no tag"
        assert "latest" not in tag, f"{name}: {image} must name a version"
        assert tag[0].isdigit(), f"{name}: {image} must name a version (a major one at least)"


def test_ingest_replicas_keep_their_own_sessions() -> None:
    doc = _load(_compose_text_with_replica_example())
    ingests = {n: _environment(s) for n, s in _loracity_services(doc).items()
               if s["command"][0] == "ingest"}
    assert set(ingests) == {"ingest", "ingest-2"}
    ids = [env.get("LORACITY_MQTT_CLIENT_ID") for env in ingests.values()]
    assert all(ids), "every ingest needs a fixed client id: the broker keeps its session by it"
    assert len(set(ids)) == len(ids), f"replicas share a client id: {ids}"
    assert ingests["ingest-2"]["LORACITY_MQTT_SHARED_GROUP"], "the example must share the load"
    host_ports = [p.rsplit(":", 2)[-2] for n in ingests for p in _services(doc)[n]["ports"]]
    assert len(set(host_ports)) == len(host_ports), "replicas publish the same host port"


def test_ingest_metrics_are_reachable_from_outside_the_container() -> None:
    service = _services()["ingest"]
    env = _environment(service)
    assert env["LORACITY_METRICS_HOST"] == "0.0.0.0"
    port = env["LORACITY_METRICS_PORT"]
    assert any(p.endswith(f":{port}") for p in service["ports"])
    assert f":{port}/" in " ".join(service["healthcheck"]["test"])


def test_ingest_has_time_to_flush_on_stop() -> None:
    service = _services()["ingest"]
    grace = service["stop_grace_period"]
    match = re.fullmatch(r"(\d+)s", grace)
    assert match, f"stop_grace_period {grace} is not in seconds"
    assert int(match[1]) >= 20, f"stop_grace_period {grace} is too short"
    assert service.get("restart") == "unless-stopped"


def test_service_commands_parse_with_the_cli(
    parse_cli: Callable[..., tuple[str, dict[str, Any]]],
) -> None:
    doc = _load(_compose_text_with_replica_example())
    for service in _loracity_services(doc).values():
        parse_cli(service["command"], _environment(service))


def test_service_commands_do_what_the_stack_needs(
    parse_cli: Callable[..., tuple[str, dict[str, Any]]],
) -> None:
    services = _services()
    command, options = parse_cli(services["migrate"]["command"])
    assert command == "db_migrate"
    assert options["wait"] >= 30
    command, options = parse_cli(services["ingest"]["command"])
    assert command == "ingest"
    command, options = parse_cli(services["simulator"]["command"])
    assert command == "run"
    assert options["scenario"] in {s.name for s in builtin_scenarios()}
    assert urlsplit(options["mqtt_url"]).hostname == "mosquitto"


def test_image_default_command_is_ingest(
    parse_cli: Callable[..., tuple[str, dict[str, Any]]],
) -> None:
    final = dict(_dockerfile_stages()[-1])
    command, _ = parse_cli(json.loads(final["CMD"]))
    assert command == "ingest"


# --- mosquitto.conf --------------------------------------------------------------------------


def test_broker_keeps_everything_for_ingest() -> None:
    directives = _mosquitto_directives()
    queued = int(directives["max_queued_messages"][-1])
    assert queued == 0 or queued >= 1_000_000, (
        f"max_queued_messages {queued} drops uplinks while ingest is away")
    assert directives["persistence"] == ["true"]
    assert directives["persistence_location"]
    # QoS 0 publishers (the TTN bridge, ChirpStack by default) need it to be queued for ingest.
    assert directives["upgrade_outgoing_qos"] == ["true"]


def test_broker_lets_mqtt311_ingest_keep_up() -> None:
    inflight = int(_mosquitto_directives()["max_inflight_messages"][-1])
    assert inflight == 0 or inflight >= 1000


def test_broker_listens_where_compose_publishes() -> None:
    directives = _mosquitto_directives()
    assert [v.split()[0] for v in directives["listener"]] == ["1883"]
    assert directives["allow_anonymous"] == ["true"]
    ports = _services()["mosquitto"]["ports"]
    assert any(p.endswith(":1883") for p in ports)


# --- Dockerfile and .dockerignore ------------------------------------------------------------


def test_image_runs_the_loracity_console_script() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"]
    final = dict(_dockerfile_stages()[-1])
    assert json.loads(final["ENTRYPOINT"]) == ["loracity"]
    assert "loracity" in scripts
    assert json.loads(final["CMD"]) == ["ingest"]


def test_image_runs_as_an_unprivileged_user() -> None:
    final = _dockerfile_stages()[-1]
    users = [args for instruction, args in final if instruction == "USER"]
    assert users, "the runtime stage sets no USER"
    assert users[-1].split(":")[0] not in {"root", "0"}


def test_image_bases_are_pinned() -> None:
    for stage in _dockerfile_stages():
        image = stage[0][1].split()[0]
        assert image.startswith("python:3.11"), image
        assert "latest" not in image


def test_image_installs_the_project_without_pip_cache() -> None:
    runs = [args for stage in _dockerfile_stages() for instruction, args in stage
            if instruction == "RUN" and "pip install" in args]
    assert any(re.search(r"pip install --no-cache-dir \.(\s|$)", run) for run in runs), runs


def test_build_context_has_the_package_and_nothing_private() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    needed = ["pyproject.toml", pyproject["project"]["readme"],
              *(f"{p}/__init__.py" for p in packages)]
    kept_out = [p for p in needed if _dockerignored(p)]
    assert kept_out == [], f".dockerignore leaves out what the build needs: {kept_out}"
    for private in (".env", "deploy/.env", "loracity/.env", ".venv/bin/python", ".git/config",
                    "storage/__pycache__/migrate.cpython-311.pyc", "tests/conftest.py"):
        assert _dockerignored(private), f"{private} would be sent to the Docker build"
