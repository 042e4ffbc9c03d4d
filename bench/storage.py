"""Volumes inside a guest: I/O on a hot-plugged volume versus the same file on qemu's command
line, and attach/detach latency through the EC2 API.

    python -m bench.storage [--cycles 10] [--mib 512] [--rounds 5]

One `overcast up --driver qemu` (TCG here), one t2.nano guest of the built-in image, 1 GiB
volumes. First --cycles attach/detach pairs on the running guest, each timed from the API
call until DescribeVolumes shows it attached (or available), and until the guest shows (or no
longer shows) /sys/block/vdb: p50 and p99. Then I/O, busybox `dd` in the guest with O_DIRECT
(no fio in the image): sequential 1 MiB writes and reads of --mib MiB, 4 KiB writes and reads
(16384 of each), the median of --rounds runs, on two volumes of one guest taking turns: one
that qemu opened from its command line (-blockdev/-device: attached, then a stop and start),
one hot-plugged into the running guest (QMP blockdev-add + device_add). The ratio hot/cold is
the figure (goal >= 0.9).
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


def io_rates(key: Path, host: str, devices: dict[str, str], mib: int,
             rounds: int) -> dict[str, dict[str, float]]:
    """Median MiB/s of `rounds` runs of each test on each device (label -> /dev/vdX), the
    devices taking turns run by run so that the machine's load falls on both alike:
    sequential 1 MiB and 4 KiB direct writes and reads."""
    small = 16384
    runs = {
        "seq write 1M": ("dd if=/dev/zero of={dev} bs=1M count={n} oflag=direct", mib, mib),
        "seq read 1M": ("dd if={dev} of=/dev/null bs=1M count={n} iflag=direct", mib, mib),
        "4k write": ("dd if=/dev/zero of={dev} bs=4k count={n} oflag=direct", small,
                     small * 4 / 1024),
        "4k read": ("dd if={dev} of=/dev/null bs=4k count={n} iflag=direct", small,
                    small * 4 / 1024),
    }
    found: dict[str, dict[str, list[float]]] = {
        label: {name: [] for name in runs} for label in devices}
    for _ in range(rounds):
        for name, (command, count, size) in runs.items():
            for label, dev in devices.items():
                seconds = timed(key, host, command.format(dev=dev, n=count))
                found[label][name].append(size / seconds)
    return {label: {name: statistics.median(rates) for name, rates in tests.items()}
            for label, tests in found.items()}


def device_of(key: Path, host: str, volume_id: str) -> str:
    """The guest's /dev/vdX of a volume, found by its serial (the ID without its dash)."""
    serial = volume_id.replace("-", "")
    out = ssh(key, host, "for d in /sys/block/vd*; do echo $d $(cat $d/serial); done")
    for line in out.splitlines():
        path, _, found = line.partition(" ")
        if found.strip() == serial:
            return "/dev/" + path.rsplit("/", 1)[1]
    raise AssertionError(f"{volume_id} is not in the guest: {out}")


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
    try:
        cycles, rates = measure(ec2, key, iid, args)
    finally:  # guests outlive `overcast up`: leave none behind
        ec2.terminate_instances(InstanceIds=[iid])
        wait_for_state(ec2, [iid], "terminated", timeout=120)
    print("| | hot-plugged (MiB/s) | on the command line (MiB/s) | ratio |")
    print("| --- | --- | --- | --- |")
    hot, cold = rates["hot"], rates["cold"]
    for name in hot:
        print(f"| {name} | {hot[name]:.1f} | {cold[name]:.1f} | {hot[name] / cold[name]:.2f} |")
    for index, what in enumerate(("attach (API: attached)", "attach (guest: /sys/block/vdb)",
                                  "detach (API: available)", "detach (guest: gone)")):
        print(f"{what}: {quantiles([c[index] for c in cycles])} over {len(cycles)} cycles")


def measure(ec2, key: Path, iid: str, args: argparse.Namespace,
            ) -> tuple[list[tuple[float, ...]], dict[str, dict[str, float]]]:
    """Latency cycles on a first volume; then that volume on the command line (attached,
    then a stop and start) beside a second one hot-plugged, both in the same guest."""
    host = public_ip(ec2, iid)
    wait_ssh(key, host)
    zone = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0][
        "Placement"]["AvailabilityZone"]
    cold, hot = (ec2.create_volume(AvailabilityZone=zone, Size=1)["VolumeId"]
                 for _ in range(2))
    wait_volume(ec2, cold, "available")
    wait_volume(ec2, hot, "available")
    cycles = [cycle(ec2, key, host, cold, iid) for _ in range(args.cycles)]
    ec2.attach_volume(VolumeId=cold, InstanceId=iid, Device="/dev/sdf")
    wait_volume(ec2, cold, "in-use")
    ec2.stop_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "stopped", timeout=120)
    ec2.start_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "running", timeout=120)
    host = public_ip(ec2, iid)
    wait_ssh(key, host)
    ec2.attach_volume(VolumeId=hot, InstanceId=iid, Device="/dev/sdg")
    wait_volume(ec2, hot, "in-use")
    devices = {"cold": device_of(key, host, cold), "hot": ""}
    deadline = time.monotonic() + 60
    while not devices["hot"]:
        try:
            devices["hot"] = device_of(key, host, hot)
        except AssertionError:
            assert time.monotonic() < deadline, "the hot-plugged volume never showed"
            time.sleep(0.2)
    for dev in devices.values():  # qcow2 allocates clusters on first writes: not timed
        timed(key, host, f"dd if=/dev/zero of={dev} bs=1M count={args.mib} oflag=direct")
    return cycles, io_rates(key, host, devices, args.mib, args.rounds)


if __name__ == "__main__":
    main()
