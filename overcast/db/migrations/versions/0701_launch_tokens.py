"""one launch per client token (unique on the first instance of each launch, with a digest of
the request) and per-project image quotas

Revision ID: 0701_launch_tokens
Revises: 0009_instance_type_driver
"""

import sqlalchemy as sa
from alembic import op

revision = "0701_launch_tokens"
down_revision = "0009_instance_type_driver"
branch_labels = None
depends_on = None

FIRST_OF_LAUNCH = sa.text("launch_index = 0")
# Launches that a race duplicated before the index existed: every reservation but the first
# of each (project, token) lets go of the token, so the index can be built; they stay.
_RELEASE_DUPLICATES = sa.text(
    "UPDATE instances SET client_token = NULL WHERE client_token IS NOT NULL AND "
    "reservation_id NOT IN (SELECT MIN(reservation_id) FROM instances "
    "WHERE client_token IS NOT NULL GROUP BY project_id, client_token)")


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("launch_digest", sa.String(64), nullable=True))
    with op.batch_alter_table("projects") as batch:
        batch.add_column(sa.Column("max_images", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("max_image_bytes", sa.BigInteger(), nullable=True))
    op.execute(_RELEASE_DUPLICATES)
    op.create_index("uq_instances_project_token_launch", "instances",
                    ["project_id", "client_token"], unique=True,
                    sqlite_where=FIRST_OF_LAUNCH, postgresql_where=FIRST_OF_LAUNCH)


def downgrade() -> None:
    op.drop_index("uq_instances_project_token_launch", "instances")
    with op.batch_alter_table("projects") as batch:
        batch.drop_column("max_image_bytes")
        batch.drop_column("max_images")
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("launch_digest")
