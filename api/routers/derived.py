"""Re-deriving values after a device setting changed (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import AdminAccess, ConnDep
from api.errors import BadRequest, NotFound
from api.responses import JsonResponse
from storage.derived import rederive_water_level
from storage.devices import canonical_dev_eui

router = APIRouter(prefix="/v1", tags=["devices"])


@router.post(
    "/devices/{dev_eui}/rederive",
    summary="Recompute derived values (water level) from the stored readings (admin key)",
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "dev_eui": "a84041000181c5d1",
                        "mounting_height": 4.2,
                        "frames": 8640,
                        "water_level_written": 8640,
                    }
                }
            }
        },
        404: {"description": "No such device"},
    },
)
async def rederive(
    conn: ConnDep,
    _: AdminAccess,
    dev_eui: Annotated[str, Path(description="16 hex characters")],
) -> JsonResponse:
    """Ingest stores `water_level = mounting_height - distance` for a device with a mounting
    height. After the height changed (or was set for the first time), call this to replace
    the stored water levels at every stored distance reading with the ones the current height
    gives; with the height removed, the derived water levels are deleted. One transaction."""
    try:
        eui = canonical_dev_eui(dev_eui)
    except ValueError as exc:
        raise BadRequest(f"dev_eui: {exc}") from exc
    result = await rederive_water_level(conn=conn, dev_eui=eui)
    if result is None:
        raise NotFound(f"no device {eui}")
    return JsonResponse(
        {
            "dev_eui": eui,
            "mounting_height": result.mounting_height,
            "frames": result.frames,
            "water_level_written": result.written,
        }
    )
