"""Offline checks of the Docker deployment: Dockerfile, .dockerignore, docker-compose.yml,
.env.example, deploy/demo.env and deploy/mosquitto/.

No Docker engine is needed. The compose file is validated against the Compose Specification's
JSON schema (tests/data/compose-spec.json), and the files are compared with the code they drive
(setting names and defaults, CLI commands and options, built-in scenarios, the wheel's packages),
which is what breaks silently when either side changes.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
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
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DEMO_ENV = DEPLOY / "demo.env"
MOSQUITTO_CONF = DEPLOY / "mosquitto" / "mosquitto.conf"
MOSQUITTO_START = DEPLOY / "mosquitto" / "start.sh"
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"
# The Compose Specification's JSON schema, vendored: see tests/data/README.md.
COMPOSE_SCHEMA = Path(__file__).resolve().parent / "data" / "compose-spec.json"

SETTING_NAMES = frozenset(f"LORACITY_{name.upper()}" for name in Settings.model_fields)
# Variable names that hold secrets: none may have a usable default in the compose file.
_SECRET = re.compile(r"PASSWORD|SECRET|COOKIE|TOKEN|_KEY$")

# Compose interpolation: $$ escapes a dollar, ${NAME}, ${NAME:-default}, ${NAME-default},
# ${NAME:?error}, ${NAME?error}, $NAME.
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<default>[^}]*))?\}"
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
            op = match["op"] or ""
            if name in env and (env[name] or not op.startswith(":")):
                return env[name]
            if op.endswith("-"):
                return match["default"]
            # Unset (or, with :?, empty) and no default: compose stops here.
            missing.append(name)
            return ""

        return _VARIABLE.sub(resolve, value)
    if isinstance(value, dict):
        return {k: _interpolate(v, env=env, missing=missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, env=env, missing=missing) for v in value]
    return value


def _env_file(path: Path) -> dict[str, str]:
    """NAME=value lines of an env file (comments and blank lines skipped)."""
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"{path.name}: not NAME=value: {raw!r}"
        values[name.strip()] = value.strip()
    return values


def _documented_defaults(path: Path) -> dict[str, str]:
    """Commented-out ``# NAME=default`` lines of an env file."""
    found = re.findall(
        r"^# ?([A-Z][A-Z0-9_]*)=(.*)$", path.read_text(encoding="utf-8"), flags=re.MULTILINE
    )
    return {name: value.strip() for name, value in found}


def _filled_env() -> dict[str, str]:
    """.env.example with every empty secret filled in, as a user would."""
    env = _env_file(ENV_EXAMPLE)
    return {name: value or f"test-{name.lower()}" for name, value in env.items()}


def _raw() -> dict[str, Any]:
    doc = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    assert isinstance(doc, dict)
    return doc


