"""Webhooks: The Things Stack v3 and ChirpStack v4 HTTP integrations into the MQTT pipeline.

The body is the same JSON the network server publishes over MQTT, so it goes through the very
same parse → decode → store path (``lorawan.pipeline``), not a parser of its own. An answer in
2xx means the message is committed; a redelivered message is stored once and counted as a
duplicate (the frame key decides, as on MQTT); a body that cannot be used is kept as a dead
letter (topic ``webhook/ttn`` or ``webhook/chirpstack/{event}``) and answered 4xx.
"""

from __future__ import annotations

from functools import partial
from typing import Annotated, Any, Literal

import anyio.to_thread
from fastapi import APIRouter, Query, Request

from api.deps import StateDep, WriteAccess
from api.errors import ApiError, MalformedBody, PayloadTooLarge
from api.metrics import ApiMetrics
from api.responses import JsonResponse
from api.webhook_sink import WebhookOutcome
from lorawan.batch import DeadLetter

router = APIRouter(prefix="/v1", tags=["webhooks"])

#: ChirpStack events stored, as on MQTT (the default topics): uplinks, joins, device status.
CHIRPSTACK_INGESTED = frozenset({"up", "join", "status"})

ChirpStackEvent = Literal["up", "join", "status", "ack", "txack", "log", "location", "integration"]

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Committed (or recognised as a duplicate of a stored message)",
        "content": {
            "application/json": {
                "example": {
                    "stored": 1,
                    "duplicates": 0,
                    "events": 0,
                    "measurements": 3,
                    "dead_letters": 0,
                }
            }
        },
    },
    400: {"description": "Malformed body; it was kept as a dead letter with the reason"},
    401: {"description": "No key or an invalid key"},
    403: {"description": "The key's role cannot write"},
    413: {"description": "Body larger than LORACITY_MAX_MESSAGE_BYTES"},
    503: {"description": "Database unavailable: nothing stored, retry later"},
}


def _body_doc(example: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "description": example,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }


@router.post(
    "/ingest/ttn",
    summary="The Things Stack v3 webhook (uplink and join messages)",
    responses=_RESPONSES,
    openapi_extra=_body_doc(
        "The message as The Things Stack sends it (the same JSON as on its MQTT server): "
        "an uplink (`uplink_message`) or a join (`join_accept`)."
    ),
)
async def ttn_webhook(request: Request, state: StateDep, _: WriteAccess) -> JsonResponse:
    """Store one TTN v3 webhook message. Point a TTN webhook (JSON format) at this URL with
    the enabled messages *Uplink message* and *Join accept*, and an additional header
    `X-API-Key: <write key>` (or `Authorization: Bearer <write key>`)."""
    return await _ingest(request=request, state=state, source="ttn", topic="webhook/ttn")


@router.post(
    "/ingest/chirpstack",
    summary="ChirpStack v4 HTTP integration (up, join and status events)",
    responses=_RESPONSES,
    openapi_extra=_body_doc(
        "The event as ChirpStack v4's HTTP integration posts it (JSON marshaler)."
    ),
)
async def chirpstack_webhook(
    request: Request,
    state: StateDep,
    _: WriteAccess,
    event: Annotated[
        ChirpStackEvent,
        Query(
            description="The event type; ChirpStack adds it to the URL. `up`, `join` and "
            "`status` are stored; the other events are acknowledged and not stored (as on "
            "MQTT, where loracity subscribes to those three)."
        ),
    ],
) -> JsonResponse:
    """Store one ChirpStack v4 event. Set the HTTP integration's endpoint to this URL, the
    payload encoding to JSON, and a header `Authorization: Bearer <write key>`."""
    if event not in CHIRPSTACK_INGESTED:
        _metrics(request).webhook_messages.labels("chirpstack", "ignored").inc()
        return JsonResponse({"stored": 0, "ignored": f"event {event!r} is not stored"})
    return await _ingest(
        request=request, state=state, source="chirpstack", topic=f"webhook/chirpstack/{event}"
    )


def _metrics(request: Request) -> ApiMetrics:
    metrics: ApiMetrics = request.app.state.metrics
    return metrics


async def _ingest(*, request: Request, state: StateDep, source: str, topic: str) -> JsonResponse:
    sink = state.webhooks
    if sink is None:  # pragma: no cover - the lifespan always builds it
        raise ApiError("webhooks are not available in this process")
    limit = state.settings.max_message_bytes
    body, size = await _read_limited(request=request, limit=limit)
    counter = _metrics(request).webhook_messages
    if size > limit:
        letter = DeadLetter(
            topic=topic,
            payload=body,
            size=size,
            reason="oversized",
            detail=f"webhook body is {size} bytes, the limit is {limit}"
            " (LORACITY_MAX_MESSAGE_BYTES); only the first bytes are kept",
        )
        await anyio.to_thread.run_sync(partial(sink.dead_letter, letter=letter))
        counter.labels(source, "dead_letter").inc()
        raise PayloadTooLarge(
            f"the body is {size} bytes; this server accepts at most {limit} bytes per message "
            "(LORACITY_MAX_MESSAGE_BYTES)"
        )
    outcome: WebhookOutcome = await anyio.to_thread.run_sync(
        partial(sink.write, topic=topic, body=body)
    )
    result = outcome.result
    if outcome.rejected is not None:
        counter.labels(source, "dead_letter").inc()
        raise MalformedBody(
            f"not stored ({outcome.rejected.reason}): {outcome.rejected.detail}; the message "
            "was kept as a dead letter"
        )
    duplicates = result.duplicates + result.event_duplicates
    counter.labels(source, "duplicate" if duplicates else "stored").inc()
    return JsonResponse(
        {
            "stored": result.stored + result.events,
            "duplicates": duplicates,
            "events": result.events,
            "measurements": result.measurements,
            "dead_letters": result.dead_letters,
        }
    )


async def _read_limited(*, request: Request, limit: int) -> tuple[bytes, int]:
    """The body, but never more than ``limit`` bytes of it in memory; and its full size.

    A declared Content-Length over the limit is believed without reading the rest.
    """
    declared = request.headers.get("content-length")
    declared_size = int(declared) if declared and declared.isdigit() else None
    chunks: list[bytes] = []
    kept = 0
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if kept < limit:
            part = chunk[: limit - kept]
            chunks.append(part)
            kept += len(part)
        if size > limit and declared_size is not None:
            break  # the declared size is the size; no need to read the rest
    if declared_size is not None and declared_size > size:
        size = declared_size
    return b"".join(chunks), size
