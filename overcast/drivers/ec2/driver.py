"""The ec2 driver: each Overcast instance placed on a burst target is one remote instance,
found again by its tags. Every call is idempotent, as the agent expects."""

from __future__ import annotations

import builtins
import logging
import threading
from collections.abc import Callable
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from overcast.drivers.base import (
    Capabilities,
    DriverError,
    HostCapacity,
    LaunchSpec,
    NetworkSpec,
    PowerState,
    VmStatus,
    VolumeDisk,
)
from overcast.drivers.ec2 import groups
from overcast.drivers.ec2.errors import RemoteRefused, error_code, remote_call
from overcast.drivers.ec2.spec import (
    TAG_CLOUD,
    TAG_INSTANCE,
    TAG_TARGET,
    Ec2Target,
    IngressRule,
    RemoteLaunchSpec,
    RemoteVm,
    client_token,
    remote_key_name,
)

log = logging.getLogger("overcast.ec2")
UNLIMITED = 1 << 30
STATES = ("pending", "running", "stopping", "stopped", "shutting-down", "terminated")
POWER = {"pending": PowerState.RUNNING, "running": PowerState.RUNNING,
         "stopping": PowerState.STOPPED, "stopped": PowerState.STOPPED,
         "shutting-down": PowerState.STOPPED, "terminated": PowerState.STOPPED}
# Short timeouts and few retries: the agent retries with its own backoff, and a remote that is
# down must not hold the reconcile loop.
CLIENT_CONFIG = Config(connect_timeout=3, read_timeout=20,
                       retries={"max_attempts": 2, "mode": "standard"})
USER_TAG_LIMIT = 40  # AWS allows 50 tags; three are ours


def make_client(target: Ec2Target) -> Any:
    import boto3  # only `overcast up` with a burst target needs it

    return boto3.session.Session().client(
        "ec2", endpoint_url=target.endpoint, region_name=target.region,
        aws_access_key_id=target.access_key_id,
        aws_secret_access_key=target.secret_access_key, config=CLIENT_CONFIG)


