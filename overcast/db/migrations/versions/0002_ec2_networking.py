"""EC2 networking: default VPC and subnets, security groups and rules, instance attributes
and metadata options

Revision ID: 0002_ec2_networking
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_ec2_networking"
down_revision = "0001"
branch_labels = None
depends_on = None

ID = sa.String(length=32)
NOW = sa.DateTime(timezone=True)


def _instance_columns() -> list[sa.Column]:
    return [
        sa.Column("subnet_id", ID, nullable=True),
        sa.Column("vpc_id", ID, nullable=True),
        sa.Column("disable_api_termination", sa.Boolean(), nullable=False,
                  server_default=sa.false()),
        sa.Column("disable_api_stop", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("shutdown_behavior", sa.String(length=16), nullable=False,
                  server_default="stop"),
        sa.Column("source_dest_check", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("metadata_http_tokens", sa.String(length=16), nullable=False,
                  server_default="optional"),
        sa.Column("metadata_http_endpoint", sa.String(length=16), nullable=False,
                  server_default="enabled"),
        sa.Column("metadata_hop_limit", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("metadata_instance_tags", sa.String(length=16), nullable=False,
                  server_default="disabled"),
    ]


def upgrade() -> None:
    op.create_table(
        "vpcs",
        sa.Column("id", ID, primary_key=True),
        sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False, index=True),
        sa.Column("cidr_block", sa.String(length=64), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
    )
    op.create_table(
        "subnets",
        sa.Column("id", ID, primary_key=True),
        sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False, index=True),
        sa.Column("vpc_id", ID, sa.ForeignKey("vpcs.id"), nullable=False, index=True),
        sa.Column("cidr_block", sa.String(length=64), nullable=False),
        sa.Column("availability_zone", sa.String(length=64), nullable=False),
        sa.Column("default_for_az", sa.Boolean(), nullable=False),
        sa.Column("map_public_ip_on_launch", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
    )
    op.create_table(
        "security_groups",
        sa.Column("id", ID, primary_key=True),
        sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False, index=True),
        sa.Column("vpc_id", ID, sa.ForeignKey("vpcs.id"), nullable=False, index=True),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
        sa.UniqueConstraint("vpc_id", "name"),
    )
    op.create_table(
        "security_group_rules",
        sa.Column("id", ID, primary_key=True),
        sa.Column("group_id", ID, sa.ForeignKey("security_groups.id"), nullable=False,
                  index=True),
        sa.Column("project_id", ID, sa.ForeignKey("projects.id"), nullable=False, index=True),
        sa.Column("is_egress", sa.Boolean(), nullable=False),
        sa.Column("protocol", sa.String(length=16), nullable=False),
        sa.Column("from_port", sa.Integer(), nullable=False),
        sa.Column("to_port", sa.Integer(), nullable=False),
        sa.Column("cidr_ipv4", sa.String(length=64), nullable=True),
        sa.Column("cidr_ipv6", sa.String(length=64), nullable=True),
        sa.Column("source_group_id", ID, sa.ForeignKey("security_groups.id"), nullable=True,
                  index=True),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("created_at", NOW, nullable=False),
    )
    op.create_table(
        "instance_security_groups",
        sa.Column("instance_id", ID, sa.ForeignKey("instances.id"), primary_key=True),
        sa.Column("group_id", ID, sa.ForeignKey("security_groups.id"), primary_key=True,
                  index=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    with op.batch_alter_table("instances") as batch:
        for column in _instance_columns():
            batch.add_column(column)
        batch.create_index("ix_instances_subnet_id", ["subnet_id"])


def downgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.drop_index("ix_instances_subnet_id")
        for column in _instance_columns():
            batch.drop_column(column.name)
    for table in ("instance_security_groups", "security_group_rules", "security_groups",
                  "subnets", "vpcs"):
        op.drop_table(table)
