"""The QEMU driver against real guests built from the test image (TCG on these hosts).

One VM walks through the life cycle in order (boot, forwards, reboot, re-adoption, stop,
start, crash, destroy); a second checks the metadata channel. Only loopback addresses.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from overcast.drivers.base import (
    BootImage,
    DriverError,
    LaunchSpec,
    NetworkSpec,
    PortForward,
    PowerState,
)
from overcast.drivers.qemu import QemuDriver, accel, process
from overcast.drivers.qemu.layout import InstanceDir
from overcast.images.testimage import ensure_test_image
from overcast.metadata import relayauth
from tests.conftest import ssh_until_ok

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(shutil.which("qemu-system-x86_64") is None, reason="needs qemu"),
]

BOOT_LINE = b"overcast-testimage: booted"
BOOT_TIMEOUT = 60.0


def wait_for(check: Callable[[], object], timeout: float, what: str) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def ssh_banner(host: str, port: int) -> bytes:
    try:
        with socket.create_connection((host, port), timeout=3) as sock:
            return sock.recv(64)
    except OSError:
        return b""


def boots(driver: QemuDriver, name: str, count: int = 1) -> bool:
    return driver.console_output(name).count(BOOT_LINE) >= count


@pytest.fixture(scope="session")
def image() -> BootImage:
    out = os.environ.get("OVERCAST_TEST_IMAGE_DIR", "/var/tmp/overcast-test-image")
    manifest = json.loads(ensure_test_image(out).read_text())
    assert manifest["kernel_path"] is None  # it boots through its own boot loader
    return BootImage(disk_path=manifest["disk_path"], disk_format=manifest["disk_format"])


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("qemu")
    yield path
    cleanup = QemuDriver(str(path))
    for name in cleanup.list():
        cleanup.destroy(name)


def network(mac: str, ip: str, forwards: tuple[PortForward, ...] = ()) -> NetworkSpec:
    return NetworkSpec(
        mac_address=mac,
        private_ip=ip,
        subnet_cidr="10.20.0.0/24",
        gateway_ip="10.20.0.1",
        public_ip="127.77.0.10",
        forwards=forwards,
    )


@dataclass
class Vm:
    driver: QemuDriver
    name: str
    spec: LaunchSpec
    ssh: PortForward
    extra: list[PortForward] = field(default_factory=list)


@pytest.fixture(scope="module")
def vm(state_dir: Path, image: BootImage) -> Vm:
    ssh = PortForward("tcp", "127.77.0.10", free_port("127.77.0.10"), 22)
    spec = LaunchSpec(
        name="i-0000000000000e2e1",
        vcpus=1,
        memory_mib=256,
        disk_gib=1,
        image=image,
        network=network("52:54:00:e2:e0:01", "10.20.0.5", (ssh,)),
    )
    driver = QemuDriver(str(state_dir), accel="auto")
    driver.create(spec)
    return Vm(driver, spec.name, spec, ssh)


def test_accel_falls_back_to_tcg_without_virt_flags() -> None:
    if accel.cpu_has_virt():
        pytest.skip("this host has vmx/svm")
    assert accel.choose_accel("auto", "qemu-system-x86_64") == "tcg"
    assert accel.choose_accel("kvm", "qemu-system-x86_64") == "kvm"  # forced
    with pytest.raises(DriverError):
        accel.choose_accel("xen", "qemu-system-x86_64")
    assert len(accel.probe_sector()) == 512


def test_capacity(state_dir: Path) -> None:
    cap = QemuDriver(str(state_dir)).capacity()
    assert cap.vcpus == os.cpu_count()
    assert cap.memory_mib > 256 and cap.disk_gib >= 1
    assert QemuDriver(str(state_dir)).capabilities().live_network_update


def test_create_boots_and_serves_ssh(vm: Vm, image: BootImage) -> None:
    assert vm.driver.list()[vm.name].state is PowerState.RUNNING
    wait_for(lambda: boots(vm.driver, vm.name), BOOT_TIMEOUT, "the boot line")
    console = vm.driver.console_output(vm.name).decode(errors="replace")
    assert console.index("SYSLINUX") < console.index(BOOT_LINE.decode())  # BIOS -> disk's loader
    assert "ip=10.20.0.5" in console
    assert "disk=vda:2097152" in console  # the overlay was grown to disk_gib (1 GiB)
    assert "source=none ssh-key=none" in console  # neither metadata service nor config drive
    banner = wait_for(lambda: ssh_banner(vm.ssh.host_ip, vm.ssh.host_port), 20, "ssh")
    assert bytes(banner).startswith(b"SSH-2.0-dropbear")
    disk = InstanceDir(vm.driver.state_dir, vm.name).disk
    info = json.loads(
        subprocess.run(
            ["qemu-img", "info", "-U", "--output=json", str(disk)], check=True, capture_output=True
        ).stdout
    )
    assert info["backing-filename"] == image.disk_path
    assert info["virtual-size"] == 1024**3
    assert vm.driver.accel == "tcg" or accel.cpu_has_virt()


def test_create_is_idempotent(vm: Vm) -> None:
    pid = process.read_pid(InstanceDir(vm.driver.state_dir, vm.name))
    vm.driver.create(vm.spec)
    vm.driver.start(vm.name)
    assert process.read_pid(InstanceDir(vm.driver.state_dir, vm.name)) == pid


def test_update_network_adds_and_removes_forwards_live(vm: Vm) -> None:
    extra = PortForward("tcp", "127.77.0.11", free_port("127.77.0.11"), 22)
    vm.driver.update_network(vm.name, network("52:54:00:e2:e0:01", "10.20.0.5", (vm.ssh, extra)))
    assert ssh_banner(extra.host_ip, extra.host_port).startswith(b"SSH-2.0-dropbear")
    vm.driver.update_network(vm.name, network("52:54:00:e2:e0:01", "10.20.0.5", (extra,)))
    assert ssh_banner(vm.ssh.host_ip, vm.ssh.host_port) == b""
    assert ssh_banner(extra.host_ip, extra.host_port).startswith(b"SSH-2.0-dropbear")
    vm.driver.update_network(vm.name, network("52:54:00:e2:e0:01", "10.20.0.5", (vm.ssh,)))
    assert ssh_banner(extra.host_ip, extra.host_port) == b""
    assert ssh_banner(vm.ssh.host_ip, vm.ssh.host_port).startswith(b"SSH-2.0-dropbear")


def test_soft_reboot_reaches_guest_init(vm: Vm) -> None:
    inst = InstanceDir(vm.driver.state_dir, vm.name)
    pid = process.read_pid(inst)
    vm.driver.reboot(vm.name)
    wait_for(lambda: boots(vm.driver, vm.name, 2), BOOT_TIMEOUT, "the second boot")
    console = vm.driver.console_output(vm.name)
    assert b"Requesting system reboot" in console  # init ran its shutdown, not a reset
    assert process.read_pid(inst) == pid
    assert vm.driver.list()[vm.name].state is PowerState.RUNNING


def test_new_driver_readopts_running_vm(vm: Vm) -> None:
    fresh = QemuDriver(str(vm.driver.state_dir))
    assert fresh.list()[vm.name].state is PowerState.RUNNING
    fresh.update_network(vm.name, vm.spec.network)  # QMP works through the new driver
    vm.driver = fresh


def test_graceful_stop_then_start(vm: Vm) -> None:
    inst = InstanceDir(vm.driver.state_dir, vm.name)
    pid = process.read_pid(inst)
    assert pid is not None
    vm.driver.stop(vm.name, timeout=60)
    status = vm.driver.list()[vm.name]
    assert status.state is PowerState.STOPPED
    assert not process.is_our_qemu(pid, inst)
    assert (
        not Path(f"/proc/{pid}").exists()
        or b"qemu" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    )
    assert b"power button pressed" in vm.driver.console_output(vm.name)
    # qemu ended by itself after the guest powered off
    assert process.wait_exit_status(inst, 2.0) == 0
    vm.driver.stop(vm.name)  # idempotent
    before = vm.driver.console_output(vm.name).count(BOOT_LINE)
    vm.driver.start(vm.name)
    assert vm.driver.list()[vm.name].state is PowerState.RUNNING
    wait_for(lambda: boots(vm.driver, vm.name, before + 1), BOOT_TIMEOUT, "boot after start")
    assert ssh_banner(vm.ssh.host_ip, vm.ssh.host_port).startswith(b"SSH-2.0-dropbear")


def test_kill_9_is_a_crash(vm: Vm) -> None:
    inst = InstanceDir(vm.driver.state_dir, vm.name)
    pid = process.read_pid(inst)
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: vm.driver.list()[vm.name].state is PowerState.CRASHED, 10, "crash")
    assert "SIGKILL" in vm.driver.list()[vm.name].reason
    vm.driver.start(vm.name)
    assert vm.driver.list()[vm.name].state is PowerState.RUNNING


def test_force_stop_and_destroy(vm: Vm) -> None:
    inst = InstanceDir(vm.driver.state_dir, vm.name)
    pid = process.read_pid(inst)
    vm.driver.stop(vm.name, force=True)
    assert vm.driver.list()[vm.name].state is PowerState.STOPPED
    assert pid is not None and not process.is_our_qemu(pid, inst)
    vm.driver.start(vm.name)
    vm.driver.destroy(vm.name)
    assert vm.name not in vm.driver.list()
    assert not inst.path.exists()
    vm.driver.destroy(vm.name)  # idempotent
    with pytest.raises(DriverError):
        vm.driver.start(vm.name)


class MetadataServer:
    """A tiny HTTP server on loopback that challenges each relay as Overcast's does and records
    the instance each relay's signed answer proves (None for a bad signature)."""

    def __init__(self, relay_key: bytes, drop_first: int = 0) -> None:
        self.relay_key = relay_key
        self.drop = drop_first  # connections to close unanswered, as a flaky service would
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.named: list[str | None] = []
        self.requests: list[bytes] = []
        self.headers: list[list[bytes]] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rwb") as stream:
            if self.drop > 0:
                self.drop -= 1
                return
            challenge = relayauth.new_challenge()
            stream.write(relayauth.challenge_line(challenge))
            stream.flush()
            self.named.append(relayauth.verified_instance(self.relay_key, challenge,
                                                          stream.readline()))
            request = stream.readline()
            self.requests.append(request)
            headers = []
            while (line := stream.readline()) not in (b"\r\n", b"\n", b""):
                headers.append(line.strip().lower())
            self.headers.append(headers)
            if request.startswith(b"PUT /latest/api/token"):
                body = b"token-e2e"
            elif b"openssh-key" in request:
                body = b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2e overcast-e2e\n"
            else:
                body = b"#!/bin/sh\necho overcast-user-data-ran\n"
            stream.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
            stream.flush()

    def seen(self) -> str:
        return f"relays named {self.named}, requests {self.requests}"

    def close(self) -> None:
        self.sock.close()