def _load(text: str, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    missing: list[str] = []
    resolved = _interpolate(
        yaml.safe_load(text), env=_filled_env() if env is None else env, missing=missing
    )
    assert isinstance(resolved, dict)
    return resolved


@functools.cache
def _compose() -> dict[str, Any]:
    return _load(COMPOSE_FILE.read_text(encoding="utf-8"))


def _references(value: Any) -> Iterator[re.Match[str]]:
    """Every compose variable reference (not $$-escaped) anywhere in ``value``."""
    if isinstance(value, str):
        for match in _VARIABLE.finditer(value):
            if not match["escaped"]:
                yield match
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _references(key)
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _profiles(service: dict[str, Any]) -> list[str]:
    return list(service.get("profiles") or [])


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
    return (REPO / context).resolve() == REPO


def _loracity_services(doc: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in _services(doc).items() if _is_loracity(s)}


def _environment(service: dict[str, Any]) -> dict[str, str]:
    """The values compose sets; names without a value (passed through from .env) left out."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env if "=" in item)
    return {str(k): str(v) for k, v in env.items() if v is not None}


def _passed_through(service: dict[str, Any]) -> set[str]:
    """Names compose takes from .env or the shell when set there (no value in the file)."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        return {item for item in env if "=" not in item}
    return {str(k) for k, v in env.items() if v is None}


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


# --- docker-compose.yml: structure -----------------------------------------------------------


@pytest.mark.parametrize("env_name", ["no .env", ".env.example filled in", "deploy/demo.env"])
def test_compose_file_follows_the_compose_specification(env_name: str) -> None:
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    validator = jsonschema.Draft7Validator(schema)
    raw = yaml.safe_load(COMPOSE_FILE.read_text(encoding="utf-8"))
    env = {
        "no .env": {},
        ".env.example filled in": _filled_env(),
        "deploy/demo.env": _env_file(DEMO_ENV),
    }[env_name]
    doc = raw if not env else _interpolate(raw, env=env, missing=[])
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(
        f"{'.'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors[:10]
    )


def test_compose_file_defines_the_stack() -> None:
    services = _services()
    core = {"timescaledb", "mosquitto", "grafana", "migrate", "ingest", "api"}
    assert core <= set(services)
    for name in core:
        assert not _profiles(services[name]), f"{name} must start without --profile"
    assert _profiles(services["simulator"]) == ["demo"]
    scale = {n for n, s in services.items() if "scale" in _profiles(s)}
    assert scale == {"emqx1", "emqx2", "ingest-scale-1", "ingest-scale-2"}


def test_every_service_has_a_healthcheck() -> None:
    services = _services()
    waited_for = {
        target
        for s in services.values()
        for target, spec in (s.get("depends_on") or {}).items()
        if spec["condition"] == "service_completed_successfully"
    }
    for name, service in services.items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        if check.get("disable"):
            # Only a one-shot that others wait for by its exit code may go without one.
            assert service.get("restart") == "no", f"{name} disables its healthcheck"
            assert name in waited_for, f"{name} disables its healthcheck"
            continue
        test = check["test"]
        assert test[0] in {"CMD", "CMD-SHELL"}, f"{name}: {test}"
        assert len(test) > 1, f"{name}: {test}"


def test_depends_on_conditions_can_be_met() -> None:
    services = _services()
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for target, spec in depends.items():
            condition = spec["condition"]
            # A service may only wait for services that run whenever it runs.
            assert set(_profiles(services[target])) <= set(_profiles(service)), (
                f"{name} waits for {target}, which a profile may leave out"
            )
            if condition == "service_healthy":
                check = services[target].get("healthcheck") or {}
                assert check, f"{name} waits for {target}'s health"
                assert not check.get("disable"), f"{name} waits for {target}'s health"
            elif condition == "service_completed_successfully":
                assert services[target].get("restart", "no") == "no", (
                    f"{target} must be one-shot for {name} to see it complete"
                )
            else:
                raise AssertionError(f"{name}: {target} without a condition to wait for")


def test_startup_order() -> None:
    services = _services()

    def waits(name: str, target: str) -> str:
        return str(services[name]["depends_on"][target]["condition"])

    assert waits("migrate", "timescaledb") == "service_healthy"
    for name in ("ingest", "api", "grafana", "ingest-scale-1", "ingest-scale-2"):
        assert waits(name, "migrate") == "service_completed_successfully", name
    assert waits("ingest", "mosquitto") == "service_healthy"
    assert waits("ingest-scale-1", "emqx1") == "service_healthy"
    assert waits("ingest-scale-2", "emqx2") == "service_healthy"
    # Messages published before ingest first subscribes would reach no one.
    assert waits("simulator", "ingest") == "service_healthy"


def test_data_lives_in_named_volumes() -> None:
    doc = _compose()
    named = set(doc.get("volumes") or {})
    location = _mosquitto_directives()["persistence_location"][0].rstrip("/")
    for service, target in (
        ("timescaledb", "/var/lib/postgresql/data"),
        ("mosquitto", location),
        ("grafana", "/var/lib/grafana"),
        ("emqx1", "/opt/emqx/data"),
        ("emqx2", "/opt/emqx/data"),
    ):
        source = _mounts(_services()[service]).get(target)
        assert source in named, f"{service} keeps {target} in no named volume"


def test_external_images_are_pinned_to_a_release() -> None:
    # A full x.y.z release (optionally with a variant such as -pg17): no latest, no bare major
    # or major.minor that moves on every pull.
    release = re.compile(r"\d+\.\d+\.\d+(-[a-z0-9.]+)*")
    for name, service in _raw()["services"].items():
        if _is_loracity(service):
            continue
        image = service["image"]
        assert "$" not in image, f"{name}: the image must be pinned in the file, not a variable"
        _, sep, tag = image.rpartition(":")
        assert sep, f"{name}: {image} has no tag"
        assert "/" not in tag, f"{name}: {image} has no tag"
        assert release.fullmatch(tag), f"{name}: {image} must name a release like 1.2.3"


def test_published_ports_stay_on_this_machine_by_default() -> None:
    env = {k: v for k, v in _filled_env().items() if not k.endswith("_BIND")}
    doc = _load(COMPOSE_FILE.read_text(encoding="utf-8"), env=env)
    for name, service in _services(doc).items():
        for port in service.get("ports") or []:
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} to every network"


