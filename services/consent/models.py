"""Tables of the consent service."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.platform.db import UtcDateTime


class Base(DeclarativeBase):
    pass


class RuleRow(Base):
    """One sharing rule. Rows are never deleted: revoking sets revoked_at, so the patient's
    history of rules stays visible."""

    __tablename__ = "rules"

    rule_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(11), index=True)
    rule_type: Mapped[str] = mapped_column(String(20))
    categories: Mapped[str] = mapped_column(String(200), default="")  # comma separated names; empty: all
    hpr_number: Mapped[str] = mapped_column(String(9), default="")
    org_number: Mapped[str] = mapped_column(String(9), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
