"""NAT gateways, and routes that name one; leases of public addresses (one for each Elastic IP
allocated so far)

Revision ID: 0995_nat_gateways
Revises: 0961_routes (and needs 0851_elastic_ips)
"""

import sqlalchemy as sa
from alembic import op

revision = "0995_nat_gateways"
down_revision = "0961_routes"
branch_labels = None
depends_on = "0851_elastic_ips"  # the leases copy its addresses


def upgrade() -> None:
    op.create_table(
        "nat_gateways",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("projects.id"), nullable=False,
                  index=True),
        sa.Column("vpc_id", sa.String(32), nullable=False, index=True),
        sa.Column("subnet_id", sa.String(32), nullable=False),
        sa.Column("allocation_id", sa.String(32), nullable=True),
        sa.Column("public_ip", sa.String(64), nullable=True),
        sa.Column("network_interface_id", sa.String(32), nullable=False),
        sa.Column("private_ip", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
    )
    with op.batch_alter_table("routes") as batch:
        batch.add_column(sa.Column("nat_gateway_id", sa.String(32), nullable=True))
    leases = op.create_table(
        "public_address_leases",
        sa.Column("public_ip", sa.String(64), primary_key=True),
        sa.Column("allocation_id", sa.String(32), nullable=True, index=True),
        sa.Column("instance_id", sa.String(32), nullable=True, index=True),
    )
    eips = sa.table("elastic_ips", sa.column("id"), sa.column("public_ip"))
    bind = op.get_bind()
    rows = bind.execute(sa.select(eips.c.id, eips.c.public_ip)).all()
    if rows:
        bind.execute(leases.insert(), [{"public_ip": ip, "allocation_id": allocation_id}
                                       for allocation_id, ip in rows])


def downgrade() -> None:
    op.drop_table("public_address_leases")
    with op.batch_alter_table("routes") as batch:
        batch.drop_column("nat_gateway_id")
    op.drop_table("nat_gateways")
