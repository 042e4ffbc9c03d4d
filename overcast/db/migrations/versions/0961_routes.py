"""Internet gateways and route tables; every existing VPC gets its main route table with the
local route, and every default VPC its internet gateway and 0.0.0.0/0 route, as in AWS

Revision ID: 0961_routes
Revises: 0941_kernel_network (0801 and 0941 rebuild the vpcs table: they must run first)
"""

import secrets
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0961_routes"
down_revision = "0941_kernel_network"
branch_labels = None
depends_on = None


def _id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(9)[:17]}"


def _tables() -> tuple[sa.Table, ...]:
    igws = op.create_table(
        "internet_gateways",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("projects.id"), nullable=False,
                  index=True),
        sa.Column("vpc_id", sa.String(32), sa.ForeignKey("vpcs.id"), nullable=True,
                  unique=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    tables = op.create_table(
        "route_tables",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("projects.id"), nullable=False,
                  index=True),
        sa.Column("vpc_id", sa.String(32), sa.ForeignKey("vpcs.id"), nullable=False,
                  index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    routes = op.create_table(
        "routes",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("route_table_id", sa.String(32), sa.ForeignKey("route_tables.id"),
                  nullable=False, index=True),
        sa.Column("destination_cidr", sa.String(64), nullable=False),
        sa.Column("gateway_id", sa.String(32), nullable=True),
        sa.Column("network_interface_id", sa.String(32), nullable=True),
        sa.Column("instance_id", sa.String(32), nullable=True),
        sa.Column("origin", sa.String(32), nullable=False),
        sa.UniqueConstraint("route_table_id", "destination_cidr"),
    )
    associations = op.create_table(
        "route_table_associations",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("project_id", sa.String(32), sa.ForeignKey("projects.id"), nullable=False,
                  index=True),
        sa.Column("route_table_id", sa.String(32), sa.ForeignKey("route_tables.id"),
                  nullable=False, index=True),
        sa.Column("vpc_id", sa.String(32), sa.ForeignKey("vpcs.id"), nullable=False,
                  index=True),
        sa.Column("subnet_id", sa.String(32), sa.ForeignKey("subnets.id"), nullable=True,
                  unique=True),
        sa.Column("main_vpc_id", sa.String(32), nullable=True, unique=True),
        sa.Column("is_main", sa.Boolean(), nullable=False),
    )
    return igws, tables, routes, associations


def upgrade() -> None:
    igws, tables, routes, associations = _tables()
    vpcs = sa.table("vpcs", sa.column("id"), sa.column("project_id"), sa.column("cidr_block"),
                    sa.column("is_default"))
    bind = op.get_bind()
    now = datetime.now(UTC)
    for vpc_id, project_id, cidr, is_default in bind.execute(sa.select(
            vpcs.c.id, vpcs.c.project_id, vpcs.c.cidr_block, vpcs.c.is_default)).all():
        table_id = _id("rtb")
        bind.execute(tables.insert().values(id=table_id, project_id=project_id, vpc_id=vpc_id,
                                            created_at=now))
        bind.execute(routes.insert().values(route_table_id=table_id, destination_cidr=cidr,
                                            gateway_id="local", origin="CreateRouteTable"))
        bind.execute(associations.insert().values(
            id=_id("rtbassoc"), project_id=project_id, route_table_id=table_id, vpc_id=vpc_id,
            main_vpc_id=vpc_id, is_main=True))
        if is_default:
            igw_id = _id("igw")
            bind.execute(igws.insert().values(id=igw_id, project_id=project_id, vpc_id=vpc_id,
                                              created_at=now))
            bind.execute(routes.insert().values(
                route_table_id=table_id, destination_cidr="0.0.0.0/0", gateway_id=igw_id,
                origin="CreateRouteTable"))


def downgrade() -> None:
    op.drop_table("route_table_associations")
    op.drop_table("routes")
    op.drop_table("route_tables")
    op.drop_table("internet_gateways")
