"""SQLAlchemy models: one table per resource; every tenant resource carries project_id."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    account_id: Mapped[str] = mapped_column(String(12), unique=True)
    max_instances: Mapped[int | None] = mapped_column(Integer)
    max_vcpus: Mapped[int | None] = mapped_column(Integer)
    # added by 0701_launch_tokens: image quotas (None: the cloud's defaults)
    max_images: Mapped[int | None] = mapped_column(Integer)
    max_image_bytes: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    max_elastic_ips: Mapped[int | None] = mapped_column(Integer)  # 0851_elastic_ips
    max_volumes: Mapped[int | None] = mapped_column(Integer)  # 0921_volumes
    max_volume_gib: Mapped[int | None] = mapped_column(Integer)  # 0921_volumes


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AccessKey(Base):
    __tablename__ = "access_keys"
    access_key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # added by 0601_access_key_status: Active or Inactive, as IAM says it
    status: Mapped[str] = mapped_column(String(16), default="Active", server_default="Active")


class Host(Base):
    __tablename__ = "hosts"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    driver: Mapped[str] = mapped_column(String(32))
    availability_zone: Mapped[str] = mapped_column(String(64))
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mib: Mapped[int] = mapped_column(Integer)
    disk_gib: Mapped[int] = mapped_column(Integer)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    last_seen: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # "user" or "kernel" (migration 0941_kernel_network), and the address VXLAN reaches it at
    network_mode: Mapped[str] = mapped_column(String(16), default="user")
    underlay_ip: Mapped[str | None] = mapped_column(String(64))


class InstanceType(Base):
    __tablename__ = "instance_types"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mib: Mapped[int] = mapped_column(Integer)
    disk_gib: Mapped[int] = mapped_column(Integer)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)
    # added by 0009_instance_type_driver: only hosts of this driver run it (None: any)
    driver: Mapped[str | None] = mapped_column(String(16))


class Image(Base):
    __tablename__ = "images"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(32), default="available")
    is_public: Mapped[bool] = mapped_column(Boolean, default=False)
    architecture: Mapped[str] = mapped_column(String(32), default="x86_64")
    disk_path: Mapped[str | None] = mapped_column(Text)
    disk_format: Mapped[str] = mapped_column(String(16), default="qcow2")
    kernel_path: Mapped[str | None] = mapped_column(Text)
    ramdisk_path: Mapped[str | None] = mapped_column(Text)
    kernel_cmdline: Mapped[str] = mapped_column(Text, default="")
    size_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    default_user: Mapped[str] = mapped_column(String(64), default="root")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # added by 0003_ec2_images
    image_location: Mapped[str] = mapped_column(Text, default="")
    root_device_name: Mapped[str] = mapped_column(String(64), default="/dev/xvda")
    deregistered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # added by 0401_config_drive: instances of this image always get a config drive
    config_drive: Mapped[bool] = mapped_column(Boolean, default=False)
    # added by 0501_image_snapshots: the instance an image is being (or was) made from, and
    # why making it failed
    source_instance_id: Mapped[str | None] = mapped_column(String(32), index=True)
    state_reason: Mapped[str | None] = mapped_column(Text)
    # added by 0981_image_block_devices: its data volumes' mappings (JSON of BlockDevice)
    block_device_mappings: Mapped[str] = mapped_column(Text, default="")


class KeyPair(Base):
    __tablename__ = "key_pairs"
    __table_args__ = (UniqueConstraint("project_id", "name"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    key_type: Mapped[str] = mapped_column(String(16))
    fingerprint: Mapped[str] = mapped_column(String(128))
    public_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Instance(Base):
    __tablename__ = "instances"
    # added by 0005_instance_host_indexes: what the agent asks for at every tick
    __table_args__ = (Index("ix_instances_host_updated", "host_id", "updated_at"),
                      Index("ix_instances_host_public_ip", "host_id", "public_ip"),
                      Index("ix_instances_subnet_private_ip", "subnet_id", "private_ip"),
                      Index("ix_instances_project_token", "project_id", "client_token"),
                      # added by 0008_usage_indexes: what every launch sums, read from these
                      Index("ix_instances_usage_by_state", "state", "host_id", "vcpus",
                            "memory_mib", "disk_gib"),
                      Index("ix_instances_project_usage", "project_id", "state", "vcpus"),
                      # added by 0701_launch_tokens: one launch per client token
                      Index("uq_instances_project_token_launch", "project_id", "client_token",
                            unique=True, sqlite_where=text("launch_index = 0"),
                            postgresql_where=text("launch_index = 0")))
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    reservation_id: Mapped[str] = mapped_column(String(32), index=True)
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    client_token: Mapped[str | None] = mapped_column(String(128))
    image_id: Mapped[str] = mapped_column(String(32))
    instance_type: Mapped[str] = mapped_column(String(64))
    vcpus: Mapped[int] = mapped_column(Integer)
    memory_mib: Mapped[int] = mapped_column(Integer)
    disk_gib: Mapped[int] = mapped_column(Integer)
    key_name: Mapped[str | None] = mapped_column(String(255))
    user_data: Mapped[bytes] = mapped_column(LargeBinary, default=b"")
    state: Mapped[str] = mapped_column(String(32), index=True)
    state_reason_code: Mapped[str] = mapped_column(String(64), default="")
    state_reason_message: Mapped[str] = mapped_column(Text, default="")
    transition_reason: Mapped[str] = mapped_column(Text, default="")
    force_stop: Mapped[bool] = mapped_column(Boolean, default=False)
    reboot_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    host_id: Mapped[str | None] = mapped_column(ForeignKey("hosts.id"), index=True)
    availability_zone: Mapped[str] = mapped_column(String(64))
    private_ip: Mapped[str | None] = mapped_column(String(64))
    mac_address: Mapped[str] = mapped_column(String(32))
    public_ip: Mapped[str | None] = mapped_column(String(64))
    launch_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    terminated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[float] = mapped_column(Float, default=0.0)
    # added by 0002_ec2_networking
    subnet_id: Mapped[str | None] = mapped_column(String(32), index=True)
    vpc_id: Mapped[str | None] = mapped_column(String(32))
    disable_api_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    disable_api_stop: Mapped[bool] = mapped_column(Boolean, default=False)
    shutdown_behavior: Mapped[str] = mapped_column(String(16), default="stop")
    source_dest_check: Mapped[bool] = mapped_column(Boolean, default=True)
    metadata_http_tokens: Mapped[str] = mapped_column(String(16), default="optional")
    metadata_http_endpoint: Mapped[str] = mapped_column(String(16), default="enabled")
    metadata_hop_limit: Mapped[int] = mapped_column(Integer, default=1)
    metadata_instance_tags: Mapped[str] = mapped_column(String(16), default="disabled")
    # added by 0401_config_drive: the user asked for a config drive (Nova's config_drive)
    config_drive: Mapped[bool] = mapped_column(Boolean, default=False)
    # added by 0007_instance_user: who launched it (None: launched before that was kept)
    user_id: Mapped[str | None] = mapped_column(String(64))
    # added by 0701_launch_tokens: a digest of the RunInstances request that made it
    launch_digest: Mapped[str | None] = mapped_column(String(64))
    # added by 0931_nova_actions: a Nova lock ("owner" or "admin": who may lift it)
    locked_by: Mapped[str | None] = mapped_column(String(16))
    locked_reason: Mapped[str | None] = mapped_column(Text)


class Tag(Base):
    __tablename__ = "tags"
    resource_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[str] = mapped_column(String(256), default="")
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    resource_type: Mapped[str] = mapped_column(String(32))
