"""VPC attributes (DNS support and hostnames, network address usage metrics) and EC2 launch
templates with their numbered versions

Revision ID: 0801_clients
Revises: 0009_instance_type_driver
"""

import sqlalchemy as sa
from alembic import op

revision = "0801_clients"
down_revision = "0009_instance_type_driver"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vpcs") as batch:
        batch.add_column(sa.Column("enable_dns_support", sa.Boolean(), nullable=False,
                                   server_default=sa.true()))
        batch.add_column(sa.Column("enable_dns_hostnames", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column("enable_network_address_usage_metrics", sa.Boolean(),
                                   nullable=False, server_default=sa.false()))
    # AWS turns DNS hostnames on in default VPCs only
    vpcs = sa.table("vpcs", sa.column("is_default", sa.Boolean()),
                    sa.column("enable_dns_hostnames", sa.Boolean()))
    op.execute(vpcs.update().where(vpcs.c.is_default == sa.true())
               .values(enable_dns_hostnames=True))
    op.create_table(
        "launch_templates",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("projects.id"), nullable=False,
                  index=True),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("default_version", sa.Integer(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("project_id", "name", name="uq_launch_templates_project_name"))
    op.create_table(
        "launch_template_versions",
        sa.Column("template_id", sa.String(32),
                  sa.ForeignKey("launch_templates.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("version", sa.Integer(), primary_key=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),  # LaunchTemplateData as JSON
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False))


def downgrade() -> None:
    op.drop_table("launch_template_versions")
    op.drop_table("launch_templates")
    with op.batch_alter_table("vpcs") as batch:
        batch.drop_column("enable_network_address_usage_metrics")
        batch.drop_column("enable_dns_hostnames")
        batch.drop_column("enable_dns_support")
