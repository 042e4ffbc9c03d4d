"""What an Elastic IP is linked to, undone when that thing goes: a terminated instance's or a
deleted interface's addresses stay allocated to the project, associated with nothing."""

from __future__ import annotations

from sqlalchemy import ColumnElement, update
from sqlalchemy.orm import Session

from overcast.db.models_eips import ElasticIp


def forget_instance(s: Session, instance_id: str) -> None:
    _clear(s, ElasticIp.instance_id == instance_id)


def forget_interface(s: Session, interface_id: str) -> None:
    _clear(s, ElasticIp.network_interface_id == interface_id)


def _clear(s: Session, where: ColumnElement[bool]) -> None:
    s.execute(update(ElasticIp).where(where).values(
        association_id=None, instance_id=None, network_interface_id=None, private_ip=None))
