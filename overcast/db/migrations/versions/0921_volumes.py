"""EBS volumes, their attachments and snapshots, and per-project limits on volumes

Revision ID: 0921_volumes
Revises: 0851_elastic_ips
"""

import sqlalchemy as sa
from alembic import op

revision = "0921_volumes"
down_revision = "0851_elastic_ips"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "volumes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("projects.id"), nullable=False,
                  index=True),
        sa.Column("availability_zone", sa.String(64), nullable=False),
        sa.Column("size_gib", sa.Integer(), nullable=False),
        sa.Column("volume_type", sa.String(16), nullable=False),
        sa.Column("iops", sa.Integer(), nullable=True),
        sa.Column("throughput", sa.Integer(), nullable=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("state_reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("snapshot_id", sa.String(32), nullable=False, server_default=""),
        sa.Column("encrypted", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=True,
                  index=True),
        sa.Column("backend", sa.String(16), nullable=False, server_default="local"),
        sa.Column("backing_path", sa.Text(), nullable=False, server_default=""),
        sa.Column("provisioned_bytes", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("original_size_gib", sa.Integer(), nullable=True),
        sa.Column("original_type", sa.String(16), nullable=True),
    )
    op.create_table(
        "volume_attachments",
        sa.Column("volume_id", sa.String(32), sa.ForeignKey("volumes.id"), primary_key=True),
        sa.Column("instance_id", sa.String(32), sa.ForeignKey("instances.id"),
                  nullable=False, index=True),
        sa.Column("device", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("delete_on_termination", sa.Boolean(), nullable=False,
                  server_default=sa.false()),
        sa.Column("force", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("error", sa.Text(), nullable=False, server_default=""),
        sa.Column("attach_time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "volume_snapshots",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("projects.id"), nullable=False,
                  index=True),
        sa.Column("volume_id", sa.String(32), nullable=False, index=True),
        sa.Column("volume_size", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=""),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("state_message", sa.Text(), nullable=False, server_default=""),
        sa.Column("host_id", sa.String(32), sa.ForeignKey("hosts.id"), nullable=True,
                  index=True),
        sa.Column("backing_path", sa.Text(), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("max_volumes", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("max_volume_gib", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("max_volume_gib")
        batch.drop_column("max_volumes")
    op.drop_table("volume_snapshots")
    op.drop_table("volume_attachments")
    op.drop_table("volumes")
