"""burst targets

Revision ID: 0201_burst
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0201_burst"
down_revision = "0001"
branch_labels = None
depends_on = None

def target_column() -> sa.Column:
    return sa.Column("target_id", sa.String(32), sa.ForeignKey("burst_targets.id"), primary_key=True)


def upgrade() -> None:
    op.create_table(
        "burst_cloud_id",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "burst_targets",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
        sa.Column("access_key_id", sa.String(128), nullable=False),
        sa.Column("secret_encrypted", sa.LargeBinary(), nullable=False),
        sa.Column("max_instances", sa.Integer(), nullable=True),
        sa.Column("max_vcpus", sa.Integer(), nullable=True),
        sa.Column("zone", sa.String(64), nullable=False, unique=True),
        sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=False,
                  unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_contact", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error_count", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_table(
        "burst_projects",
        target_column(),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("projects.id"), primary_key=True),
    )
    op.create_table(
        "burst_images",
        target_column(),
        sa.Column("local_image_id", sa.String(32), primary_key=True),
        sa.Column("remote_image_id", sa.String(64), nullable=False),
    )
    op.create_table(
        "burst_instance_types",
        target_column(),
        sa.Column("local_type", sa.String(64), primary_key=True),
        sa.Column("remote_type", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    for table in ("burst_instance_types", "burst_images", "burst_projects", "burst_targets",
                  "burst_cloud_id"):
        op.drop_table(table)
