"""VM launch, side by side with a bare qemu: time from "start" until SSH accepts the key.

    python -m bench.boot [--runs 3] [--storm 20]

Peer: a bare `qemu-system-x86_64` started by this script with the same built-in image, memory
and accelerator (TCG), user networking with an SSH forward, and the key served at
169.254.169.254 the same way (the image's init reads it there). Overcast: RunInstances through
boto3 against `overcast up --driver qemu`, then SSH to the PublicIpAddress. Median of --runs
each, and the ratio overcast/bare (goal <= 1.2). Then a boot storm: --storm instances in one
RunInstances, the time until all accept SSH, failures, and the controller's peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

from overcast.cloud.compute.metadata import InstanceFacts, MetadataOptions
from overcast.drivers.qemu.network import relay_command
from overcast.images.testimage import MANIFEST
from overcast.metadata import relayauth
from overcast.metadata.server import MetadataServer
from tests.conftest import RunningCloud, cloud_env, free_port, wait_for_state

MEMORY_MIB = 512  # t2.nano
INSTANCE_TYPE = "t2.nano"
SSH_OPTS = ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "ConnectTimeout=1", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"]


def ssh_ready(key: Path, host: str, port: int = 22) -> bool:
    argv = ["ssh", "-i", str(key), "-p", str(port), *SSH_OPTS, f"root@{host}", "true"]
    return subprocess.run(argv, capture_output=True, timeout=30).returncode == 0


def wait_ssh(key: Path, host: str, port: int = 22, timeout: float = 300,
             alive: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not ssh_ready(key, host, port):
        if alive is not None and alive.poll() is not None:
            error = alive.stderr.read().decode() if alive.stderr else ""
            raise RuntimeError(f"qemu exited: {error}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"ssh to {host}:{port} never accepted the key")
        time.sleep(0.2)


def make_key(tmp: Path) -> tuple[Path, str]:
    key = tmp / "bench_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return key, (tmp / "bench_key.pub").read_text().strip()


def bare_facts(public_key: str) -> InstanceFacts:
    return InstanceFacts(
        instance_id="i-0000000000000bare", uuid="00000000-0000-4000-8000-000000000000",
        account_id="000000000000", project_id="bench", reservation_id="r-0", launch_index=0,
        image_id="ami-0", instance_type=INSTANCE_TYPE, region="bench", availability_zone="b",
        private_ip="10.0.2.15", public_ip="", mac="52:54:00:12:34:56",
        subnet_cidr="10.0.2.0/24", launch_time=datetime.now(UTC), key_name="bench",
        public_key=public_key, user_data=b"", security_groups=[], options=MetadataOptions())


def bare_argv(manifest: dict, disk: Path, ssh_port: int, metadata: tuple[str, int],
              relay_key: Path) -> list[str]:
    relay = relay_command("i-0000000000000bare", metadata, relay_key).replace(",", ",,")
    argv = ["qemu-system-x86_64", "-machine", "pc", "-accel", "tcg", "-cpu", "qemu64",
            "-m", str(MEMORY_MIB), "-display", "none", "-serial", "null",
            "-drive", f"file={disk},format=qcow2,if=virtio",
            # guestfwd needs its address inside the user network
            "-netdev", f"user,id=n0,restrict=on,net=169.254.0.0/16,host=169.254.0.2,"
                       f"dhcpstart=169.254.0.15,hostfwd=tcp:127.0.0.1:{ssh_port}-:22,"
                       f"guestfwd=tcp:169.254.169.254:80-cmd:{relay}",
            "-device", "virtio-net-pci,netdev=n0"]
    if manifest.get("kernel_path"):
        argv += ["-kernel", manifest["kernel_path"], "-append", manifest["kernel_cmdline"]]
        if manifest.get("ramdisk_path"):
            argv += ["-initrd", manifest["ramdisk_path"]]
    return argv


def bare_boot(manifest: dict, key: Path, tmp: Path, metadata: MetadataServer) -> float:
    disk = tmp / "bare.qcow2"
    disk.unlink(missing_ok=True)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", manifest["disk_format"],
                    "-b", manifest["disk_path"], str(disk)], check=True)
    port = free_port()
    start = time.perf_counter()
    qemu = subprocess.Popen(bare_argv(manifest, disk, port, metadata.endpoint,
                                      relayauth.key_path(tmp)),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_ssh(key, "127.0.0.1", port, alive=qemu)
        return time.perf_counter() - start
    finally:
        qemu.kill()
        qemu.wait()


def start_cloud(tmp: Path, storm: int) -> RunningCloud:
    env = cloud_env(tmp, driver="qemu", qemu_accel="tcg", cpu_allocation_ratio=max(4, storm),
                    disk_allocation_ratio=10,  # 20 thin 8 GiB overlays on a small disk
                    default_max_instances=max(20, storm * 2),
                    default_max_vcpus=max(64, storm * 4))
    cloud = RunningCloud(tmp / "data", free_port(), env)
    cloud.start()
    return cloud


def prepare(ec2, public_key: str) -> str:
    ec2.import_key_pair(KeyName="bench", PublicKeyMaterial=public_key.encode())
    ec2.authorize_security_group_ingress(GroupName="default", IpProtocol="tcp", FromPort=22,
                                         ToPort=22, CidrIp="0.0.0.0/0")
    return ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]


def public_ip(ec2, iid: str) -> str:
    while True:
        inst = ec2.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]
        if inst.get("PublicIpAddress"):
            return inst["PublicIpAddress"]
        time.sleep(0.1)


def overcast_boot(ec2, image: str, key: Path) -> float:
    start = time.perf_counter()
    iid = ec2.run_instances(ImageId=image, InstanceType=INSTANCE_TYPE, KeyName="bench",
                            MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    wait_ssh(key, public_ip(ec2, iid))
    elapsed = time.perf_counter() - start
    ec2.terminate_instances(InstanceIds=[iid])
    wait_for_state(ec2, [iid], "terminated", timeout=120)
    return elapsed


def storm(ec2, image: str, key: Path, count: int) -> list[float | None]:
    """Seconds from RunInstances until each instance accepts SSH (None: never did)."""
    start = time.perf_counter()
    made = ec2.run_instances(ImageId=image, InstanceType=INSTANCE_TYPE, KeyName="bench",
                             MinCount=count, MaxCount=count)["Instances"]
    ids = [i["InstanceId"] for i in made]

    def one(iid: str) -> float | None:
        try:
            wait_ssh(key, public_ip(ec2, iid), timeout=600)
            return time.perf_counter() - start
        except TimeoutError:
            return None

    with ThreadPoolExecutor(max_workers=count) as pool:
        ready = list(pool.map(one, ids))
    ec2.terminate_instances(InstanceIds=ids)
    wait_for_state(ec2, ids, "terminated", timeout=300)
    return ready


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--storm", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-boot-") as name:
        tmp = Path(name)
        key, public_key = make_key(tmp)
        cloud = start_cloud(tmp, args.storm)
        try:
            ec2 = cloud.client()
            image = prepare(ec2, public_key)
            manifest = json.loads((cloud.data_dir / "images" / "builtin" /
                                   MANIFEST).read_text())
            metadata = MetadataServer(lambda _: bare_facts(public_key), "127.0.0.1", 0,
                                      relay_key=relayauth.ensure_key(relayauth.key_path(tmp)))
            metadata.start()
            bare, ours = [], []
            for _ in range(args.runs):  # interleaved, so both see the same machine load
                bare.append(bare_boot(manifest, key, tmp, metadata))
                ours.append(overcast_boot(ec2, image, key))
            metadata.stop()
            report(bare, ours)
            if args.storm:
                ready = [t for t in storm(ec2, image, key, args.storm) if t is not None]
                print(f"boot storm: {args.storm} instances in one RunInstances -> "
                      f"{len(ready)} accept SSH, the last after {max(ready, default=0):.1f} s "
                      f"(median {statistics.median(ready) if ready else 0:.1f} s), "
                      f"{args.storm - len(ready)} failures; controller peak RSS "
                      f"{peak_rss_mib(cloud.process.pid):.0f} MiB")
        finally:
            cloud.stop()


def report(bare: list[float], ours: list[float]) -> None:
    b, o = statistics.median(bare), statistics.median(ours)
    print(f"built-in image, TCG, {MEMORY_MIB} MiB, runs={len(bare)} (start -> SSH accepts key)")
    print(f"  bare qemu:  median {b:.2f} s  {[round(x, 2) for x in bare]}")
    print(f"  overcast:   median {o:.2f} s  {[round(x, 2) for x in ours]}")
    print(f"  ratio overcast/bare: {o / b:.2f} (goal <= 1.2)")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
