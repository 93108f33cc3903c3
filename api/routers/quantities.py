"""The quantity vocabulary."""

from __future__ import annotations

from fastapi import APIRouter

from api.schemas import QuantityPublic
from lorawan.quantities import QUANTITIES

router = APIRouter(prefix="/v1", tags=["quantities"])


@router.get(
    "/quantities",
    summary="The quantity vocabulary",
    response_model=list[QuantityPublic],
)
async def list_quantities() -> list[QuantityPublic]:
    """Every quantity a measurement can have, with its UCUM unit and a plain description."""
    return [
        QuantityPublic(name=q.name, unit=q.unit, description=q.description, kind=q.kind)
        for q in QUANTITIES.values()
    ]
