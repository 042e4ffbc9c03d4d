"""indexes for the hot reads: a host's recently changed instances, the addresses in use, a
launch's client token

Revision ID: 0005_instance_host_indexes
Revises: 0002_ec2_networking
"""

from alembic import op

revision = "0005_instance_host_indexes"
down_revision = "0002_ec2_networking"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_instances_host_updated", "instances", ["host_id", "updated_at"])
    op.create_index("ix_instances_host_public_ip", "instances", ["host_id", "public_ip"])
    op.create_index("ix_instances_subnet_private_ip", "instances", ["subnet_id", "private_ip"])
    # boto3 sends a ClientToken with every RunInstances: the earlier launch is looked up
    op.create_index("ix_instances_project_token", "instances", ["project_id", "client_token"])


def downgrade() -> None:
    op.drop_index("ix_instances_project_token", "instances")
    op.drop_index("ix_instances_subnet_private_ip", "instances")
    op.drop_index("ix_instances_host_public_ip", "instances")
    op.drop_index("ix_instances_host_updated", "instances")
