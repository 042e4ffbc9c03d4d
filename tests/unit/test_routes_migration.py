"""Migration 0961 gives every existing VPC its main route table with the local route, and
every default VPC its attached internet gateway and 0.0.0.0/0 route, as AWS has them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from overcast.db.engine import Database
from tests.conftest import _fresh_database
from tests.unit.test_role_migration import _upgrade

BEFORE = "0941_kernel_network"


def test_existing_vpcs_get_tables_and_the_default_one_a_gateway(tmp_path: Path) -> None:
    db = Database(_fresh_database() or f"sqlite:///{tmp_path / 'o.db'}")
    _upgrade(db, BEFORE)
    now = datetime.now(UTC)
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO projects (id, name, account_id, created_at) "
                          "VALUES ('p1', 'home', '111111111111', :t)"), {"t": now})
        for vpc, cidr, default in (("vpc-0a", "172.31.0.0/16", True),
                                   ("vpc-0b", "10.9.0.0/16", False)):
            conn.execute(text("INSERT INTO vpcs (id, project_id, cidr_block, is_default, "
                              "state, created_at) VALUES (:v, 'p1', :c, :d, 'available', :t)"),
                         {"v": vpc, "c": cidr, "d": default, "t": now})
    db.migrate()
    with db.engine.connect() as conn:
        gateways = list(conn.execute(text("SELECT id, vpc_id FROM internet_gateways")))
        routes = set(conn.execute(text(
            "SELECT t.vpc_id, r.destination_cidr, r.gateway_id FROM routes r "
            "JOIN route_tables t ON t.id = r.route_table_id")))
        mains = set(conn.execute(text("SELECT vpc_id, main_vpc_id, is_main "
                                      "FROM route_table_associations")))
    assert [g[1] for g in gateways] == ["vpc-0a"]
    assert routes == {("vpc-0a", "172.31.0.0/16", "local"), ("vpc-0b", "10.9.0.0/16", "local"),
                      ("vpc-0a", "0.0.0.0/0", gateways[0][0])}
    assert mains == {("vpc-0a", "vpc-0a", True), ("vpc-0b", "vpc-0b", True)}
    db.dispose()
