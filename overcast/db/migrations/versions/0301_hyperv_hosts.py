"""Hyper-V hosts reached over PowerShell remoting

Revision ID: 0301_hyperv_hosts
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0301_hyperv_hosts"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "hyperv_hosts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(255), nullable=False),
        sa.Column("password_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("auth", sa.String(16), nullable=False),
        sa.Column("cert_validation", sa.Boolean(), nullable=False),
        sa.Column("vm_path", sa.Text(), nullable=False),
        sa.Column("switch_name", sa.String(255), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("hyperv_hosts")
