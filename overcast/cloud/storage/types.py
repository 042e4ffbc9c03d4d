"""EBS volume types and their limits, as EC2 checks them. Every type is served by the same
backend here; the type decides only what a volume may be asked for and reports."""

from __future__ import annotations

from overcast.errors import InvalidParameter, invalid

# type -> (smallest GiB, largest GiB)
SIZES = {"standard": (1, 1024), "gp2": (1, 16384), "gp3": (1, 16384), "io1": (4, 16384),
         "io2": (4, 16384), "st1": (125, 16384), "sc1": (125, 16384)}
PROVISIONED_IOPS = {"io1": (100, 64000), "io2": (100, 64000), "gp3": (3000, 16000)}
GP3_THROUGHPUT = (125, 1000)


def check_type(volume_type: str, size_gib: int, iops: int | None,
               throughput: int | None) -> None:
    if volume_type not in SIZES:
        raise invalid(f"Value ({volume_type}) for parameter volumeType is invalid. Valid "
                      f"types: {', '.join(SIZES)}")
    low, high = SIZES[volume_type]
    if size_gib < low:
        raise invalid(f"Volume of {size_gib}GiB is too small; minimum is {low}GiB.")
    if size_gib > high:
        raise invalid(f"Volume of {size_gib}GiB is too large; maximum is {high}GiB.")
    if iops is not None:
        if volume_type not in PROVISIONED_IOPS:
            raise InvalidParameter("InvalidParameterCombination", f"The parameter iops is "
                                   f"not supported for {volume_type} volumes.")
        low, high = PROVISIONED_IOPS[volume_type]
        if not low <= iops <= high:
            raise invalid(f"Volume iops of {iops} is out of range; {volume_type} takes "
                          f"{low} to {high}.")
    elif volume_type in ("io1", "io2"):
        raise InvalidParameter("MissingParameter",
                               f"The request must contain the parameter iops for "
                               f"{volume_type} volumes")
    if throughput is not None:
        if volume_type != "gp3":
            raise InvalidParameter("InvalidParameterCombination", "The parameter throughput "
                                   f"is not supported for {volume_type} volumes.")
        if not GP3_THROUGHPUT[0] <= throughput <= GP3_THROUGHPUT[1]:
            raise invalid(f"Volume throughput of {throughput} is out of range; gp3 takes "
                          f"{GP3_THROUGHPUT[0]} to {GP3_THROUGHPUT[1]} MiB/s.")


def reported_iops(volume_type: str, size_gib: int, iops: int | None) -> int | None:
    """The IOPS a volume reports: asked for, or what EC2 gives the type by default."""
    if iops is not None:
        return iops
    if volume_type == "gp3":
        return 3000
    if volume_type == "gp2":
        return min(max(100, 3 * size_gib), 16000)
    return None


def reported_throughput(volume_type: str, throughput: int | None) -> int | None:
    return throughput if throughput is not None else 125 if volume_type == "gp3" else None
