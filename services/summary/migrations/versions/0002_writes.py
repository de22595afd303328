"""Writes from source systems: source ids on services and measurements, who measured,
pregnancy, the SpO2 scale used per measurement and the clinician's scale settings as history.

Before this revision only the seed wrote, so existing rows get the seed's source keys, and a
patient's scale 2 becomes a setting whose clinician was not recorded.

Revision ID: 0002
Revises: 0001
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from services.platform.db import UtcDateTime

UNRECORDED = "(not recorded before revision 0002)"

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.create_table(
        "spo2_scale_settings",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("patient_id", sa.String(11), sa.ForeignKey("patients.pid"), nullable=False, index=True),
        sa.Column("scale", sa.Integer, nullable=False),
        sa.Column("set_by_hpr", sa.String(9), nullable=False),
        sa.Column("set_by_name", sa.String(200), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("scale IN (1, 2)", name="ck_spo2_scale_settings_scale"),
    )
    bind = op.get_bind()
    settings = sa.table(
        "spo2_scale_settings",
        sa.column("patient_id", sa.String),
        sa.column("scale", sa.Integer),
        sa.column("set_by_hpr", sa.String),
        sa.column("set_by_name", sa.String),
        sa.column("set_at", UtcDateTime),
    )
    migrated_at = datetime.now(UTC)
    for (pid,) in bind.execute(sa.text("SELECT pid FROM patients WHERE spo2_scale = 2")).all():
        bind.execute(
            settings.insert().values(patient_id=pid, scale=2, set_by_hpr="", set_by_name=UNRECORDED, set_at=migrated_at)
        )

    with op.batch_alter_table("vital_signs") as batch:
        batch.drop_constraint("uq_vital_signs_patient_time", type_="unique")
        batch.add_column(sa.Column("spo2_scale", sa.Integer, nullable=False, server_default="1"))
        batch.add_column(sa.Column("pregnant", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("measured_by_hpr", sa.String(9), nullable=True))
        batch.add_column(sa.Column("measured_by_name", sa.String(200), nullable=True))
        batch.add_column(sa.Column("source_system", sa.String(64), nullable=False, server_default="seed"))
        batch.add_column(sa.Column("source_record_id", sa.String(64), nullable=False, server_default=""))
    # Each measurement keeps the scale it was scored with: its patient's, until now.
    op.execute(
        "UPDATE vital_signs SET spo2_scale = 2 WHERE patient_id IN (SELECT pid FROM patients WHERE spo2_scale = 2)"
    )
    # The seed's key of a measurement: the patient and the UTC time (a copy of seed.measurement_key
    # as it is at this revision, so later changes to the seed cannot change this migration).
    signs = sa.table(
        "vital_signs",
        sa.column("id", sa.Integer),
        sa.column("patient_id", sa.String),
        sa.column("measured_at", UtcDateTime),
        sa.column("source_record_id", sa.String),
    )
    for row in bind.execute(sa.select(signs.c.id, signs.c.patient_id, signs.c.measured_at)).all():
        at = row.measured_at.astimezone(UTC)
        key = f"{row.patient_id}-{at:%Y-%m-%dT%H:%M:%S}{f'.{at.microsecond:06d}' if at.microsecond else ''}Z"
        bind.execute(signs.update().where(signs.c.id == row.id).values(source_record_id=key))
    with op.batch_alter_table("vital_signs") as batch:
        for column in ("spo2_scale", "pregnant", "source_system", "source_record_id"):
            batch.alter_column(column, server_default=None)
        batch.create_unique_constraint("uq_vital_signs_source", ["source_system", "source_record_id"])
        batch.create_index("ix_vital_signs_patient_id", ["patient_id"])

    with op.batch_alter_table("municipal_services") as batch:
        batch.add_column(sa.Column("source_system", sa.String(64), nullable=False, server_default="seed"))
        batch.add_column(sa.Column("source_record_id", sa.String(64), nullable=False, server_default=""))
    op.execute("UPDATE municipal_services SET source_record_id = service_id WHERE source_record_id = ''")
    with op.batch_alter_table("municipal_services") as batch:
        batch.alter_column("source_system", server_default=None)
        batch.alter_column("source_record_id", server_default=None)
        batch.create_unique_constraint("uq_municipal_services_source", ["source_system", "source_record_id"])

    with op.batch_alter_table("patients") as batch:
        batch.drop_constraint("ck_patients_spo2_scale", type_="check")
        batch.drop_column("spo2_scale")


def downgrade() -> None:
    with op.batch_alter_table("vital_signs") as batch:
        batch.drop_index("ix_vital_signs_patient_id")
        batch.drop_constraint("uq_vital_signs_source", type_="unique")
        for column in (
            "source_record_id",
            "source_system",
            "measured_by_name",
            "measured_by_hpr",
            "pregnant",
            "spo2_scale",
        ):
            batch.drop_column(column)
        batch.create_unique_constraint("uq_vital_signs_patient_time", ["patient_id", "measured_at"])
    with op.batch_alter_table("municipal_services") as batch:
        batch.drop_constraint("uq_municipal_services_source", type_="unique")
        batch.drop_column("source_record_id")
        batch.drop_column("source_system")
    with op.batch_alter_table("patients") as batch:
        batch.add_column(sa.Column("spo2_scale", sa.Integer, nullable=False, server_default="1"))
        batch.create_check_constraint("ck_patients_spo2_scale", "spo2_scale IN (1, 2)")
    # The scale in force (the latest setting) goes back onto the patient.
    op.execute(
        "UPDATE patients SET spo2_scale = (SELECT s.scale FROM spo2_scale_settings s WHERE s.patient_id = patients.pid"
        " ORDER BY s.id DESC LIMIT 1) WHERE pid IN (SELECT patient_id FROM spo2_scale_settings)"
    )
    op.drop_table("spo2_scale_settings")
