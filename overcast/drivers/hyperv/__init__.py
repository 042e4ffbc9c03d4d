"""Windows Server Hyper-V hosts, driven remotely over PowerShell remoting (pypsrp)."""

from overcast.drivers.hyperv.config import HostConfig
from overcast.drivers.hyperv.driver import HyperVDriver

__all__ = ["HostConfig", "HyperVDriver"]
