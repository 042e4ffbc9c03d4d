"""What runs inside the built-in test image: busybox init's scripts and the files they use.

rc.boot loads the virtio modules, brings eth0 up with DHCP and takes the SSH key and user data
from the metadata service at 169.254.169.254, or, when no metadata service answers, from a
config drive (an ISO 9660 or FAT file system labelled config-2, OpenStack layout). It starts
dropbear, prints the boot-finished line and runs user data that starts with "#!".

The SSH host key is the instance's own: made at its first boot and kept on its disk (the FAT
boot partition, /overcast/), so reboots and stop/start keep it; a disk that another instance
made (an image of it) gets a new one, as cloud-init does per instance ID. Its fingerprint and
public key go to the serial console in cloud-init's blocks, so GetConsoleOutput lets a user
check what ssh is shown.
"""

from __future__ import annotations

BOOT_LINE = "overcast-testimage: booted"
BOOT_MODULES = ("virtio_pci", "virtio_net", "virtio_blk", "virtio-rng", "button", "evdev",
                "vfat", "nls_cp437", "nls_ascii")  # the boot partition keeps the host key
# Loaded only when no metadata service answers: the IDE CD-ROM the config drive sits on.
CONFIG_DRIVE_MODULES = ("sr_mod", "ata_piix", "isofs", "vfat", "nls_cp437", "nls_iso8859-1")

DIRECTORIES = (
    "bin",
    "sbin",
    "usr",
    "usr/bin",
    "usr/sbin",
    "lib",
    "lib64",
    "lib/modules",
    "etc",
    "etc/dropbear",
    "etc/acpi",
    "etc/acpi/PWRF",
    "proc",
    "sys",
    "dev",
    "run",
    "mnt",
    "mnt/disk",
    "var",
    "var/log",
    "root",
    "root/.ssh",
)

