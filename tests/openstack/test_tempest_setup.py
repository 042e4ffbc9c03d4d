"""The Tempest set-up gives its accounts random passwords; one that starts with '-' once read as
an option and failed CI (`--password -TcA3…`, argparse exit 2)."""
from pathlib import Path

import pytest

from tests.openstack import tempest_setup

DASHED = "-TcA3C9dNM4C1owW"


def test_accounts_take_a_password_that_starts_with_a_dash(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           ) -> None:
    monkeypatch.setattr(tempest_setup, "PROJECTS", 1)
    accounts = tempest_setup._accounts(str(tmp_path), DASHED)
    assert {a["username"] for a in accounts} == {"tempest-1-member", "tempest-1-reader"}
