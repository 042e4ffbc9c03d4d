"""Cinder's names for volumes and snapshots: each gets a UUID beside its vol-/snap- ID (as
instances do), and a volume a description

Revision ID: 0975_cinder_ids
Revises: 0921_volumes
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0975_cinder_ids"
down_revision = "0921_volumes"
branch_labels = None
depends_on = None


def _backfill(table: str) -> None:
    rows = sa.table(table, sa.column("id", sa.String), sa.column("uuid", sa.String))
    connection = op.get_bind()
    for (row_id,) in connection.execute(sa.select(rows.c.id)).all():
        connection.execute(rows.update().where(rows.c.id == row_id)
                           .values(uuid=str(uuid.uuid4())))


def upgrade() -> None:
    with op.batch_alter_table("volumes") as batch:
        batch.add_column(sa.Column("uuid", sa.String(36), nullable=True))
        batch.add_column(sa.Column("description", sa.Text(), nullable=True))
        batch.create_index("ix_volumes_uuid", ["uuid"], unique=True)
    with op.batch_alter_table("volume_snapshots") as batch:
        batch.add_column(sa.Column("uuid", sa.String(36), nullable=True))
        batch.create_index("ix_volume_snapshots_uuid", ["uuid"], unique=True)
    _backfill("volumes")
    _backfill("volume_snapshots")


def downgrade() -> None:
    with op.batch_alter_table("volume_snapshots") as batch:
        batch.drop_index("ix_volume_snapshots_uuid")
        batch.drop_column("uuid")
    with op.batch_alter_table("volumes") as batch:
        batch.drop_index("ix_volumes_uuid")
        batch.drop_column("description")
        batch.drop_column("uuid")
