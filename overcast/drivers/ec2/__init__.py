"""The `ec2` driver: a remote EC2-compatible cloud (AWS, moto, another Overcast) as a burst
target, driven with boto3."""

from overcast.drivers.ec2.driver import Ec2Driver
from overcast.drivers.ec2.errors import RemoteRefused, RemoteUnavailable
from overcast.drivers.ec2.spec import Ec2Target, IngressRule, RemoteLaunchSpec, RemoteVm

__all__ = ["Ec2Driver", "Ec2Target", "IngressRule", "RemoteLaunchSpec", "RemoteRefused",
           "RemoteUnavailable", "RemoteVm"]