class Ec2Driver:
    name = "ec2"

    def __init__(self, target: Ec2Target, client: Any = None) -> None:
        self.target = target
        self.client = client or make_client(target)
        self._remote_ids: dict[str, str] = {}  # Overcast ID -> remote ID, from the last list
        self._lock = threading.Lock()

    CAPABILITIES = Capabilities(console_output=True, reboot=True, remote_cloud=True)

    def capabilities(self) -> Capabilities:
        return self.CAPABILITIES

    def capacity(self) -> HostCapacity:
        return HostCapacity(self.target.max_vcpus or UNLIMITED, UNLIMITED, UNLIMITED)

    # reading ----------------------------------------------------------------------------
    def _ours(self) -> list[dict[str, Any]]:
        return [{"Name": f"tag:{TAG_CLOUD}", "Values": [self.target.cloud_id]},
                {"Name": f"tag:{TAG_TARGET}", "Values": [self.target.target_id]}]

    def _describe(self, filters: list[dict[str, Any]]) -> list[dict[str, Any]]:
        found = []
        with remote_call(self.target.name):
            pages = self.client.get_paginator("describe_instances").paginate(Filters=filters)
            for page in pages:
                for reservation in page.get("Reservations", []):
                    found.extend(reservation.get("Instances", []))
        return found

    def list(self) -> dict[str, VmStatus]:
        """This cloud's instances on the target (RemoteVm each), keyed by Overcast ID. A
        second live remote instance for one Overcast ID (it should never happen) is listed
        under its own remote ID, so the orphan sweep removes it."""
        listed: dict[str, RemoteVm] = {}
        for item in self._describe(self._ours()):
            vm = _remote_vm(item)
            earlier = listed.get(vm.name)
            if earlier is None or (earlier.gone and not vm.gone):
                listed[vm.name] = vm
            elif not vm.gone:
                listed[vm.remote_id] = RemoteVm(vm.remote_id, vm.state, remote_id=vm.remote_id,
                                                remote_state=vm.remote_state)
        with self._lock:
            self._remote_ids = {n: vm.remote_id for n, vm in listed.items() if not vm.gone}
        found: dict[str, VmStatus] = dict(listed)
        return found

    def _find(self, name: str) -> str | None:
        """The live remote instance of an Overcast instance, asked of the remote itself."""
        filters = [*self._ours(), {"Name": f"tag:{TAG_INSTANCE}", "Values": [name]},
                   {"Name": "instance-state-name", "Values": list(STATES[:4])}]
        found = self._describe(filters)
        return found[0]["InstanceId"] if found else None

    def _remote_id(self, name: str) -> str | None:
        with self._lock:
            known = self._remote_ids.get(name)
        return known or self._find(name)

    # acting -----------------------------------------------------------------------------
    def create(self, spec: LaunchSpec) -> None:
        if not isinstance(spec, RemoteLaunchSpec):  # the agent of a target builds these
            raise DriverError(f"instance {spec.name}: a burst target launches only with its "
                              "mapped image and instance type")
        if self._find(spec.name):
            return
        params: dict[str, Any] = {
            "ImageId": spec.remote_image_id, "InstanceType": spec.remote_instance_type,
            "MinCount": 1, "MaxCount": 1,
            "ClientToken": client_token(self.target.cloud_id, spec.name),
            "TagSpecifications": [{"ResourceType": "instance", "Tags": self._tags(spec)}],
        }
        if spec.user_data:
            params["UserData"] = spec.user_data
        if spec.public_key:
            params["KeyName"] = self._ensure_key(spec.public_key)
        if spec.mirror_groups:
            params["SecurityGroupIds"] = [groups.ensure(self, spec.name, spec.ingress)]
        with remote_call(self.target.name):
            reservation = self.client.run_instances(**params)
        remote_id = reservation["Instances"][0]["InstanceId"]
        with self._lock:
            self._remote_ids[spec.name] = remote_id
        log.info("burst target %s: %s launched as %s", self.target.name, spec.name, remote_id)

    def _tags(self, spec: RemoteLaunchSpec) -> builtins.list[dict[str, str]]:
        ours = {TAG_INSTANCE: spec.name, TAG_CLOUD: self.target.cloud_id,
                TAG_TARGET: self.target.target_id}
        users = {k: v for k, v in list(spec.tags.items())[:USER_TAG_LIMIT]
                 if not k.startswith(("aws:", "overcast:"))}
        return [{"Key": k, "Value": v} for k, v in {**users, **ours}.items()]

    def _ensure_key(self, public_key: str) -> str:
        name = remote_key_name(public_key)
        with remote_call(self.target.name):
            try:
                self.client.import_key_pair(KeyName=name, PublicKeyMaterial=public_key.encode())
            except ClientError as exc:
                if error_code(exc) != "InvalidKeyPair.Duplicate":
                    raise
        return name

    def start(self, name: str) -> None:
        remote_id = self._require(name)
        with remote_call(self.target.name):
            self.client.start_instances(InstanceIds=[remote_id])

    def stop(self, name: str, force: bool = False, timeout: float = 60.0) -> None:
        remote_id = self._require(name)
        with remote_call(self.target.name):
            self.client.stop_instances(InstanceIds=[remote_id], Force=force)

    def reboot(self, name: str) -> None:
        remote_id = self._require(name)
        with remote_call(self.target.name):
            self.client.reboot_instances(InstanceIds=[remote_id])

    def destroy(self, name: str) -> None:
        remote_id = self._remote_id(name)
        if remote_id is None:
            return
        self.terminate_remote(remote_id)

    def terminate_remote(self, remote_id: str) -> None:
        with remote_call(self.target.name):
            try:
                self.client.terminate_instances(InstanceIds=[remote_id])
            except ClientError as exc:
                if error_code(exc) != "InvalidInstanceID.NotFound":
                    raise

    def _require(self, name: str) -> str:
        remote_id = self._remote_id(name)
        if remote_id is None:
            raise RemoteRefused(self.target.name, "InvalidInstanceID.NotFound",
                                f"no remote instance for {name}")
        return remote_id

    def console_output(self, name: str) -> bytes:
        """The remote console; empty when the remote cannot say (down, or no console yet)."""
        try:
            remote_id = self._remote_id(name)
            if remote_id is None:
                return b""
            with remote_call(self.target.name):
                output = self.client.get_console_output(InstanceId=remote_id).get("Output")
        except Exception as exc:  # a console read must never fail the API call
            log.warning("burst target %s: console of %s: %s", self.target.name, name, exc)
            return b""
        return (output or "").encode()[-65536:]

    def update_network(self, name: str, network: NetworkSpec) -> None:
        """Addresses come from the remote; security groups are synced by sync_groups."""

    def pause(self, name: str) -> None:
        raise DriverError("burst instances are not paused here (Capabilities.pause)")

    def unpause(self, name: str) -> None:
        raise DriverError("burst instances are not paused here (Capabilities.pause)")

    def suspend(self, name: str) -> None:
        raise DriverError("burst instances are not suspended here (Capabilities.suspend)")

    def snapshot(self, name: str, dest: str) -> None:
        raise DriverError("images of burst instances are not written (Capabilities.snapshot)")

    def attach_volume(self, name: str, disk: VolumeDisk) -> None:
        raise DriverError("volumes of burst instances are not attached yet (Capabilities.volumes)")

    def detach_volume(self, name: str, volume_id: str, force: bool = False) -> None:
        raise DriverError("volumes of burst instances are not attached yet (Capabilities.volumes)")

    def resize_volume(self, name: str, volume_id: str, size_bytes: int) -> None:
        raise DriverError("volumes of burst instances are not attached yet (Capabilities.volumes)")

    def snapshot_volume(self, name: str, volume_id: str, dest: str) -> None:
        raise DriverError("volumes of burst instances are not attached yet")

    def sync_groups(self, name: str, ingress: tuple[IngressRule, ...]) -> None:
        groups.sync(self, name, ingress)

    def sweep_groups(self, live: Callable[[], set[str]]) -> builtins.list[str]:
        return groups.sweep(self, live)


def _remote_vm(item: dict[str, Any]) -> RemoteVm:
    tags = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
    state = item.get("State", {}).get("Name", "pending")
    name = tags.get(TAG_INSTANCE) or item["InstanceId"]
    reason = item.get("StateReason", {}).get("Message", "")
    return RemoteVm(name, POWER.get(state, PowerState.STOPPED), reason,
                    remote_id=item["InstanceId"], remote_state=state,
                    private_ip=item.get("PrivateIpAddress") or None,
                    public_ip=item.get("PublicIpAddress") or None)
