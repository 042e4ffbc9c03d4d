"""The Elastic IP pool setting: its addresses, its end, and a range it may not take."""

from __future__ import annotations

from pathlib import Path

import pytest

from overcast.cloud.network.elastic_ips import elastic_pool
from overcast.config import Settings
from overcast.errors import CloudError
from tests.conftest import in_process_cloud


def test_a_configured_pool_is_used_to_its_end(tmp_path: Path) -> None:
    cloud, ctx, _ = in_process_cloud(tmp_path, elastic_ip_pool="127.102.0.0/29",
                                     default_max_elastic_ips=10)
    made = {cloud.elastic_ips.allocate(ctx).address.public_ip for _ in range(6)}
    assert made == {f"127.102.0.{i}" for i in range(1, 7)}  # not the network or broadcast
    with pytest.raises(CloudError) as exc:
        cloud.elastic_ips.allocate(ctx)
    assert exc.value.code == "InsufficientAddressCapacity"
    with pytest.raises(CloudError) as exc:
        cloud.elastic_ips.check_request("127.102.0.7", "vpc", None, None)
    assert exc.value.code == "InvalidParameterValue"
    cloud.db.dispose()


@pytest.mark.parametrize("pool", ["127.100.7.0/24", "127.0.0.0/8", "not-a-cidr"])
def test_a_pool_overlapping_the_auto_assigned_addresses_is_refused(pool: str) -> None:
    with pytest.raises(ValueError):
        elastic_pool(Settings(elastic_ip_pool=pool))
