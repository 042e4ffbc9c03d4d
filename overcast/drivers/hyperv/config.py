"""How to reach one Hyper-V host, and where Overcast keeps its files there."""

from __future__ import annotations

from dataclasses import dataclass, field

AUTH_METHODS = ("negotiate", "ntlm", "kerberos", "credssp")
# Notes value that marks a VM as Overcast's: the driver lists and removes only those. A
# cloud adds its host registration's ID, so two clouds sharing a host leave each other be.
VM_MARKER = "overcast-managed"


@dataclass(frozen=True)
class HostConfig:
    name: str
    address: str
    username: str
    password: str = field(repr=False)
    port: int = 5986
    auth: str = "negotiate"
    cert_validation: bool = True
    vm_path: str = "C:\\overcast"
    switch: str = "Default Switch"
    # seconds: one remote call that is not otherwise bounded, and connecting
    call_timeout: float = 60.0
    connect_timeout: float = 15.0
    marker: str = VM_MARKER

    @property
    def use_tls(self) -> bool:
        return self.port != 5985

    def image_dir(self) -> str:
        return self.vm_path.rstrip("\\") + "\\images"

    def instance_dir(self, name: str) -> str:
        return self.vm_path.rstrip("\\") + "\\instances\\" + name
