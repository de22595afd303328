"""IPLOS codes (code list 9151) as the code list writes them: unpadded ("6", not "06").

Rows written before this revision hold the zero-padded form the API then asked for; they are
rewritten to the official form, so what is stored, answered and exported is the one form.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"

_PADDED = ", ".join(f"'0{n}'" for n in range(1, 10))


def upgrade() -> None:
    op.execute(f"UPDATE municipal_services SET iplos_code = substr(iplos_code, 2) WHERE iplos_code IN ({_PADDED})")


def downgrade() -> None:
    op.execute("UPDATE municipal_services SET iplos_code = '0' || iplos_code WHERE length(iplos_code) = 1")