# --- docker-compose.yml: variables and secrets -----------------------------------------------


def test_every_variable_is_documented_in_env_example() -> None:
    values = _env_file(ENV_EXAMPLE)
    documented = set(values) | set(_documented_defaults(ENV_EXAMPLE))
    used = {m["braced"] or m["bare"] for m in _references(_raw())}
    undocumented = sorted(used - documented)
    assert undocumented == [], (
        f"used in docker-compose.yml, missing in .env.example: {undocumented}"
    )
    unused = sorted(set(values) - used)
    assert unused == [], f".env.example sets variables docker-compose.yml ignores: {unused}"


def test_env_example_lists_every_setting_with_its_default() -> None:
    documented = {**_documented_defaults(ENV_EXAMPLE), **_env_file(ENV_EXAMPLE)}
    missing = sorted(SETTING_NAMES - set(documented))
    assert missing == [], f".env.example does not mention: {missing}"
    for name, field in Settings.model_fields.items():
        env_name = f"LORACITY_{name.upper()}"
        value = documented[env_name]
        if field.default_factory is not None or _SECRET.search(env_name):
            continue  # a per-host default (client id) or a secret: no default to compare
        default = field.default
        expected = (
            ""
            if default is None
            else ",".join(default)
            if isinstance(default, tuple)
            else str(default).lower()
            if isinstance(default, bool)
            else str(default)
        )
        assert value == expected, f".env.example: {env_name}={value}, the default is {expected}"


def test_compose_defaults_of_settings_are_loracity_defaults() -> None:
    documented = _documented_defaults(ENV_EXAMPLE)
    for match in _references(_raw()):
        name = match["braced"] or match["bare"]
        if name in SETTING_NAMES and (match["op"] or "").endswith("-"):
            assert match["default"] == documented[name], (
                f"{match.group(0)}: loracity's default is {documented[name]}"
            )


def test_passed_through_settings_are_settings() -> None:
    # `NAME:` without a value passes NAME from .env; a typo would silently pass nothing.
    documented = _documented_defaults(ENV_EXAMPLE)
    for name, service in _raw()["services"].items():
        for env_name in _passed_through(service):
            assert env_name in SETTING_NAMES, f"{name} passes through unknown {env_name}"
            assert env_name in documented, f"{env_name} has no commented default in .env.example"


