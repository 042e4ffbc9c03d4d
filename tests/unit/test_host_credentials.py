"""Join tokens and host credentials: once, for their host, until they expire; kept hashed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from overcast.cloud.compute import HostCredentials, JoinRefused
from overcast.db.models_agents import HostCredential, HostJoinToken
from overcast.errors import CloudError
from tests.conftest import in_process_cloud


@pytest.fixture
def credentials(tmp_path: Path) -> HostCredentials:
    return HostCredentials(in_process_cloud(tmp_path).cloud.db)


def test_a_token_is_spent_once_for_its_host(credentials: HostCredentials) -> None:
    token = credentials.create_token("node2")
    with pytest.raises(JoinRefused):
        credentials.join(token, "node3")
    credential = credentials.join(token, "node2")
    assert credentials.authenticate(credential) == "node2"
    with pytest.raises(JoinRefused):
        credentials.join(token, "node2")


def test_an_expired_token_is_refused(credentials: HostCredentials) -> None:
    token = credentials.create_token("node2", timedelta(0))
    with pytest.raises(JoinRefused):
        credentials.join(token, "node2")


def test_a_new_join_ends_the_old_credential(credentials: HostCredentials) -> None:
    old = credentials.join(credentials.create_token("node2"), "node2")
    new = credentials.join(credentials.create_token("node2"), "node2")
    assert credentials.authenticate(old) is None
    assert credentials.authenticate(new) == "node2"
    wrong = new.split(".")[0] + ".guess"
    assert credentials.authenticate(wrong) is None
    assert credentials.authenticate("") is None


def test_tokens_and_secrets_are_kept_only_as_hashes(credentials: HostCredentials) -> None:
    token = credentials.create_token("node2")
    credential = credentials.join(token, "node2")
    with credentials.db.read() as s:
        stored = [*s.scalars(select(HostJoinToken.token_hash)),
                  *s.scalars(select(HostCredential.secret_hash))]
    assert stored and not any(token in v or credential.split(".")[1] in v for v in stored)


def test_a_host_name_must_be_plain(credentials: HostCredentials) -> None:
    with pytest.raises(CloudError):
        credentials.create_token("node 2; rm")
