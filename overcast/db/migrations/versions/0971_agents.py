"""Join tokens and per-host credentials of `overcast agent` processes on other hosts

Revision ID: 0971_agents
Revises: 0961_routes
"""

import sqlalchemy as sa
from alembic import op

revision = "0971_agents"
down_revision = "0961_routes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "host_join_tokens",
        sa.Column("token_hash", sa.String(64), primary_key=True),
        sa.Column("host_name", sa.String(255), nullable=False, index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "host_credentials",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("host_name", sa.String(255), nullable=False, unique=True),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("host_credentials")
    op.drop_table("host_join_tokens")