def test_no_usable_default_secret() -> None:
    raw = _raw()
    for match in _references(raw):
        name = match["braced"] or match["bare"]
        if _SECRET.search(name):
            op = match["op"] or ""
            assert not (op.endswith("-") and match["default"]), (
                f"${{{name}}} has a default secret: {match.group(0)}"
            )
    for name, service in raw["services"].items():
        env = service.get("environment") or {}
        for key, value in env.items():
            if _SECRET.search(key) and value is not None:
                assert "${" in str(value), f"{name}: {key} is written into the file"
    secrets = {k: v for k, v in _env_file(ENV_EXAMPLE).items() if _SECRET.search(k)}
    assert secrets
    assert all(v == "" for v in secrets.values()), (
        f".env.example must leave every secret empty: {secrets}"
    )


def test_compose_stops_without_the_secrets() -> None:
    missing: list[str] = []
    _interpolate(_raw(), env={}, missing=missing)
    assert set(missing) == {
        "POSTGRES_PASSWORD",
        "MQTT_PASSWORD",
        "GRAFANA_ADMIN_PASSWORD",
        "LORACITY_READONLY_PASSWORD",
    }
    # .env.example as it comes (secrets empty) does not start either.
    missing.clear()
    _interpolate(_raw(), env=_env_file(ENV_EXAMPLE), missing=missing)
    assert "POSTGRES_PASSWORD" in missing


def test_demo_env_starts_the_demo_and_nothing_is_missing() -> None:
    demo = _env_file(DEMO_ENV)
    assert demo["COMPOSE_PROFILES"] == "demo", "the demo passwords must come with the demo"
    missing: list[str] = []
    _interpolate(_raw(), env=demo, missing=missing)
    assert missing == []
    assert all(
        demo.get(f"{kind}_BIND", "127.0.0.1") == "127.0.0.1"
        for kind in ("POSTGRES", "MOSQUITTO", "METRICS", "API", "GRAFANA", "EMQX")
    )


def test_anonymous_mqtt_only_in_the_demo() -> None:
    raw = _raw()
    flag = raw["services"]["mosquitto"]["environment"]["MOSQUITTO_ALLOW_ANONYMOUS"]
    assert flag == "${MOSQUITTO_ALLOW_ANONYMOUS:-false}"
    assert _env_file(ENV_EXAMPLE)["MOSQUITTO_ALLOW_ANONYMOUS"] == "false"
    assert _env_file(DEMO_ENV)["MOSQUITTO_ALLOW_ANONYMOUS"] == "true"
    assert "allow_anonymous" not in _mosquitto_directives(), (
        "mosquitto.conf must leave access to start.sh"
    )


def test_container_shell_variables_are_escaped() -> None:
    # Healthchecks and entry points run a shell inside the container: a single $ there would be
    # replaced by compose (with the host's value, or nothing) before the container sees it.
    for name, service in _raw()["services"].items():
        commands = [
            *((service.get("healthcheck") or {}).get("test") or []),
            *(service.get("entrypoint") or []),
        ]
        for part in commands:
            unescaped = [m.group(0) for m in _references(part)]
            assert unescaped == [], f"{name}: write $$ for the container's {unescaped}"


# --- docker-compose.yml: the loracity services -----------------------------------------------


@pytest.mark.parametrize("service_name", sorted(_services()))
def test_environment_names_exist_in_settings(service_name: str) -> None:
    service = _services()[service_name]
    names = set(_environment(service)) | _passed_through(service)
    unknown = sorted(k for k in names if k.startswith("LORACITY_") and k not in SETTING_NAMES)
    assert unknown == [], f"{service_name} sets variables loracity ignores: {unknown}"
    if _is_loracity(service):
        foreign = sorted(k for k in names if not k.startswith("LORACITY_"))
        assert foreign == [], f"{service_name} sets non-loracity variables: {foreign}"


