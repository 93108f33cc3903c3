"""A V8 context for one JavaScript codec, with a time limit and a memory limit on every call.

The context comes from mini-racer (bare V8: no file, network or process access) and nothing from
Python is exposed to it. :mod:`js_harness.js` is evaluated first; it is the only way in and out.

Limits and what happens when a codec breaks them:

- **time**: every call (and the promise jobs it leaves behind, which V8 runs after the call
  returns) must finish within ``timeout_ms``; otherwise V8 is interrupted.
- **memory**: a hard limit of ``memory_mb`` on the V8 heap, and the same amount again for
  ArrayBuffer memory (which the heap limit does not see; the harness counts it).
- After a timeout, an out-of-memory stop or any other engine failure the context is discarded
  (V8 contexts can stay wedged or full afterwards) and a fresh one is built, lazily, for the next
  call. A codec that merely throws keeps its context.

Thread safety: :meth:`JsSandbox.call` may be called from any thread; calls on one sandbox are
serialised by a lock (V8 runs one call at a time per context anyway). Each sandbox owns one
asyncio event-loop thread, which mini-racer needs to deliver results and enforce timeouts; call
:meth:`JsSandbox.close` to stop it (it is also stopped when the sandbox is garbage collected or
the interpreter exits).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib.resources
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
from py_mini_racer import JSEvalException, JSOOMException, MiniRacer, mini_racer

#: Codec functions the harness looks for after loading a source (TS013, TTN v2, ChirpStack v3).
EXPORTED_FUNCTIONS = (
    "decodeUplink",
    "encodeDownlink",
    "decodeDownlink",
    "Decoder",
    "Encoder",
    "Decode",
    "Encode",
)

#: Results larger than this (as JSON text) are refused; real decoders return a few kB.
MAX_RESULT_CHARS = 1_000_000

Problem = Literal["timeout", "out_of_memory", "threw", "bad_result", "missing", "closed"]


class SandboxFailure(Exception):
    """A call into the codec did not produce a result.

    ``problem`` says why (``timeout``, ``out_of_memory``, ``threw``, ``bad_result``,
    ``missing``, ``closed``) and ``detail`` gives the engine's or the codec's own words, if any.
    """

    def __init__(self, *, problem: Problem, detail: str = "") -> None:
        self.problem = problem
        self.detail = detail
        super().__init__(f"{problem}: {detail}" if detail else problem)


@dataclass(slots=True, frozen=True)
class JsValue:
    """What a codec function returned: its JavaScript type and its JSON value."""

    type: str  # "object", "array", "number", "string", "boolean", "null", "undefined", ...
    value: Any


@functools.cache
def _harness_source() -> str:
    return importlib.resources.files("lorawan.codecs").joinpath("js_harness.js").read_text("utf-8")


def _js(value: Any) -> str:
    # JSON is valid JavaScript source (ES2019 and later), so arguments travel as literals.
    return orjson.dumps(value).decode()


class _Runtime:
    """The event-loop thread and the current V8 context: what must be released at the end."""

    def __init__(self, *, name: str) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name=f"js-codec-{name}", daemon=True
        )
        self.thread.start()
        self.context: contextlib.AbstractContextManager[MiniRacer] | None = None
        self.racer: MiniRacer | None = None

    def drop_context(self) -> None:
        context, self.context, self.racer = self.context, None, None
        if context is not None:
            # Freed while our loop still runs, so V8's last callbacks find it open.
            with contextlib.suppress(Exception):
                context.__exit__(None, None, None)

    def shutdown(self) -> None:
        self.drop_context()
        if not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join()
            self.loop.close()


class JsSandbox:
    """One codec source loaded into its own limited V8 context.

    Raises :class:`SandboxFailure` from the constructor when the source does not load (syntax
    error, exception or limit reached while its top level runs).
    """

    def __init__(
        self, *, name: str, source: str, timeout_ms: float = 100.0, memory_mb: int = 64
    ) -> None:
        if timeout_ms <= 0:
            raise ValueError("timeout_ms must be positive")
        if memory_mb <= 0:
            raise ValueError("memory_mb must be positive")
        self.name = name
        self.timeout_ms = timeout_ms
        self.memory_mb = memory_mb
        self._source = source
        self._memory_bytes = memory_mb * 1024 * 1024
        self._lock = threading.Lock()
        self._runtime = _Runtime(name=name)
        self._finalizer = weakref.finalize(self, self._runtime.shutdown)
        self.functions: frozenset[str] = frozenset()
        try:
            with self._lock:
                self._start()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        """Release the V8 context and the event-loop thread; later calls fail."""
        with self._lock:
            self._finalizer()

    def __enter__(self) -> JsSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, *, function: str, args: Sequence[Any], recv_time: str | None = None) -> JsValue:
        """Call one codec function with JSON-able arguments and return what it returned.

        With ``recv_time`` (ISO 8601), ``args[0].recvTime`` becomes a JavaScript ``Date``.
        Raises :class:`SandboxFailure` when the function is missing, throws, breaks a limit
        or returns something that is not JSON.
        """
        code = f"__loracity.call({_js(function)},{_js(list(args))},{_js(recv_time)}??undefined)"
        with self._lock:
            if not self._finalizer.alive:
                raise SandboxFailure(problem="closed")
            if self._runtime.racer is None:
                self._start()
            try:
                return self._run(code, timeout_s=self.timeout_ms / 1000)
            except _Recycle:
                # The context has used up its buffer allowance over earlier calls: repeat the
                # call once in a fresh one. A single call over the limit is out of memory.
                self._start()
                try:
                    return self._run(code, timeout_s=self.timeout_ms / 1000)
                except _Recycle:
                    self._runtime.drop_context()
                    raise SandboxFailure(problem="out_of_memory") from None

    # -- internals (called with the lock held) --------------------------------------------------

    def _start(self) -> None:
        self._runtime.drop_context()
        context = mini_racer(event_loop=self._runtime.loop)
        racer = context.__enter__()
        self._runtime.context, self._runtime.racer = context, racer
        racer.set_hard_memory_limit(self._memory_bytes)
        # Loading compiles the whole source: allow more than one call's time.
        load_timeout_s = max(10 * self.timeout_ms, 500) / 1000
        exported = _js(EXPORTED_FUNCTIONS)
        install = f"({_harness_source()})(globalThis,{self._memory_bytes},{exported})"
        try:
            self._evaluate_limited(install, timeout_s=load_timeout_s)
            loaded = self._run(f"__loracity.load({_js(self._source)})", timeout_s=load_timeout_s)
        except _Recycle:
            self._runtime.drop_context()
            raise SandboxFailure(problem="out_of_memory", detail="while loading") from None
        except SandboxFailure:
            self._runtime.drop_context()
            raise
        names = loaded.value if isinstance(loaded.value, str) else ""
        self.functions = frozenset(name for name in names.split(",") if name)

    def _run(self, code: str, *, timeout_s: float) -> JsValue:
        return self._outcome(self._evaluate_limited(code, timeout_s=timeout_s))

    def _evaluate_limited(self, code: str, *, timeout_s: float) -> object:
        racer = self._runtime.racer
        assert racer is not None
        future = asyncio.run_coroutine_threadsafe(
            self._evaluate(racer, code, timeout_s), self._runtime.loop
        )
        try:
            text = future.result()
        except TimeoutError:
            self._runtime.drop_context()
            raise SandboxFailure(
                problem="timeout", detail=f"no result within {self.timeout_ms:g} ms"
            ) from None
        except JSOOMException:
            self._runtime.drop_context()
            raise SandboxFailure(
                problem="out_of_memory", detail=f"V8 heap limit of {self.memory_mb} MB"
            ) from None
        except JSEvalException as exc:
            # Only the harness runs at this level, so this is the engine giving up (a terminated
            # or broken context), not an exception the codec threw.
            self._runtime.drop_context()
            raise SandboxFailure(problem="threw", detail=_first_line(str(exc))) from None
        except Exception as exc:  # the engine's other failures (result conversion, ...)
            self._runtime.drop_context()
            raise SandboxFailure(problem="bad_result", detail=_first_line(str(exc))) from None
        return text

    @staticmethod
    async def _evaluate(racer: MiniRacer, code: str, timeout_s: float) -> object:
        async with asyncio.timeout(timeout_s):
            result = await racer.eval_cancelable(code)
            # V8 runs the promise jobs a call queued only after the call has returned; this
            # empty evaluation waits behind them, so they count towards this call's time limit
            # (and an endless promise chain is blamed on the call that started it).
            await racer.eval_cancelable("0")
            return result

    def _outcome(self, text: object) -> JsValue:
        if not isinstance(text, str):
            raise SandboxFailure(problem="bad_result", detail="the harness returned no text")
        if len(text) > MAX_RESULT_CHARS:
            raise SandboxFailure(
                problem="bad_result",
                detail=f"the result is {len(text)} characters of JSON, more than "
                f"{MAX_RESULT_CHARS}",
            )
        outcome = orjson.loads(text)
        status = outcome["status"]
        if status == "ok":
            return JsValue(type=outcome["type"], value=outcome["result"])
        if status == "recycle":
            self._runtime.drop_context()
            raise _Recycle
        if status == "out_of_memory":
            self._runtime.drop_context()
            raise SandboxFailure(
                problem="out_of_memory", detail=f"ArrayBuffer limit of {self.memory_mb} MB"
            )
        message = str(outcome.get("message", ""))
        if status == "missing":
            raise SandboxFailure(problem="missing", detail=message)
        if status == "unserialisable":
            raise SandboxFailure(problem="bad_result", detail=f"not JSON: {message}")
        raise SandboxFailure(problem="threw", detail=message)


class _Recycle(Exception):
    """The context used up its ArrayBuffer allowance over several calls."""


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown engine error"
    return line[:300]
