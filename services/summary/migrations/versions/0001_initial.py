"""Patients, their municipal services (OKT) and vital signs.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("pid", sa.String(11), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("municipality_number", sa.String(4), nullable=False),
        sa.Column("spo2_scale", sa.Integer, nullable=False),
        sa.CheckConstraint("spo2_scale IN (1, 2)", name="ck_patients_spo2_scale"),
    )
    op.create_table(
        "municipal_services",
        sa.Column("service_id", sa.String(64), primary_key=True),
        sa.Column("patient_id", sa.String(11), sa.ForeignKey("patients.pid"), nullable=False, index=True),
        sa.Column("iplos_code", sa.String(2), nullable=False),
        sa.Column("start_date", sa.Date, nullable=False),
        sa.Column("end_date", sa.Date, nullable=True),
        sa.Column("service_level", sa.String(200), nullable=False),
        sa.Column("stay_type", sa.String(20), nullable=True),
        sa.Column("weekly_extent", sa.String(100), nullable=False),
        sa.Column("temporarily_ceased", sa.Boolean, nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("provider_orgnr", sa.String(9), nullable=False),
    )
    op.create_table(
        "vital_signs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("patient_id", sa.String(11), sa.ForeignKey("patients.pid"), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("respiration_rate", sa.Integer, nullable=False),
        sa.Column("spo2", sa.Integer, nullable=False),
        sa.Column("on_oxygen", sa.Boolean, nullable=False),
        sa.Column("systolic_bp", sa.Integer, nullable=False),
        sa.Column("pulse", sa.Integer, nullable=False),
        sa.Column("consciousness", sa.String(20), nullable=False),
        sa.Column("temperature", sa.Float, nullable=False),
        sa.UniqueConstraint("patient_id", "measured_at", name="uq_vital_signs_patient_time"),
    )


def downgrade() -> None:
    op.drop_table("vital_signs")
    op.drop_table("municipal_services")
    op.drop_table("patients")
