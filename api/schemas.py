"""Response models, named by role (``QuantityPublic``, ``DevicePublic``, ...).

Small and list responses use these; long series are serialised without per-row models.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class QuantityPublic(BaseModel):
    """One entry of the quantity vocabulary."""

    name: str = Field(examples=["co2"])
    unit: str = Field(description="UCUM unit code", examples=["ppm"])
    description: str = Field(examples=["carbon dioxide concentration"])
    kind: str = Field(
        description="gauge (a reading), interval (a count per interval) or counter (a "
        "cumulative device total)",
        examples=["gauge"],
    )
