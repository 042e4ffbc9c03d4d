"""Every script the driver can send parses under a PowerShell grammar (tree-sitter-powershell),
and no user value can change any script's syntax tree: values travel only as parameters."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import tree_sitter_powershell
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tree_sitter import Language, Node, Parser

from overcast.drivers.base import DriverError
from overcast.drivers.hyperv import scripts
from overcast.drivers.hyperv.config import HostConfig
from tests.hyperv.conftest import PASSWORD, make_driver, make_spec
from tests.hyperv.simulator import SimulatedHost

PARSER = Parser(Language(tree_sitter_powershell.language()))
NASTY = ["'", '"', "$", "`", ";", "\n", "\r\n", "$(Remove-Item C:\\ -Recurse)", "'; exit; '",
         "@'\n", "#", "<#", "}", "{", "|", "&", "\u2018", "\u201c", "\x00", "\\\\.\\pipe\\x"]
nasty_text = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=6)),
                      max_size=6).map("".join)


def tree(text: str) -> str:
    """The syntax tree's shape: node types only, so string contents do not count."""
    root = PARSER.parse(text.encode()).root_node
    assert not root.has_error, f"parse error in:\n{text}\n{_errors(root)}"
    return str(root)


def _errors(node: Node) -> list[str]:
    found = [f"{node.type} at {node.start_point}: {node.text[:60]!r}"] \
        if node.type == "ERROR" or node.is_missing else []
    for child in node.children:
        found += _errors(child)
    return found


BASELINE = {s.name: tree(s.text) for s in scripts.ALL_SCRIPTS}


def reader_text(config: dict[str, object]) -> str:
    """What CONSOLE_START builds on the host for the detached reader."""
    encoded = base64.b64encode(json.dumps(config).encode()).decode()
    return scripts.CONSOLE_READER.replace(scripts.CONFIG_MARKER, encoded)


@pytest.mark.parametrize("script", scripts.ALL_SCRIPTS, ids=lambda s: s.name)
def test_every_script_parses_and_declares_its_parameters(script: scripts.Script) -> None:
    root = PARSER.parse(script.text.encode()).root_node
    assert not root.has_error, _errors(root)
    for name in script.params:
        assert f"${name}" in script.text.split("\n", 1)[0], f"{name} not in the param block"


def test_the_tree_comparison_sees_splicing() -> None:
    """The check below is not vacuous: text spliced into a script changes its tree."""
    def spliced(name: str) -> str:
        return f"Get-VM -Name '{name}' | ConvertTo-Json -Compress"

    assert tree(spliced("i-1")) != str(PARSER.parse(spliced("x'; Remove-VM y; '").encode())
                                       .root_node)


@settings(max_examples=60, deadline=None)
@given(config=st.fixed_dictionaries({"Name": nasty_text, "Pipe": nasty_text,
                                     "Log": nasty_text, "MaxBytes": st.integers(0, 2**40)}))
def test_console_reader_tree_never_depends_on_its_config(config: dict[str, object]) -> None:
    assert tree(reader_text(config)) == tree(reader_text({"Name": "i-1", "Pipe": "p",
                                                          "Log": "l", "MaxBytes": 1}))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=nasty_text, switch=nasty_text, vm_path=nasty_text, user_data=st.binary(max_size=64),
       tag=nasty_text)
def test_no_user_value_changes_what_is_sent(tmp_path: Path, qcow2_image: Path, name: str,
                                            switch: str, vm_path: str, user_data: bytes,
                                            tag: str) -> None:
    host = SimulatedHost(switch=switch)
    config = HostConfig(name="hv", address="hv.test", username="u", password=PASSWORD,
                        vm_path=vm_path, switch=switch)
    driver = make_driver(config, host, tmp_path)
    spec = make_spec(qcow2_image, name=name, user_data=user_data, tags={"Name": tag},
                     config_drive=None)
    try:
        driver.create(spec)
        driver.stop(name)
        driver.start(name)
        driver.reboot(name)
        driver.console_output(name)
        driver.destroy(name)
    except DriverError as exc:  # names Windows cannot use as a directory are refused
        assert "cannot name a Hyper-V virtual machine" in str(exc)
        assert all(call[1].get("Name") != name for call in host.calls)
    list(driver.smoke_test())
    assert host.calls, "nothing was sent"
    for (script_name, params), text in zip(host.calls, host.texts, strict=True):
        assert tree(text) == BASELINE[script_name]
        assert set(params) == set(scripts.BY_NAME[script_name].params)


def test_a_name_with_quotes_dollars_backticks_and_semicolons_goes_through(
        tmp_path: Path, qcow2_image: Path) -> None:
    name = "i-'$x`;y"
    host = SimulatedHost()
    driver = make_driver(HostConfig("hv", "hv.test", "u", PASSWORD, switch="External"),
                         host, tmp_path)
    driver.create(make_spec(qcow2_image, name=name))
    assert driver.list()[name].state == "running"
    sent = [p for n, p in host.calls if n == "create_vm"][0]
    assert sent["Name"] == name and sent["Directory"].endswith("\\instances\\" + name)
    for (script_name, _), text in zip(host.calls, host.texts, strict=True):
        assert tree(text) == BASELINE[script_name]
    with pytest.raises(DriverError):
        driver.create(make_spec(qcow2_image, name="i-1\n..\\evil"))
