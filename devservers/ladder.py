"""The ladder of places a server can come from, and the errors it reports when every rung fails."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol, TypeVar

RUNGS: tuple[str, ...] = ("env", "docker", "local", "embedded")
RUNGS_VAR = "LORACITY_TEST_SERVERS"

Log = Callable[[str], None]
T = TypeVar("T")


class RungUnavailable(Exception):
    """A rung cannot provide the server here; the message says why in one line."""


class ServerUnavailableError(RuntimeError):
    """No rung of the ladder could provide the server; the message lists each rung's reason."""

    def __init__(self, *, server: str, reasons: Sequence[tuple[str, str]]) -> None:
        self.server = server
        self.reasons = tuple(reasons)
        lines = [f"no {server} server could be found or started:"]
        lines += [f"  - {rung}: {reason}" for rung, reason in self.reasons]
        super().__init__("\n".join(lines))


class Controller(Protocol):
    """What a started server offers its handle: stop and start it again, then release it."""

    def stop(self) -> None: ...

    def start(self) -> None: ...

    def close(self) -> None: ...


def selected_rungs(*, rungs: Sequence[str], rungs_var: str | None) -> tuple[str, ...]:
    """The rungs to try, in order: ``rungs`` narrowed by the comma list in ``rungs_var``, if set.

    An unknown rung name is an error rather than silently ignored, because a typo in
    ``LORACITY_TEST_SERVERS`` would otherwise test against a different server than intended.
    """
    for rung in rungs:
        if rung not in RUNGS:
            raise ValueError(f"unknown server rung {rung!r}; known rungs: {', '.join(RUNGS)}")
    raw = os.environ.get(rungs_var, "").strip() if rungs_var else ""
    if not raw:
        return tuple(rungs)
    wanted = {part.strip() for part in raw.split(",") if part.strip()}
    unknown = sorted(wanted - set(RUNGS))
    if unknown:
        raise ValueError(
            f"{rungs_var}={raw!r} names unknown rungs {', '.join(unknown)}; "
            f"known rungs: {', '.join(RUNGS)}"
        )
    return tuple(rung for rung in rungs if rung in wanted)


def quiet(_: str) -> None:
    """A log callback that says nothing."""


def climb(
    *,
    server: str,
    tag: str,
    starters: Mapping[str, Callable[[Log], T]],
    rungs: Sequence[str],
    rungs_var: str | None,
    log: Log | None,
    describe: Callable[[T], str],
) -> T:
    """Try each selected rung's starter in order and return the first server one gives.

    A starter raises :class:`RungUnavailable` when its rung cannot work here, or any other
    exception when it tried and failed; either way the next rung is tried, except after the
    ``env`` rung failed: an explicit URL says which server to use, and another would hide that.
    """
    say = log or quiet
    reasons: list[tuple[str, str]] = []
    chosen = selected_rungs(rungs=rungs, rungs_var=rungs_var)
    if not chosen:
        narrowed = os.environ.get(rungs_var, "") if rungs_var else ""
        reasons.append(
            ("ladder", f"no rung left to try (rungs {list(rungs)}, {rungs_var}={narrowed!r})")
        )
    for rung in chosen:
        try:
            found = starters[rung](say)
        except RungUnavailable as exc:
            reasons.append((rung, str(exc)))
            say(f"{tag}: passed over {rung}: {exc}")
            continue
        except Exception as exc:
            reasons.append((rung, f"failed: {one_line(exc)}"))
            say(f"{tag}: {rung} failed: {exc}")
            if rung == "env":
                raise ServerUnavailableError(server=server, reasons=reasons) from exc
            continue
        say(f"{tag}: using {rung}: {describe(found)}")
        return found
    raise ServerUnavailableError(server=server, reasons=reasons)


def one_line(exc: BaseException) -> str:
    """An exception's message on one line: its first line, and its last when they differ.

    Server logs and libpq put the cause last; messages of this package put it first.
    """
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"