RC_BOOT = """#!/bin/sh
# overcast test image: one-shot boot script run by busybox init (::sysinit)
export PATH=/sbin:/bin:/usr/sbin:/usr/bin
say() { echo "overcast-testimage: $*" > /dev/console; }
load_modules() { while read -r mod; do insmod "/lib/modules/$mod" 2>/dev/null; done < "$1"; }
# fetch URL FILE, with GNU wget (busybox-static's wget dies on -T: see testimage.py). A
# connection that fails is tried twice more (as cloud-init retries); after that, stop trying:
# there is no metadata service. An HTTP error (wget's status 8) is an answer: no retry.
# IMDSv2 first (instances may require it): a session token from PUT /latest/api/token.
MD_UP=yes
imds_token_once() {
    printf 'PUT /latest/api/token HTTP/1.0\r\nX-aws-ec2-metadata-token-ttl-seconds: 600\r\n\r\n' |
        timeout 5 nc 169.254.169.254 80 2>/dev/null | tr -d '\r' |
        awk 'NR == 1 { print $2 } NR == 1 && $2 != "200" { exit } body { print } /^$/ { body = 1 }'
}
# The token, or nothing when the service answered without one or never answered.
imds_token() {
    for try in 1 2 3; do
        reply=$(imds_token_once)
        [ -n "$reply" ] && break
        usleep 300000
    done
    [ "${reply%%[!0-9]*}" = 200 ] && echo "$reply" | sed 1d
}
wget_once() {
    if [ -n "$TOKEN" ]; then
        wget -q -T 10 -t 1 --header "X-aws-ec2-metadata-token: $TOKEN" -O "$2" "$1"
    else
        wget -q -T 10 -t 1 -O "$2" "$1"
    fi
}
fetch() {
    [ "$MD_UP" = yes ] || return 1
    for try in 1 2 3; do
        wget_once "$1" "$2" && return 0
        status=$?
        rm -f "$2"
        [ $status = 8 ] && return 1
        usleep 300000
    done
    MD_UP=no
    return 1
}
# The values of meta_data.json's "public_keys" object, one key a line (flat JSON strings).
json_public_keys() {
    tr -d '\\n' < "$1" | sed -n 's/.*"public_keys": *{\\([^}]*\\)}.*/\\1/p' |
        awk -F'"' '{ gsub(/\\\\"/, "\\001")
            for (i = 4; i <= NF; i += 4) { v = $i; gsub(/\\001/, "\\"", v); print v } }' |
        sed -e 's/\\\\n$//' -e 's/\\\\\\//\\//g'
}
# The instance's SSH host key (ed25519) in dropbear's place: the one kept on the boot
# partition unless it was made for another instance ($1: this one's ID; empty: unknown), else
# a new one, kept there. Without a boot partition the key lasts one boot.
host_key() {
    key=/etc/dropbear/dropbear_ed25519_host_key kept=/mnt/disk/overcast
    if [ -b /dev/vda1 ] && mount -t vfat -o umask=077 /dev/vda1 /mnt/disk 2>/dev/null; then
        mkdir -p $kept
        made_for=$(cat $kept/instance-id 2>/dev/null)
        if [ -s $kept/ssh_host_ed25519_key ] &&
                { [ -z "$1" ] || [ -z "$made_for" ] || [ "$1" = "$made_for" ]; }; then
            cp $kept/ssh_host_ed25519_key $key
            [ -n "$made_for" ] || echo "$1" > $kept/instance-id
        else
            dropbearkey -t ed25519 -f $key >/dev/null 2>&1
            cp $key $kept/ssh_host_ed25519_key && echo "$1" > $kept/instance-id
        fi
        umount /mnt/disk
    fi
    [ -s $key ] || dropbearkey -t ed25519 -f $key >/dev/null 2>&1
    chmod 600 $key
}
# The host key's fingerprint and public key in cloud-init's console blocks ($1: the key).
print_host_key() {
    pub=$(dropbearkey -y -f "$1" 2>/dev/null)
    line=$(echo "$pub" | grep '^ssh-ed25519 ')
    echo "-----BEGIN SSH HOST KEY FINGERPRINTS-----"
    echo "256 $(echo "$pub" | sed -n 's/^Fingerprint: //p') ${line##* } (ED25519)"
    echo "-----END SSH HOST KEY FINGERPRINTS-----"
    echo "-----BEGIN SSH HOST KEY KEYS-----"
    echo "$line"
    echo "-----END SSH HOST KEY KEYS-----"
}
# Mount the config drive on /mnt/config; false when there is none.
mount_config_drive() {
    load_modules /etc/modules.config-drive
    dev=$(findfs LABEL=config-2 2>/dev/null)
    n=0
    while [ -z "$dev" ] && [ -e /sys/block/sr0 ] && [ $n -lt 20 ]; do
        usleep 100000; n=$((n+1))  # a CD-ROM is there: give its medium a moment
        dev=$(findfs LABEL=config-2 2>/dev/null)
    done
    [ -n "$dev" ] || return 1
    mkdir -p /mnt/config
    mount -o ro "$dev" /mnt/config 2>/dev/null
}
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
load_modules /etc/modules.boot
hostname -F /etc/hostname
ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 50 ]; do usleep 100000; n=$((n+1)); done
# 15 tries a second apart: a guest starved by a busy host (a boot storm) can miss a few
udhcpc -i eth0 -s /etc/udhcpc.script -q -f -n -t 15 -T 1 >/dev/null 2>&1 || say "dhcp failed"
IP=$(cat /run/ip 2>/dev/null)
DISK=none
[ -b /dev/vda ] && DISK="vda:$(cat /sys/block/vda/size)"
MD=http://169.254.169.254:80/latest
TOKEN=$(imds_token)
CD=/mnt/config/openstack/latest
SOURCE=none
KEYS=none
fetch "$MD/meta-data/instance-id" /run/instance-id
if fetch "$MD/meta-data/public-keys/0/openssh-key" /run/openssh-key; then
    SOURCE=metadata
elif [ "$MD_UP" = yes ]; then
    SOURCE=metadata  # the service answered: this instance has no key
elif mount_config_drive; then
    SOURCE=config-drive
    json_public_keys "$CD/meta_data.json" > /run/openssh-key
    [ -f "$CD/user_data" ] && cp "$CD/user_data" /run/user-data
    sed -n 's/.*"instance-id": *"\\([^"]*\\)".*/\\1/p' \\
        /mnt/config/ec2/latest/meta-data.json > /run/instance-id 2>/dev/null
fi
if [ -s /run/openssh-key ]; then
    cat /run/openssh-key >> /root/.ssh/authorized_keys && KEYS=installed
fi
chmod 600 /root/.ssh/authorized_keys 2>/dev/null
host_key "$(head -n 1 /run/instance-id 2>/dev/null)"
print_host_key /etc/dropbear/dropbear_ed25519_host_key > /dev/console
dropbear -p 22 -r /etc/dropbear/dropbear_ed25519_host_key -P /run/dropbear.pid
acpid -c /etc/acpi
say "booted, ip=${IP:-none} disk=$DISK source=$SOURCE ssh-key=$KEYS" \\
    "uptime=$(cut -d" " -f1 /proc/uptime)"
[ "$SOURCE" = metadata ] && fetch "$MD/user-data" /run/user-data
if [ -f /run/user-data ] && [ "$(head -c 2 /run/user-data)" = "#!" ]; then
    chmod 700 /run/user-data
    ( /run/user-data > /dev/console 2>&1; say "user-data exit=$?" ) &
fi
"""

