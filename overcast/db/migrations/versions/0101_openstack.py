"""OpenStack faces: role assignments, tokens, application credentials, Glance attributes,
and Nova's classic m1.* flavors in the instance-type table

Revision ID: 0101_openstack
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0101_openstack"
down_revision = "0001"
branch_labels = None
depends_on = None

# name: (vCPUs, memory MiB, disk GiB), as DevStack defines them
CLASSIC_FLAVORS = {
    "m1.tiny": (1, 512, 1), "m1.small": (1, 2048, 20), "m1.medium": (2, 4096, 40),
    "m1.large": (4, 8192, 80), "m1.xlarge": (8, 16384, 160),
}


def upgrade() -> None:
    op.create_table(
        "os_role_assignments",
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("project_id", sa.String(32),
                  sa.ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("role", sa.String(32), primary_key=True))
    op.create_index("ix_os_role_assignments_project_id", "os_role_assignments", ["project_id"])
    op.create_table(
        "os_tokens",
        sa.Column("id_hash", sa.String(64), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("project_id", sa.String(32),
                  sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("roles", sa.String(255), nullable=False),
        sa.Column("methods", sa.String(255), nullable=False),
        sa.Column("audit_id", sa.String(32), nullable=False),
        sa.Column("app_credential_id", sa.String(32), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked", sa.Boolean(), nullable=False))
    op.create_index("ix_os_tokens_user_id", "os_tokens", ["user_id"])
    op.create_index("ix_os_tokens_expires_at", "os_tokens", ["expires_at"])
    op.create_table(
        "os_application_credentials",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), sa.ForeignKey("users.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("project_id", sa.String(32),
                  sa.ForeignKey("projects.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("secret_hash", sa.String(255), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("roles", sa.String(255), nullable=False),
        sa.Column("unrestricted", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("user_id", "name"))
    op.create_index("ix_os_application_credentials_user_id", "os_application_credentials",
                    ["user_id"])
    op.create_table(
        "os_image_attributes",
        sa.Column("image_id", sa.String(32), sa.ForeignKey("images.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("container_format", sa.String(16), nullable=True),
        sa.Column("disk_format", sa.String(16), nullable=True),
        sa.Column("checksum", sa.String(32), nullable=True),
        sa.Column("os_hash_value", sa.String(128), nullable=True),
        sa.Column("data_size", sa.BigInteger(), nullable=True),
        sa.Column("virtual_size", sa.BigInteger(), nullable=True),
        sa.Column("min_disk", sa.Integer(), nullable=False),
        sa.Column("min_ram", sa.Integer(), nullable=False),
        sa.Column("protected", sa.Boolean(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("properties", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False))
    types = sa.table("instance_types", sa.column("name", sa.String), sa.column("vcpus", sa.Integer),
                     sa.column("memory_mib", sa.Integer), sa.column("disk_gib", sa.Integer),
                     sa.column("builtin", sa.Boolean))
    have = {row[0] for row in op.get_bind().execute(sa.select(types.c.name))}
    op.bulk_insert(types, [
        {"name": name, "vcpus": v, "memory_mib": m, "disk_gib": d, "builtin": True}
        for name, (v, m, d) in CLASSIC_FLAVORS.items() if name not in have])


def downgrade() -> None:
    op.execute(sa.text("DELETE FROM instance_types WHERE name LIKE 'm1.%' AND builtin"))
    for table in ("os_image_attributes", "os_application_credentials", "os_tokens",
                  "os_role_assignments"):
        op.drop_table(table)