def test_environment_values_are_strings() -> None:
    # An unquoted off/yes/9108 becomes a YAML boolean or number, which compose rejects or
    # rewrites (off -> false). No value at all means "pass through from .env".
    for name, service in _raw()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            assert value is None or isinstance(value, str), f"{name}: {key} must be quoted"


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
    doc = _load(
        COMPOSE_FILE.read_text(encoding="utf-8"),
        env={**_filled_env(), "POSTGRES_PASSWORD": "s3cret"},
    )
    services = _services(doc)
    database = _environment(services["timescaledb"])
    assert database["POSTGRES_PASSWORD"] == "s3cret"
    for name, service in _loracity_services(doc).items():
        url = _environment(service).get("LORACITY_DATABASE_URL")
        assert url is not None, name
        parts = urlsplit(url)
        assert (parts.hostname, parts.port) == ("timescaledb", 5432), name
        assert parts.username == database.get("POSTGRES_USER", "postgres"), name
        assert parts.password == "s3cret", f"{name} does not follow POSTGRES_PASSWORD"
        assert parts.path.lstrip("/") == database["POSTGRES_DB"], name


def test_loracity_services_log_in_to_a_broker_of_the_stack() -> None:
    services = _services()
    listeners = {int(v.split()[0]) for v in _mosquitto_directives()["listener"]}
    broker = _environment(services["mosquitto"])
    for name, service in _loracity_services().items():
        parts = urlsplit(_environment(service)["LORACITY_MQTT_URL"])
        assert parts.hostname in {"mosquitto", "emqx1", "emqx2"}, name
        assert parts.port in listeners, name
        assert (parts.username, parts.password) == (
            broker["MQTT_USERNAME"],
            broker["MQTT_PASSWORD"],
        ), name
    for node in ("emqx1", "emqx2"):
        env = _environment(services[node])
        assert (env["MQTT_USERNAME"], env["MQTT_PASSWORD"]) == (
            broker["MQTT_USERNAME"],
            broker["MQTT_PASSWORD"],
        )


def test_ingest_metrics_are_reachable_from_outside_the_container() -> None:
    service = _services()["ingest"]
    env = _environment(service)
    assert env["LORACITY_METRICS_HOST"] == "0.0.0.0"
    port = env["LORACITY_METRICS_PORT"]
    assert any(p.endswith(f":{port}") for p in service["ports"])
    assert f":{port}/" in " ".join(service["healthcheck"]["test"])


def test_api_is_reachable_from_outside_the_container() -> None:
    service = _services()["api"]
    env = _environment(service)
    assert env["LORACITY_API_HOST"] == "0.0.0.0"
    port = env["LORACITY_API_PORT"]
    assert any(p.endswith(f":{port}") for p in service["ports"])
    assert f":{port}/" in " ".join(service["healthcheck"]["test"])


def test_ingest_has_time_to_flush_on_stop() -> None:
    for name in ("ingest", "ingest-scale-1", "ingest-scale-2"):
        service = _services()[name]
        grace = service["stop_grace_period"]
        match = re.fullmatch(r"(\d+)s", grace)
        assert match, f"{name}: stop_grace_period {grace} is not in seconds"
        assert int(match[1]) >= 20, f"{name}: stop_grace_period {grace} is too short"
        assert service.get("restart") == "unless-stopped"


def _cli_has(command: str) -> bool:
    names = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    names |= {g.name or "" for g in app.registered_groups}
    return command in names


def test_service_commands_parse_with_the_cli(
    parse_cli: Callable[..., tuple[str, dict[str, Any]]],
) -> None:
    for service in _loracity_services().values():
        command = service["command"]
        if command[0] == "api":
            continue  # test_api_service_command
        parse_cli(command, _environment(service))


def test_api_service_command() -> None:
    command = _services()["api"]["command"]
    assert command == ["api"]
    assert _cli_has("api"), "compose runs `loracity api`, which the CLI does not have"
    # --help: parses without starting the server, whether `api` is a command or a group.
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output


