"""What the metadata service and the config drive tell one instance about itself.

The facts are gathered here, in the service layer, from the instance's own rows only; the
documents built from them live in overcast.metadata.documents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from overcast.db import Database
from overcast.db.models import Instance, KeyPair, Project, Tag
from overcast.lifecycle import State
from overcast.metadata.facts import InstanceFacts, MetadataOptions

if TYPE_CHECKING:
    from overcast.cloud.network.security_groups import SecurityGroups
    from overcast.cloud.network.vpcs import Vpcs


def _options(row: Instance) -> MetadataOptions:
    return MetadataOptions(http_tokens=row.metadata_http_tokens or "optional",
                           http_endpoint=row.metadata_http_endpoint or "enabled",
                           instance_tags=row.metadata_instance_tags or "disabled")


class InstanceMetadata:
    def __init__(self, db: Database, region: str, groups: SecurityGroups, vpcs: Vpcs) -> None:
        self.db = db
        self.region = region
        self.groups = groups
        self.vpcs = vpcs

    def facts(self, instance_id: str) -> InstanceFacts | None:
        """The facts of a live instance, or None for an unknown or terminated one."""
        with self.db.session() as s:
            row = s.get(Instance, instance_id)
            if row is None or row.state == State.TERMINATED.value:
                return None
            project = s.get(Project, row.project_id)
            key = s.scalar(select(KeyPair).where(KeyPair.project_id == row.project_id,
                                                 KeyPair.name == row.key_name)) \
                if row.key_name else None
            tags = {t.key: t.value for t in s.scalars(
                select(Tag).where(Tag.resource_id == row.id))}
            s.expunge_all()
        assert project is not None
        return InstanceFacts(
            instance_id=row.id, uuid=row.uuid, account_id=project.account_id,
            project_id=row.project_id, reservation_id=row.reservation_id,
            launch_index=row.launch_index, image_id=row.image_id,
            instance_type=row.instance_type, region=self.region,
            availability_zone=row.availability_zone, private_ip=row.private_ip or "",
            public_ip=row.public_ip or "", mac=row.mac_address,
            subnet_cidr=self.vpcs.subnet_cidr(row) or "172.31.0.0/16",
            launch_time=row.launch_time, key_name=row.key_name,
            public_key=key.public_key if key else None, user_data=row.user_data or b"",
            security_groups=self.groups.names_for(row.id), options=_options(row), tags=tags)
