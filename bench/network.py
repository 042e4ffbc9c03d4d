"""TCP throughput and latency between two guests: on an Overcast VPC (kernel networking)
versus two bare qemu guests on one plain bridge, same image, same qemu driver, side by side.

    sudo python -m bench.network [--mib 64] [--pings 50] [--rounds 2]

Each pair is a receiver and a sender, both the built-in test image (busybox, TCG, t2.nano:
1 vCPU, 512 MiB), their programs given as user data (no iperf3 in the image): the receiver
runs `nc -l` into /dev/null; the sender waits for it, pings it `--pings` times (the RTT
summary), then sends `--mib` MiB of zeros three times through `nc`, timed by the guest's
/proc/uptime. Both print to their serial console, which the benchmark reads.

VPC: `overcast up --network-mode kernel`, RunInstances in the default VPC and group (routed
through the VPC's namespace, nftables security groups). Bare: QemuDriver with tap devices
joined to one Linux bridge in a namespace of the benchmark's own, with dnsmasq for DHCP.
Root only; everything it makes lives in namespaces and temporary directories it removes.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from overcast.drivers.base import BootImage, LaunchSpec, NetworkSpec
from overcast.drivers.network.kernel import KernelNetwork
from overcast.drivers.qemu import QemuDriver
from overcast.images.testimage import MANIFEST
from tests.conftest import RunningCloud, cloud_env, free_port, wait_for_state
from tests.e2e.test_elastic_ips_qemu import _qemu_pids

INSTANCE_TYPE, VCPUS, MEMORY_MIB = "t2.nano", 1, 512
PORT = 5001
# one persistent listener (no gap between connections): each connection's byte count is
# printed, so the benchmark checks that every send arrived whole
RECEIVER = f"""#!/bin/sh
printf '#!/bin/sh\\necho "bench: received $(wc -c)" > /dev/console\\n' > /run/sink
chmod 755 /run/sink
echo "bench: receiver ready"
nc -ll -p {PORT} -e /run/sink
"""
RTT = re.compile(r"bench: round-trip min/avg/max = ([\d.]+)/([\d.]+)/([\d.]+) ms")
TCP = re.compile(r"bench: tcp bytes=(\d+) seconds=([\d.]+)")


def sender(receiver: str, mib: int, pings: int) -> str:
    return f"""#!/bin/sh
R={receiver}
n=0
until echo | nc $R {PORT} 2>/dev/null; do
    n=$((n+1)); [ $n -gt 600 ] && echo "bench: receiver never answered" && exit 1
    usleep 200000
done
ping -c {pings} -i 0.2 $R | tail -1 | sed 's/^/bench: /'
for run in 1 2 3; do
    t0=$(cut -d" " -f1 /proc/uptime)
    dd if=/dev/zero bs=65536 count={mib * 16} 2>/dev/null | nc $R {PORT}
    t1=$(cut -d" " -f1 /proc/uptime)
    echo "bench: tcp bytes={mib * 1048576} seconds=$(echo $t0 $t1 | awk '{{print $2 - $1}}')"
done
echo "bench: done"
"""


def results(console: str, received: str) -> tuple[float, float]:
    """(median Mbit/s of the three sends, average RTT in ms) from the sender's console; the
    receiver's must show each send arrived whole."""
    rtt = RTT.search(console)
    found = TCP.findall(console)
    sends = [int(b) * 8 / max(float(s), 0.01) / 1e6 for b, s in found]
    whole = [b for b, _ in found if f"bench: received {b}" in received]
    if rtt is None or not sends or received.count(f"bench: received {found[0][0]}") != 3:
        raise SystemExit(f"no whole results:\n{console[-1500:]}\n{received[-1500:]}")
    assert len(whole) == len(found)
    return statistics.median(sends), float(rtt.group(2))


def until_done(read: Callable[[], str], what: str, timeout: float = 900) -> str:
    deadline = time.monotonic() + timeout
    while "bench: done" not in (text := read()):
        if time.monotonic() > deadline or "never answered" in text:
            raise SystemExit(f"{what}: no result within {timeout:.0f} s:\n{text[-2000:]}")
        time.sleep(1)
    return text


# The VPC ------------------------------------------------------------------------------------
def vpc_pair(tmp: Path, mib: int, pings: int) -> tuple[float, float]:
    cloud = RunningCloud(tmp / "data", free_port(), cloud_env(tmp, driver="qemu",
                                                             qemu_accel="tcg"),
                         up_args=("--network-mode", "kernel"))
    cloud.start()
    try:
        ec2 = cloud.client()
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

        def launch(user_data: str) -> dict:
            return ec2.run_instances(ImageId=image, InstanceType=INSTANCE_TYPE, MinCount=1,
                                     MaxCount=1, UserData=user_data)["Instances"][0]
        receiver = launch(RECEIVER)
        sending = launch(sender(receiver["PrivateIpAddress"], mib, pings))["InstanceId"]
        ids = [receiver["InstanceId"], sending]
        def console(iid: str) -> str:
            return str(ec2.get_console_output(InstanceId=iid).get("Output", ""))
        sent = until_done(lambda: console(sending), "VPC")
        received = console(receiver["InstanceId"])  # a terminated instance shows none
        ec2.terminate_instances(InstanceIds=ids)
        wait_for_state(ec2, ids, "terminated", timeout=120)
        netns = "ocv-" + receiver["VpcId"].removeprefix("vpc-")
        deadline = time.monotonic() + 30  # the agent removes the VPC's namespace
        while netns in subprocess.run(["ip", "netns", "list"], capture_output=True,
                                      text=True).stdout and time.monotonic() < deadline:
            time.sleep(0.2)
        return results(sent, received)
    finally:
        if cloud.stop() != 0 and cloud.log_path is not None:
            print(cloud.log_path.read_text()[-3000:])
        for pid in _qemu_pids(cloud.data_dir):
            subprocess.run(["kill", "-9", str(pid)], check=False)
        KernelNetwork(cloud.data_dir / "hosts" / "local" / "network").teardown()  # if left


