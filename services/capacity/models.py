"""Tables of the capacity service."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from services.platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class UnitRow(Base):
    __tablename__ = "units"

    unit_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    unit_type: Mapped[str] = mapped_column(String(40))
    orgnr: Mapped[str] = mapped_column(String(9))
    # The legal entity owning the unit; only its systems may report the unit's capacity.
    owner_orgnr: Mapped[str] = mapped_column(String(9))
    municipality_number: Mapped[str] = mapped_column(String(4), index=True)
    region: Mapped[str] = mapped_column(String(100), index=True)
    resources: Mapped[list[ResourceRow]] = relationship(
        back_populates="unit", order_by="ResourceRow.resource_type", lazy="selectin"
    )


class ResourceRow(Base):
    __tablename__ = "resources"

    unit_id: Mapped[str] = mapped_column(ForeignKey("units.unit_id"), primary_key=True)
    resource_type: Mapped[str] = mapped_column(String(40), primary_key=True)
    total: Mapped[int] = mapped_column(Integer)
    available: Mapped[int] = mapped_column(Integer)
    occupied: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(String(500), default="")
    reported_at: Mapped[datetime] = mapped_column(UtcDateTime)
    reported_by: Mapped[str] = mapped_column(String(100), default="")
    unit: Mapped[UnitRow] = relationship(back_populates="resources")
