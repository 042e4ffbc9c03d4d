"""covering indexes for what every launch sums: each host's usage, each project's quota use

Revision ID: 0008_usage_indexes
Revises: 0007_instance_user
"""

from alembic import op

revision = "0008_usage_indexes"
down_revision = "0007_instance_user"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_instances_usage_by_state", "instances",
                    ["state", "host_id", "vcpus", "memory_mib", "disk_gib"])
    op.create_index("ix_instances_project_usage", "instances", ["project_id", "state", "vcpus"])


def downgrade() -> None:
    op.drop_index("ix_instances_project_usage", "instances")
    op.drop_index("ix_instances_usage_by_state", "instances")