def test_service_commands_do_what_the_stack_needs(
    parse_cli: Callable[..., tuple[str, dict[str, Any]]],
) -> None:
    services = _services()
    command, options = parse_cli(services["migrate"]["command"])
    assert command == "db_migrate"
    assert options["wait"] >= 30
    for name in ("ingest", "ingest-scale-1", "ingest-scale-2"):
        command, options = parse_cli(services[name]["command"])
        assert command == "ingest"
        assert options["migrate"] is False, f"{name} must leave migrations to migrate"
    simulator = services["simulator"]
    command, options = parse_cli(simulator["command"], _environment(simulator))
    assert command == "run"
    assert options["scenario"] in {s.name for s in builtin_scenarios()}
    assert urlsplit(options["mqtt_url"]).hostname == "mosquitto"


def test_image_default_command_is_ingest(
    parse_cli: Callable[..., tuple[str, dict[str, Any]]],
) -> None:
    final = dict(_dockerfile_stages()[-1])
    command, _ = parse_cli(json.loads(final["CMD"]))
    assert command == "ingest"


# --- profile "scale" -------------------------------------------------------------------------


def test_scale_replicas_share_one_subscription_with_their_own_sessions() -> None:
    services = _services()
    replicas = {n: _environment(services[n]) for n in ("ingest-scale-1", "ingest-scale-2")}
    groups = {env["LORACITY_MQTT_SHARED_GROUP"] for env in replicas.values()}
    assert len(groups) == 1, f"replicas must share one group: {groups}"
    assert all(groups), "the shared group must have a name"
    ids = [
        env["LORACITY_MQTT_CLIENT_ID"]
        for env in [*replicas.values(), _environment(services["ingest"])]
    ]
    assert len(set(ids)) == len(ids), f"client ids must differ (the broker keeps sessions): {ids}"
    hosts = {urlsplit(env["LORACITY_MQTT_URL"]).hostname for env in replicas.values()}
    assert hosts == {"emqx1", "emqx2"}, "one replica per EMQX node"


def test_emqx_nodes_form_one_cluster() -> None:
    services = _services()
    names = {}
    for node in ("emqx1", "emqx2"):
        env = _environment(services[node])
        assert env["EMQX_CLUSTER__DISCOVERY_STRATEGY"] == "static"
        names[node] = env["EMQX_NODE_NAME"]
        host = env["EMQX_NODE_NAME"].split("@", 1)[1]
        aliases = services[node]["networks"]["default"]["aliases"]
        assert host in aliases, f"{node}: its node name must resolve for the other node"
        # Every uplink kept for a replica that is away, not EMQX's default of 1000.
        assert int(env["EMQX_MQTT__MAX_MQUEUE_LEN"]) >= 1_000_000
        assert "password_based" in env["EMQX_AUTHENTICATION"], f"{node} lets anyone in"
    for node in ("emqx1", "emqx2"):
        seeds = _environment(services[node])["EMQX_CLUSTER__STATIC__SEEDS"].strip("[]")
        assert set(seeds.split(",")) == set(names.values())
    # The cookie is required when the nodes start, not by compose (which would also demand it
    # from a plain `docker compose up` without the profile).
    start = " ".join(services["emqx1"]["entrypoint"])
    assert "${EMQX_NODE__COOKIE:?" in start


# --- Grafana and the dashboards/ package ------------------------------------------------------


def test_grafana_mounts_the_dashboards_folders() -> None:
    mounts = _mounts(_services()["grafana"])
    assert mounts["/etc/grafana/provisioning"] == "./dashboards/provisioning"
    assert mounts["/etc/grafana/dashboards"] == "./dashboards/json"


def _provisioning_files() -> list[Path]:
    root = REPO / "dashboards" / "provisioning"
    return sorted(p for p in root.rglob("*") if p.suffix in {".yaml", ".yml"})