# Two bare guests on a bridge ----------------------------------------------------------------
def ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=True, timeout=20)


class Bridge:
    """A namespace with a bridge (10.98.0.1/24), dnsmasq handing out fixed addresses, and the
    metadata address on its loopback (refused at once: the guests turn to their config drive)."""

    def __init__(self, tmp: Path, macs: dict[str, str]) -> None:
        self.netns, self.tmp = f"ocbench-{uuid.uuid4().hex[:8]}", tmp
        ip("netns", "add", self.netns)
        for line in (["link", "add", "br0", "type", "bridge"], ["link", "set", "br0", "up"],
                     ["addr", "add", "10.98.0.1/24", "dev", "br0"], ["link", "set", "lo", "up"],
                     ["addr", "add", "169.254.169.254/32", "dev", "lo"]):
            ip("-n", self.netns, *line)
        subprocess.run(["ip", "netns", "exec", self.netns, "dnsmasq", "--no-resolv",
                        "--no-hosts", "--port=0", "--interface=br0", "--bind-interfaces",
                        "--dhcp-range=10.98.0.10,10.98.0.99,255.255.255.0,1h",
                        "--dhcp-option=option:router,10.98.0.1", "--user=root",
                        f"--pid-file={tmp / 'dnsmasq.pid'}",
                        f"--dhcp-leasefile={tmp / 'leases'}",
                        *(f"--dhcp-host={mac},{address}" for mac, address in macs.items())],
                       check=True, timeout=20)

    def join(self, tap: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while subprocess.run(["ip", "link", "show", tap], capture_output=True).returncode:
            if time.monotonic() > deadline:
                raise SystemExit(f"qemu made no tap {tap}")
            time.sleep(0.1)
        ip("link", "set", tap, "netns", self.netns)
        ip("-n", self.netns, "link", "set", tap, "master", "br0", "up")

    def remove(self) -> None:
        pid = self.tmp / "dnsmasq.pid"
        if pid.exists():
            subprocess.run(["kill", pid.read_text().strip()], check=False)
        ip("netns", "del", self.netns, check=False)


def bare_pair(tmp: Path, image: BootImage, mib: int, pings: int) -> tuple[float, float]:
    guests = {"i-0000000000000b0a1": ("52:54:00:98:00:11", "10.98.0.11", RECEIVER),
              "i-0000000000000b0a2": ("52:54:00:98:00:12", "10.98.0.12",
                                      sender("10.98.0.11", mib, pings))}
    bridge = Bridge(tmp, {mac: address for mac, address, _ in guests.values()})
    driver = QemuDriver(str(tmp / "bare"), accel="tcg", network_mode="kernel")
    try:
        for name, (mac, address, script) in guests.items():
            tap = "ob" + name[-4:]
            files = {"openstack/latest/meta_data.json": json.dumps({"uuid": name}).encode(),
                     "openstack/latest/user_data": script.encode()}
            driver.create(LaunchSpec(name=name, vcpus=VCPUS, memory_mib=MEMORY_MIB,
                                     disk_gib=1, image=image,
                                     network=NetworkSpec(mac, address, "10.98.0.0/24",
                                                         "10.98.0.1", tap=tap),
                                     config_drive=files))
            bridge.join(tap)
        def console(name: str) -> str:
            return driver.console_output(name).decode(errors="replace")
        sent = until_done(lambda: console("i-0000000000000b0a2"), "bare")
        return results(sent, console("i-0000000000000b0a1"))
    finally:
        for name in guests:
            driver.destroy(name)
        bridge.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=64)
    parser.add_argument("--pings", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    vpc, bare = [], []
    for _ in range(args.rounds):  # interleaved, so both see the same machine load
        with tempfile.TemporaryDirectory(prefix="bnet-") as name:
            tmp = Path(name)
            vpc.append(vpc_pair(tmp, args.mib, args.pings))
            manifest = json.loads((tmp / "data" / "images" / "builtin" / MANIFEST).read_text())
            image = BootImage(**{k: manifest[k] for k in (
                "disk_path", "disk_format", "kernel_path", "ramdisk_path", "kernel_cmdline")})
            bare.append(bare_pair(tmp, image, args.mib, args.pings))
    for label, runs in (("VPC (kernel networking)", vpc), ("bare bridge", bare)):
        print(f"{label}: TCP {statistics.median(r[0] for r in runs):.0f} Mbit/s, "
              f"RTT {statistics.median(r[1] for r in runs):.3f} ms  (runs: "
              + ", ".join(f"{m:.0f} Mbit/s {t:.3f} ms" for m, t in runs) + ")")
    ratio = statistics.median(r[0] for r in vpc) / statistics.median(r[0] for r in bare)
    print(f"throughput VPC/bare: {ratio:.2f} (goal >= 0.9)")


if __name__ == "__main__":
    main()
