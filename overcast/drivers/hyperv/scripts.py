"""Every PowerShell script the Hyper-V driver sends, as constant text.

No value from a user (or from the database) is ever spliced into these texts: each script
declares a `param(...)` block and its values travel beside it as PowerShell parameters, which
PSRP serializes as typed CLIXML data. Scripts answer with one JSON string (ConvertTo-Json) on
their output stream, or nothing; failures surface as PowerShell error records because every
script sets $ErrorActionPreference to 'Stop'.

tests/hyperv/test_scripts_grammar.py parses every script here with tree-sitter-powershell.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Script:
    name: str
    text: str
    params: tuple[str, ...]  # the names in its param block, all required


def _script(name: str, params: tuple[str, ...], body: str) -> Script:
    header = "param(" + ", ".join(f"${p}" for p in params) + ")\n" if params else ""
    return Script(name, header + "$ErrorActionPreference = 'Stop'\n" + body.strip() + "\n",
                  params)


PING = _script("ping", (), """
$PSVersionTable.PSVersion.ToString() | ConvertTo-Json -Compress
""")

HOST_INFO = _script("host_info", ("VmPath", "Marker"), """
$vmHost = Get-VMHost
$os = Get-CimInstance -ClassName Win32_OperatingSystem
$root = [IO.Path]::GetPathRoot($VmPath)
$drive = [IO.DriveInfo]::new($root)
$foreign = 0
foreach ($vm in @(Get-VM)) {
    $ours = $vm.Notes -eq $Marker -or $vm.Notes -eq ($Marker + ':creating')
    if (-not $ours) { $foreign = $foreign + $vm.MemoryAssigned }
}
$info = [ordered]@{
    ComputerName = $vmHost.ComputerName
    OsVersion = [string]$os.Version
    LogicalProcessorCount = $vmHost.LogicalProcessorCount
    MemoryCapacity = $vmHost.MemoryCapacity
    FreeMemoryBytes = $os.FreePhysicalMemory * 1024
    ForeignVmMemoryBytes = $foreign
    DiskRoot = $root
    DiskTotalBytes = $drive.TotalSize
    DiskFreeBytes = $drive.AvailableFreeSpace
}
$info | ConvertTo-Json -Compress
""")

SWITCH_INFO = _script("switch_info", ("SwitchName",), """
$found = @(Get-VMSwitch | Where-Object { $_.Name -eq $SwitchName })
$switches = @()
foreach ($s in $found) {
    $switches = $switches + @([ordered]@{ Name = $s.Name; SwitchType = [string]$s.SwitchType })
}
ConvertTo-Json -InputObject @($switches) -Compress
""")

IMAGE_STATUS = _script("image_status", ("Directory", "Path"), """
New-Item -ItemType Directory -Force -Path $Directory | Out-Null
$present = Test-Path -LiteralPath $Path -PathType Leaf
$length = 0
if ($present) { $length = (Get-Item -LiteralPath $Path).Length }
[ordered]@{ Exists = $present; Length = $length } | ConvertTo-Json -Compress
""")

PREPARE_DIR = _script("prepare_dir", ("Directory",), """
New-Item -ItemType Directory -Force -Path $Directory | Out-Null
""")

CREATE_VM = _script("create_vm", (
    "Name", "Directory", "ParentPath", "DiskBytes", "Generation", "SecureBootTemplate",
    "CpuCount", "MemoryBytes", "SwitchName", "MacAddress", "IsoPath", "PipeName", "Marker"), """