def relay_log(driver: QemuDriver, name: str) -> str:
    path = InstanceDir(driver.state_dir, name).relay_log
    return path.read_text() if path.exists() else "(none)"


def console_tail(driver: QemuDriver, name: str) -> str:
    return driver.console_output(name).decode(errors="replace")[-3000:]


def test_metadata_relay_names_the_instance(state_dir: Path, image: BootImage) -> None:
    key_file = state_dir / "relay.key"
    # the guest tries again, as cloud-init does
    server = MetadataServer(relayauth.ensure_key(key_file), drop_first=1)
    name = "i-0000000000000e2e2"
    spec = LaunchSpec(
        name=name,
        vcpus=1,
        memory_mib=256,
        disk_gib=1,
        image=image,
        network=network("52:54:00:e2:e0:02", "10.20.0.6"),
        metadata_endpoint=("127.0.0.1", server.port),
    )
    driver = QemuDriver(str(state_dir), relay_key_file=key_file)
    try:
        driver.create(spec)
        try:
            wait_for(
                lambda: b"overcast-user-data-ran" in driver.console_output(name),
                BOOT_TIMEOUT,
                "user data to run",
            )
        except AssertionError as timeout:
            raise AssertionError(f"{timeout}; {server.seen()}; relay log: "
                                 f"{relay_log(driver, name)}; console:\n"
                                 f"{console_tail(driver, name)}") from None
        console = driver.console_output(name).decode(errors="replace")
        assert "ip=10.20.0.6" in console and "source=metadata ssh-key=installed" in console
        # Every connection is named by the relay, signed with the key; IMDSv2 as the guest
        # does it: a token first, then requests that carry it.
        assert server.named == [name] * len(server.requests)
        assert server.requests[0].startswith(b"PUT /latest/api/token ")
        gets = [i for i, r in enumerate(server.requests) if r.startswith(b"GET ")]
        paths = [server.requests[i].split()[1] for i in gets]
        assert paths[-2:] == [b"/latest/meta-data/public-keys/0/openssh-key",
                              b"/latest/user-data"], server.seen()
        for i in gets:
            assert b"x-aws-ec2-metadata-token: token-e2e" in server.headers[i]
    finally:
        driver.destroy(name)
        server.close()


