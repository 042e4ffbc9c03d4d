"""Volumes inside a guest: I/O on a hot-plugged volume versus the same file on qemu's command
line, and attach/detach latency through the EC2 API.

    python -m bench.storage [--cycles 10] [--mib 512] [--rounds 5]

One `overcast up --driver qemu` (TCG here), one t2.nano guest of the built-in image, one
1 GiB volume. I/O is busybox `dd` in the guest on /dev/vdb with O_DIRECT (no fio in the
image): sequential 1 MiB writes and reads of --mib MiB, then 4 KiB writes and reads (16384 of
each), the median of --rounds runs. First with the volume hot-plugged (QMP blockdev-add +
device_add), then after a stop and start, when qemu opens the same file from its command line
(-blockdev/-device): the ratio hot/cold is the figure (goal >= 0.9). Then --cycles
attach/detach pairs on the running guest, each timed from the API call until DescribeVolumes
shows it attached (or available), and until the guest shows (or no longer shows)
/sys/block/vdb: p50 and p99.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench.boot import SSH_OPTS, make_key, prepare, public_ip, start_cloud, wait_ssh
from tests.conftest import wait_for_state

INSTANCE_TYPE = "t2.nano"


def ssh(key: Path, host: str, command: str) -> str:
    argv = ["ssh", "-i", str(key), *SSH_OPTS, f"root@{host}", command]
    return subprocess.run(argv, capture_output=True, text=True, timeout=600,
                          check=True).stdout


def timed(key: Path, host: str, command: str) -> float:
    """Seconds the guest took for `command` (timed inside it, so SSH is not counted)."""
    up = "cut -d' ' -f1 /proc/uptime"  # centiseconds: busybox date has no %N
    out = ssh(key, host, f"a=$({up}); {command} >/dev/null 2>&1 && ok=done; b=$({up}); "
                         "echo $a $b $ok")
    start, end, done = out.split()
    assert done == "done", f"{command} failed in the guest"
    return float(end) - float(start)


def io_rates(key: Path, host: str, mib: int, rounds: int) -> dict[str, float]:
    """Median MiB/s of `rounds` runs of each: sequential 1 MiB and 4 KiB direct writes and
    reads on /dev/vdb."""
    small = 16384
    runs = {
        "seq write 1M": (f"dd if=/dev/zero of=/dev/vdb bs=1M count={mib} oflag=direct", mib),
        "seq read 1M": (f"dd if=/dev/vdb of=/dev/null bs=1M count={mib} iflag=direct", mib),
        "4k write": (f"dd if=/dev/zero of=/dev/vdb bs=4k count={small} oflag=direct",
                     small * 4 / 1024),
        "4k read": (f"dd if=/dev/vdb of=/dev/null bs=4k count={small} iflag=direct",
                    small * 4 / 1024),
    }
    found: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, (command, size) in runs.items():
            found[name].append(size / timed(key, host, command))
    return {name: statistics.median(rates) for name, rates in found.items()}


def wait_volume(ec2, vid: str, state: str) -> None:
    """Until the volume is `state`, with its attachment `attached` when in use."""
    while True:
        volume = ec2.describe_volumes(VolumeIds=[vid])["Volumes"][0]
        attached = [a["State"] for a in volume["Attachments"]]
        if volume["State"] == state and attached in ([], ["attached"]):
            return
        time.sleep(0.05)


def wait_guest(key: Path, host: str, present: bool) -> None:
    test = "test -e /sys/block/vdb" if present else "test ! -e /sys/block/vdb"
    while subprocess.run(["ssh", "-i", str(key), *SSH_OPTS, f"root@{host}", test],
                         capture_output=True, timeout=60).returncode != 0:
        time.sleep(0.05)


def cycle(ec2, key: Path, host: str, vid: str, iid: str) -> tuple[float, ...]:
    """(API attach, guest sees it, API detach, guest let go), seconds from each call."""
    start = time.perf_counter()
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    wait_volume(ec2, vid, "in-use")
    attached = time.perf_counter() - start
    wait_guest(key, host, True)
    seen = time.perf_counter() - start
    start = time.perf_counter()
    ec2.detach_volume(VolumeId=vid)
    wait_volume(ec2, vid, "available")
    detached = time.perf_counter() - start
    wait_guest(key, host, False)
    return attached, seen, detached, time.perf_counter() - start


def quantiles(values: list[float]) -> str:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered):.2f} s, p99 {p99:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=10)
    parser.add_argument("--mib", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5, help="I/O runs each (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="overcast-bench-storage-") as tmp_name:
        tmp = Path(tmp_name)
        key, public_key = make_key(tmp)
        cloud = start_cloud(tmp, storm=0)
        try:
            run(cloud.client(), key, public_key, args)
        finally:
            cloud.stop()


def run(ec2, key: Path, public_key: str, args: argparse.Namespace) -> None:
    image = prepare(ec2, public_key)
    iid = ec2.run_instances(ImageId=image, InstanceType=INSTANCE_TYPE, KeyName="bench",
                            MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    host = public_ip(ec2, iid)
    wait_ssh(key, host)
    zone = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0][
        "Placement"]["AvailabilityZone"]
    vid = ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
    wait_volume(ec2, vid, "available")
    cycles = [cycle(ec2, key, host, vid, iid) for _ in range(args.cycles)]
    ec2.attach_volume(VolumeId=vid, InstanceId=iid, Device="/dev/sdf")
    wait_volume(ec2, vid, "in-use")
    wait_guest(key, host, True)
    hot = io_rates(key, host, args.mib, args.rounds)
    ec2.stop_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "stopped", timeout=120)
    ec2.start_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "running", timeout=120)
    host = public_ip(ec2, iid)
    wait_ssh(key, host)
    cold = io_rates(key, host, args.mib, args.rounds)
    ec2.terminate_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "terminated", timeout=120)
    print("| | hot-plugged (MiB/s) | on the command line (MiB/s) | ratio |")
    print("| --- | --- | --- | --- |")
    for name in hot:
        print(f"| {name} | {hot[name]:.1f} | {cold[name]:.1f} | {hot[name] / cold[name]:.2f} |")
    for index, what in enumerate(("attach (API: in-use)", "attach (guest: /sys/block/vdb)",
                                  "detach (API: available)", "detach (guest: gone)")):
        print(f"{what}: {quantiles([c[index] for c in cycles])} over {len(cycles)} cycles")


if __name__ == "__main__":
    main()