def test_grafana_provisioning_finds_what_compose_provides() -> None:
    files = _provisioning_files()
    assert files, "dashboards/provisioning/ holds no provisioning files"
    grafana = _services()["grafana"]
    env = _environment(grafana)
    targets = set(_mounts(grafana))
    for path in files:
        text = path.read_text(encoding="utf-8")
        # Grafana expands $NAME and ${NAME} in provisioning files from its own environment.
        names = set(re.findall(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", text))
        missing = sorted(n for n in names if n not in env and not n.startswith("GF_"))
        assert missing == [], f"{path.relative_to(REPO)} needs {missing} in grafana's environment"
        doc = yaml.safe_load(text) or {}
        for provider in doc.get("providers") or []:
            folder = (provider.get("options") or {}).get("path", "").rstrip("/")
            assert any(folder == t or folder.startswith(t + "/") for t in targets), (
                f"{path.relative_to(REPO)}: provider path {folder} is not mounted"
            )


# --- mosquitto.conf --------------------------------------------------------------------------


def test_broker_keeps_everything_for_ingest() -> None:
    directives = _mosquitto_directives()
    queued = int(directives["max_queued_messages"][-1])
    assert queued == 0 or queued >= 1_000_000, (
        f"max_queued_messages {queued} drops uplinks while ingest is away"
    )
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
    ports = _services()["mosquitto"]["ports"]
    assert any(p.endswith(":1883") for p in ports)


def test_mosquitto_mounts_this_config_and_starts_through_start_sh() -> None:
    service = _services()["mosquitto"]
    source = _mounts(service)["/mosquitto/config"]
    assert (REPO / source).resolve() == MOSQUITTO_CONF.parent
    assert service["entrypoint"] == ["sh", f"/mosquitto/config/{MOSQUITTO_START.name}"]
    start = MOSQUITTO_START.read_text(encoding="utf-8")
    included = _mosquitto_directives()["include_dir"]
    assert included == ["/mosquitto/auth"]
    assert "auth=/mosquitto/auth" in start
    assert "-c /mosquitto/config/mosquitto.conf" in start


@pytest.mark.skipif(
    shutil.which("mosquitto") is None or shutil.which("mosquitto_passwd") is None,
    reason="needs the mosquitto and mosquitto_passwd binaries on this machine",
)
@pytest.mark.parametrize("anonymous", ["false", "true"])
def test_broker_config_lets_in_whom_start_sh_allows(anonymous: str) -> None:
    """Run deploy/mosquitto/start.sh and mosquitto.conf with the local Mosquitto, their paths
    moved into a temporary folder: the MQTT user gets in, a wrong password never does, and a
    client without a password only when MOSQUITTO_ALLOW_ANONYMOUS is true."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from devservers.ports import free_port

    port = free_port()
    # Under /tmp and world-traversable: run as root, Mosquitto drops to the mosquitto user
    # (as in the image) and must still reach its files.
    root = Path(tempfile.mkdtemp(prefix="loracity-broker-config-"))
    root.chmod(0o755)
    broker: subprocess.Popen[bytes] | None = None
    try:
        (root / "data").mkdir()
        conf = MOSQUITTO_CONF.read_text(encoding="utf-8")
        conf = conf.replace("listener 1883", f"listener {port} 127.0.0.1")
        conf = conf.replace("/mosquitto/", f"{root}/").replace("log_dest stdout", "log_dest stderr")
        (root / "mosquitto.conf").write_text(conf, encoding="utf-8")
        start = MOSQUITTO_START.read_text(encoding="utf-8").replace("/mosquitto/", f"{root}/")
        # The image's entry point is not here: run the broker directly.
        start = start.replace(
            f"exec /docker-entrypoint.sh /usr/sbin/mosquitto -c {root}/config/",
            f"exec mosquitto -c {root}/",
        )
        if os.geteuid() == 0:
            shutil.chown(root / "data", user="mosquitto", group="mosquitto")
        else:
            start = start.replace("chown -R mosquitto:mosquitto", 'chown -R "$(id -u)"')
        script = root / "start.sh"
        script.write_text(start, encoding="utf-8")
        env = {
            **os.environ,
            "MQTT_USERNAME": "loracity",
            "MQTT_PASSWORD": "s3cret-pw",
            "MOSQUITTO_ALLOW_ANONYMOUS": anonymous,
        }
        log = root / "broker.log"
        with log.open("wb") as output:
            broker = subprocess.Popen(
                ["sh", str(script)], env=env, stdout=output, stderr=subprocess.STDOUT
            )

        def connects(username: str | None, password: str | None) -> bool:
            assert broker is not None
            client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
            if username is not None:
                client.username_pw_set(username, password)
            result: list[bool] = []
            client.on_connect = lambda c, u, f, reason, p: result.append(not reason.is_failure)
            deadline = time.monotonic() + 10
            while True:
                try:
                    client.connect("127.0.0.1", port)
                    break
                except ConnectionRefusedError:
                    if broker.poll() is not None:
                        raise AssertionError(f"the broker stopped: {log.read_text()}") from None
                    assert time.monotonic() < deadline, "the broker did not start"
                    time.sleep(0.1)
            deadline = time.monotonic() + 5
            while not result and time.monotonic() < deadline:
                client.loop(timeout=0.1)
            client.disconnect()
            assert result, "no answer to CONNECT"
            return result[0]

        assert connects("loracity", "s3cret-pw")
        assert not connects("loracity", "wrong")
        assert connects(None, None) is (anonymous == "true")
    finally:
        if broker is not None:
            broker.terminate()
            broker.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


# --- Dockerfile and .dockerignore ------------------------------------------------------------


def test_image_runs_the_loracity_console_script() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "scripts"
    ]
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
    images = [stage[0][1].split()[0] for stage in _dockerfile_stages()]
    for image in images:
        assert re.fullmatch(r"python:3\.11\.\d+-slim", image), f"{image}: pin a 3.11.x slim image"
    # The venv's interpreter is the base image's python: both stages must share it.
    assert len(set(images)) == 1, images


def test_image_is_multi_stage_and_ships_no_sources() -> None:
    stages = _dockerfile_stages()
    assert len(stages) >= 2, "build in one stage, run from another"
    final = stages[-1]
    copies = [args for instruction, args in final if instruction == "COPY"]
    assert copies, "the runtime stage copies nothing"
    assert all(args.startswith("--from=") for args in copies), (
        f"the runtime stage copies from the build context: {copies}"
    )
    runs = " ".join(args for instruction, args in final if instruction == "RUN")
    assert "pip install" not in runs, "install in the build stage"
    # Not editable: the package data must be inside the venv, not in sources left behind.
    assert not any(
        "pip install" in args and " -e" in args
        for stage in stages
        for instruction, args in stage
        if instruction == "RUN"
    )


def test_image_installs_the_project_without_pip_cache() -> None:
    runs = [
        args
        for stage in _dockerfile_stages()
        for instruction, args in stage
        if instruction == "RUN" and "pip install" in args
    ]
    assert any(re.search(r"pip install --no-cache-dir \.(\s|$)", run) for run in runs), runs


def test_build_context_has_the_package_and_nothing_private() -> None:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    packages = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    needed = [
        "pyproject.toml",
        pyproject["project"]["readme"],
        *(f"{p}/__init__.py" for p in packages),
    ]
    kept_out = [p for p in needed if _dockerignored(p)]
    assert kept_out == [], f".dockerignore leaves out what the build needs: {kept_out}"
    for private in (
        ".env",
        "deploy/.env",
        "loracity/.env",
        ".venv/bin/python",
        ".git/config",
        "storage/__pycache__/migrate.cpython-311.pyc",
        "tests/conftest.py",
    ):
        assert _dockerignored(private), f"{private} would be sent to the Docker build"


def test_readonly_password_reaches_only_migrate_and_grafana() -> None:
    holders = {
        name
        for name, service in _services().items()
        if "LORACITY_READONLY_PASSWORD" in _environment(service)
    }
    assert holders == {"migrate", "grafana"}
    migrate, grafana = (_environment(_services()[n]) for n in ("migrate", "grafana"))
    assert migrate["LORACITY_READONLY_PASSWORD"] == grafana["LORACITY_READONLY_PASSWORD"]