def ssh_run(key: Path, fwd: PortForward, command: str) -> str:
    return ssh_until_ok(key, fwd.host_ip, command, port=fwd.host_port, timeout=30)


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the ssh client")
def test_config_drive_gives_key_and_user_data_without_metadata(
    state_dir: Path, image: BootImage, tmp_path: Path
) -> None:
    key = tmp_path / "id"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "cd-e2e", "-f",
                    str(key)], check=True)
    public = key.with_suffix(".pub").read_text()
    meta = {"uuid": "5e1f", "name": "cd", "public_keys": {"cd-e2e": public}}
    ssh = PortForward("tcp", "127.77.0.12", free_port("127.77.0.12"), 22)
    name = "i-0000000000000e2e3"
    spec = LaunchSpec(
        name=name, vcpus=1, memory_mib=256, disk_gib=1, image=image,
        network=network("52:54:00:e2:e0:03", "10.20.0.7", (ssh,)),
        config_drive={
            "openstack/latest/meta_data.json": json.dumps(meta).encode(),
            "openstack/latest/user_data": b"#!/bin/sh\necho from-config-drive > /tmp/ud\n",
            "openstack/latest/network_data.json": b'{"links": [], "networks": []}',
        },
    )
    driver = QemuDriver(str(state_dir))
    try:
        driver.create(spec)
        assert InstanceDir(driver.state_dir, name).config_drive.exists()
        wait_for(lambda: boots(driver, name), BOOT_TIMEOUT, "the boot line")
        console = driver.console_output(name).decode(errors="replace")
        assert "source=config-drive ssh-key=installed" in console
        out = ssh_run(key, ssh, "cat /tmp/ud; grep ' /mnt/config ' /proc/mounts")
        ud, mount = out.splitlines()
        assert ud == "from-config-drive"
        assert mount.split()[2] == "iso9660" and mount.split()[3].startswith("ro,")
        # the drive survives a stop and start (the spec on disk keeps its files)
        fresh = QemuDriver(str(state_dir))
        fresh.stop(name, force=True)
        fresh.start(name)
        wait_for(lambda: boots(fresh, name, 2), BOOT_TIMEOUT, "the second boot")
        assert driver.console_output(name).decode().count("source=config-drive") == 2
    finally:
        driver.destroy(name)


def test_build_test_command_makes_a_bootable_disk_once(tmp_path: Path) -> None:
    def build() -> tuple[str, float]:
        started = time.monotonic()
        done = subprocess.run([sys.executable, "-m", "overcast.cli.main", "image", "build-test",
                               "--data-dir", str(tmp_path), "--quiet"], capture_output=True,
                              text=True, check=True)
        return done.stdout.split()[0], time.monotonic() - started

    disk, first = build()
    assert Path(disk).parent == tmp_path / "images" / "builtin"
    assert build()[0] == disk  # up to date: not rebuilt
    info = json.loads(subprocess.run(["qemu-img", "info", "--output=json", disk], check=True,
                                     capture_output=True).stdout)
    assert info["format"] == "qcow2" and "backing-filename" not in info
    mbr = tmp_path / "mbr"
    subprocess.run(["qemu-img", "dd", "-f", "qcow2", "-O", "raw", f"if={disk}", f"of={mbr}",
                    "bs=512", "count=1"], check=True)
    sector = mbr.read_bytes()
    assert sector[510:] == b"\x55\xaa"
    assert sector[446] == 0x80 and sector[446 + 4] == 0x0E  # one bootable FAT16 partition
    assert first < 30
