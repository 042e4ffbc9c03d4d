"""Kernel networking: each VPC's VXLAN network identifier, and each host's network mode and
underlay address

Revision ID: 0941_kernel_network
Revises: 0801_clients
"""

import sqlalchemy as sa
from alembic import op

revision = "0941_kernel_network"
down_revision = "0801_clients"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vpcs") as batch:
        batch.add_column(sa.Column("vni", sa.Integer(), nullable=True))
        batch.create_unique_constraint("uq_vpcs_vni", ["vni"])
    vpcs = sa.table("vpcs", sa.column("id", sa.String()), sa.column("vni", sa.Integer()))
    connection = op.get_bind()
    ids = connection.execute(sa.select(vpcs.c.id).order_by(vpcs.c.id)).scalars().all()
    for number, vpc_id in enumerate(ids, start=1):
        connection.execute(vpcs.update().where(vpcs.c.id == vpc_id).values(vni=number))
    with op.batch_alter_table("hosts") as batch:
        batch.add_column(sa.Column("network_mode", sa.String(16), nullable=False,
                                   server_default="user"))
        batch.add_column(sa.Column("underlay_ip", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("hosts") as batch:
        batch.drop_column("underlay_ip")
        batch.drop_column("network_mode")
    with op.batch_alter_table("vpcs") as batch:
        batch.drop_constraint("uq_vpcs_vni", type_="unique")
        batch.drop_column("vni")
