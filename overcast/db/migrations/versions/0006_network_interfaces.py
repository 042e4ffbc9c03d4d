"""network interfaces made by CreateNetworkInterface

Revision ID: 0006_network_interfaces
Revises: 0002_ec2_networking
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_network_interfaces"
down_revision = "0002_ec2_networking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "network_interfaces",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("projects.id"), nullable=False,
                  index=True),
        sa.Column("subnet_id", sa.String(32), sa.ForeignKey("subnets.id"), nullable=False),
        sa.Column("vpc_id", sa.String(32), nullable=False),
        sa.Column("private_ip", sa.String(64), nullable=False),
        sa.Column("mac_address", sa.String(32), nullable=False),
        sa.Column("description", sa.String(255), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_network_interfaces_subnet_ip", "network_interfaces",
                    ["subnet_id", "private_ip"])


def downgrade() -> None:
    op.drop_table("network_interfaces")