RC_SHUTDOWN = """#!/bin/sh
echo "overcast-testimage: shutting down" > /dev/console
kill "$(cat /run/dropbear.pid 2>/dev/null)" 2>/dev/null
umount /mnt/config 2>/dev/null
sync
"""

UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc calls this with deconfig|bound|renew|leasefail|nak; busybox-static ships none
case "$1" in
deconfig)
    ip addr flush dev "$interface"
    ip link set "$interface" up
    ;;
bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    if [ -n "$router" ]; then
        set -- $router
        # the offered netmask can be 0.0.0.0: reach the router by a host route first
        ip route replace "$1" dev "$interface"
        ip route replace default via "$1" dev "$interface"
    else
        # no router (Overcast's restricted user network): everything is on-link
        ip route replace default dev "$interface"
    fi
    : > /etc/resolv.conf
    for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
    echo "$ip" > /run/ip
    ;;
esac
exit 0
"""

INITTAB = """::sysinit:/etc/rc.boot
::askfirst:-/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/etc/rc.shutdown
"""

POWER_BUTTON = """#!/bin/sh
echo "overcast-testimage: power button pressed" > /dev/console
poweroff
"""

GUEST_FILES: dict[str, tuple[str, int]] = {
    "etc/inittab": (INITTAB, 0o644),
    "etc/rc.boot": (RC_BOOT, 0o755),
    "etc/rc.shutdown": (RC_SHUTDOWN, 0o755),
    "etc/udhcpc.script": (UDHCPC_SCRIPT, 0o755),
    "etc/acpi/PWRF/00000080": (POWER_BUTTON, 0o755),
    "etc/passwd": ("root:x:0:0:root:/root:/bin/sh\n", 0o644),
    "etc/shadow": ("root:*:19000:0:99999:7:::\n", 0o600),
    "etc/group": ("root:x:0:\n", 0o644),
    "etc/shells": ("/bin/sh\n", 0o644),
    "etc/nsswitch.conf": ("passwd: files\ngroup: files\nshadow: files\n", 0o644),
    "etc/hostname": ("overcast-test\n", 0o644),
    "root/.ssh/authorized_keys": ("", 0o600),
}
