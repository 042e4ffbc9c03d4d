"""Nova's server locks and instance actions (server events)

Revision ID: 0931_nova_actions
Revises: 0009_instance_type_driver
"""

import sqlalchemy as sa
from alembic import op

revision = "0931_nova_actions"
down_revision = "0009_instance_type_driver"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("locked_by", sa.String(16), nullable=True))
        batch.add_column(sa.Column("locked_reason", sa.Text(), nullable=True))
    op.create_table(
        "instance_actions",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("instance_id", sa.String(32), sa.ForeignKey("instances.id",
                                                              ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("request_id", sa.String(64), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=True),
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("start_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finish_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.String(16), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("instance_actions")
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("locked_reason")
        batch.drop_column("locked_by")