New-Item -ItemType Directory -Force -Path $Directory | Out-Null
$disk = Join-Path -Path $Directory -ChildPath 'root.vhdx'
if (-not (Test-Path -LiteralPath $disk)) {
    New-VHD -ParentPath $ParentPath -Path $disk -Differencing | Out-Null
}
if ((Get-VHD -Path $disk).Size -lt $DiskBytes) {
    Resize-VHD -Path $disk -SizeBytes $DiskBytes
}
$creating = $Marker + ':creating'
$created = $false
$vm = @(Get-VM | Where-Object { $_.Name -eq $Name })[0]
if ($null -ne $vm -and $vm.Notes -eq $creating) {
    Remove-VM -VM $vm -Force
    $vm = $null
}
if ($null -ne $vm -and $vm.Notes -ne $Marker) {
    throw "a virtual machine of this name exists that Overcast does not own"
}
if ($null -eq $vm) {
    $new = @{
        Name = $Name; Generation = $Generation; MemoryStartupBytes = $MemoryBytes
        NoVHD = $true; Path = $Directory; SwitchName = $SwitchName
    }
    $vm = New-VM @new
    $created = $true
    Set-VM -VM $vm -Notes $creating
    Set-VMMemory -VM $vm -DynamicMemoryEnabled $false -StartupBytes $MemoryBytes
    Set-VMProcessor -VM $vm -Count $CpuCount
    Get-VMNetworkAdapter -VM $vm | Set-VMNetworkAdapter -StaticMacAddress $MacAddress
    $drive = Add-VMHardDiskDrive -VM $vm -Path $disk -Passthru
    if ($IsoPath -ne '') { Add-VMDvdDrive -VM $vm -Path $IsoPath }
    Set-VMComPort -VM $vm -Number 1 -Path ('\\\\.\\pipe\\' + $PipeName)
    if ($Generation -eq 2) {
        $firmware = @{ VM = $vm; FirstBootDevice = $drive; EnableSecureBoot = 'Off' }
        if ($SecureBootTemplate -ne '') {
            $firmware.EnableSecureBoot = 'On'
            $firmware.SecureBootTemplate = $SecureBootTemplate
        }
        Set-VMFirmware @firmware
    }
    Set-VM -VM $vm -Notes $Marker
}
[ordered]@{ Created = $created; Name = $vm.Name } | ConvertTo-Json -Compress
""")

START_VM = _script("start_vm", ("Name",), """
$vm = @(Get-VM | Where-Object { $_.Name -eq $Name })[0]
if ($null -eq $vm) { throw ('no virtual machine named ' + $Name) }
if ([string]$vm.State -ne 'Running') { Start-VM -VM $vm }
""")

STOP_VM = _script("stop_vm", ("Name", "TimeoutSeconds", "TurnOff"), """
$vm = @(Get-VM | Where-Object { $_.Name -eq $Name })[0]
if ($null -eq $vm) { throw ('no virtual machine named ' + $Name) }
if ([string]$vm.State -eq 'Off') { return }
if (-not $TurnOff) {
    $job = Stop-VM -VM $vm -Force -AsJob
    $done = Wait-Job -Job $job -Timeout $TimeoutSeconds
    Remove-Job -Job $job -Force
}
$vm = @(Get-VM | Where-Object { $_.Name -eq $Name })[0]
if ([string]$vm.State -ne 'Off') { Stop-VM -VM $vm -TurnOff -Force }
""")

RESTART_VM = _script("restart_vm", ("Name",), """
$vm = @(Get-VM | Where-Object { $_.Name -eq $Name })[0]
if ($null -eq $vm) { throw ('no virtual machine named ' + $Name) }
Restart-VM -VM $vm -Force
""")

DESTROY_VM = _script("destroy_vm", ("Name", "Directory", "Marker"), """
$vm = @(Get-VM | Where-Object { $_.Name -eq $Name })[0]
if ($null -ne $vm) {
    if ($vm.Notes -ne $Marker -and $vm.Notes -ne ($Marker + ':creating')) {
        throw "refusing to remove a virtual machine that Overcast does not own"
    }
    if ([string]$vm.State -ne 'Off') { Stop-VM -VM $vm -TurnOff -Force }
    Remove-VM -VM $vm -Force
}
# The console reader may hold console.log for a moment before it notices the VM is gone.
for ($try = 1; Test-Path -LiteralPath $Directory; $try++) {
    try {
        Remove-Item -LiteralPath $Directory -Recurse -Force
    } catch {
        if ($try -ge 5) { throw }
        Start-Sleep -Seconds 2
    }
}
""")

LIST_VMS = _script("list_vms", ("Marker",), """
$items = @()
foreach ($vm in @(Get-VM)) {
    if ($vm.Notes -ne $Marker) { continue }
    $ips = @()
    foreach ($adapter in @(Get-VMNetworkAdapter -VM $vm)) {
        foreach ($ip in @($adapter.IPAddresses)) { if ($ip) { $ips = $ips + @([string]$ip) } }
    }
    $items = $items + @([ordered]@{
        Name = $vm.Name
        State = [string]$vm.State
        Status = [string]$vm.Status
        UptimeSeconds = [int]$vm.Uptime.TotalSeconds
        IPAddresses = @($ips)
    })
}
ConvertTo-Json -InputObject @($items) -Compress -Depth 3
""")

# Runs in its own powershell.exe on the host, detached from the remoting session, so the
# COM1 pipe keeps being drained into a file while no one is connected. Its only input is
# the base64 of a JSON document, put in place of the marker by CONSOLE_START on the host:
# base64 cannot leave the single-quoted string it lands in.
CONFIG_MARKER = "__OVERCAST_CONSOLE_CONFIG__"
CONSOLE_READER = """$ErrorActionPreference = 'Stop'
$json = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('__OVERCAST_CONSOLE_CONFIG__'))
$config = ConvertFrom-Json -InputObject $json
$mutex = New-Object System.Threading.Mutex($false, ('Local\\overcast-console-' + $config.Name))
if (-not $mutex.WaitOne(0)) { exit }
$buffer = New-Object byte[] 4096
while ($null -ne @(Get-VM | Where-Object { $_.Name -eq $config.Name })[0]) {
    $direction = [System.IO.Pipes.PipeDirection]::In
    $pipe = New-Object System.IO.Pipes.NamedPipeClientStream('.', $config.Pipe, $direction)
    try {
        $pipe.Connect(5000)
        while (($count = $pipe.Read($buffer, 0, $buffer.Length)) -gt 0) {
            $log = [IO.File]::Open($config.Log, 'Append', 'Write', 'ReadWrite')
            try { $log.Write($buffer, 0, $count); $size = $log.Length } finally { $log.Dispose() }
            if ($size -gt $config.MaxBytes) {
                # keep the newest quarter: the console output a user asks for is the tail
                $data = [IO.File]::ReadAllBytes($config.Log)
                $keep = [int]($config.MaxBytes / 4)
                $tail = New-Object byte[] $keep
                [Array]::Copy($data, $data.Length - $keep, $tail, 0, $keep)
                [IO.File]::WriteAllBytes($config.Log, $tail)
            }
        }
    } catch {
        Start-Sleep -Seconds 2
    } finally {
        $pipe.Dispose()
    }
}
"""

CONSOLE_START = _script("console_start", ("Name", "PipeName", "LogPath", "MaxBytes",
                                          "ReaderScript"), """
