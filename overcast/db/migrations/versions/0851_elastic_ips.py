"""Elastic IP addresses, and a per-project limit on them

Revision ID: 0851_elastic_ips
Revises: 0009_instance_type_driver
"""

import sqlalchemy as sa
from alembic import op

revision = "0851_elastic_ips"
down_revision = "0009_instance_type_driver"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "elastic_ips",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("projects.id"), nullable=False,
                  index=True),
        sa.Column("public_ip", sa.String(64), nullable=False, unique=True),
        sa.Column("domain", sa.String(16), nullable=False, server_default="vpc"),
        sa.Column("association_id", sa.String(32), nullable=True, unique=True),
        sa.Column("instance_id", sa.String(32), sa.ForeignKey("instances.id"), nullable=True,
                  index=True),
        sa.Column("network_interface_id", sa.String(32), nullable=True, index=True),
        sa.Column("private_ip", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("max_elastic_ips", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("max_elastic_ips")
    op.drop_table("elastic_ips")
