"""DescribeInstances without IDs reads the project batch by batch: pages, tokens and tag
filters must come out as if the whole list had been filtered and sorted at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from overcast.cloud import filters as flt
from overcast.cloud.compute import instances as instances_module
from overcast.cloud.compute.launch import RunRequest
from overcast.cloud.service import Cloud
from overcast.drivers.base import HostCapacity
from tests.conftest import in_process_cloud


def _walk(cloud: Cloud, ctx, filters: list[flt.Filter], size: int | None) -> list[list[str]]:
    pages, token = [], None
    while True:
        chunk, token = cloud.instances.describe(ctx, [], filters, size, token)
        pages.append([view.item.id for view in chunk])
        if token is None:
            return pages


def test_pages_across_batches_match_the_whole_list(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    cloud, ctx, image = in_process_cloud(tmp_path, HostCapacity(1000, 10**6, 10**5),
                                         default_max_instances=100)
    colors = {}
    for index in range(12):
        color = ("red", "blue", "green")[index % 3]
        launched = cloud.run_instances(ctx, RunRequest(image, "t2.nano", 4, 4,
                                                       tags={"color": color}))
        colors.update({row.id: color for row in launched.instances})
    monkeypatch.setattr(instances_module, "SCAN_BATCH", 7)
    everything = sorted(colors)
    assert _walk(cloud, ctx, [], None) == [everything]
    pages = _walk(cloud, ctx, [], 5)
    assert [i for page in pages for i in page] == everything
    assert [len(page) for page in pages] == [5] * 9 + [3]
    red = sorted(i for i, color in colors.items() if color == "red")
    for values in (("red",), ("r?d",), ("re*",)):
        pages = _walk(cloud, ctx, [flt.Filter("tag:color", values)], 5)
        assert [i for page in pages for i in page] == red, values
    both = _walk(cloud, ctx, [flt.Filter("tag:color", ("red", "green")),
                              flt.Filter("instance-state-name", ("pending",))], 1000)
    assert both == [sorted(i for i, color in colors.items() if color != "blue")]
    assert _walk(cloud, ctx, [flt.Filter("tag:color", ("purple",))], 5) == [[]]
    cloud.db.dispose()