$config = [ordered]@{ Name = $Name; Pipe = $PipeName; Log = $LogPath; MaxBytes = $MaxBytes }
$json = ConvertTo-Json -InputObject $config -Compress
$encoded = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes($json))
$child = $ReaderScript.Replace('__OVERCAST_CONSOLE_CONFIG__', $encoded)
$command = [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes($child))
$line = 'powershell.exe -NoProfile -NonInteractive -WindowStyle Hidden -EncodedCommand ' + $command
$arguments = @{ CommandLine = $line }
$result = Invoke-CimMethod -ClassName Win32_Process -MethodName Create -Arguments $arguments
$answer = [ordered]@{ ReturnValue = $result.ReturnValue; ProcessId = $result.ProcessId }
$answer | ConvertTo-Json -Compress
""")

CONSOLE_READ = _script("console_read", ("LogPath", "MaxBytes"), """
if (-not (Test-Path -LiteralPath $LogPath)) { '' | ConvertTo-Json -Compress; return }
$stream = [IO.File]::Open($LogPath, 'Open', 'Read', 'ReadWrite')
try {
    $start = [Math]::Max([int64]0, $stream.Length - $MaxBytes)
    $stream.Seek($start, 'Begin') | Out-Null
    $buffer = New-Object byte[] ($stream.Length - $start)
    $read = $stream.Read($buffer, 0, $buffer.Length)
    [Convert]::ToBase64String($buffer, 0, $read) | ConvertTo-Json -Compress
} finally {
    $stream.Dispose()
}
""")

ALL_SCRIPTS: tuple[Script, ...] = (
    PING, HOST_INFO, SWITCH_INFO, IMAGE_STATUS, PREPARE_DIR, CREATE_VM, START_VM, STOP_VM,
    RESTART_VM, DESTROY_VM, LIST_VMS, CONSOLE_START, CONSOLE_READ)
BY_NAME = {s.name: s for s in ALL_SCRIPTS}
