"""Nova calls beyond the basic server actions: lock and unlock, instance actions."""

from __future__ import annotations

from overcast.api.openstack.wsgi import Router

router = Router()
