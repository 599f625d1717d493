<#
.SYNOPSIS
    Installs (or removes) sealert as an always-running Windows background
    service, capturing one network device through Npcap.

.DESCRIPTION
    sealert.exe is a console program: it does not speak the Service Control
    Manager protocol, so `sc.exe create` / `New-Service` on the bare exe fails
    to start (error 1053, "did not respond in a timely fashion"). It needs a
    service wrapper:

      -Mode nssm  (default when nssm.exe is found) a real Windows service run
                  by NSSM (https://nssm.cc): restarted when it exits, stopped
                  with Ctrl+C so sealert ends cleanly, depends on the npcap
                  driver service, runs as LocalSystem.
      -Mode task  no third-party tool: a Task Scheduler task started at boot
                  as SYSTEM. Stopping it kills the process (no summary line);
                  Task Scheduler's restart-on-failure is less dependable than
                  NSSM's. Good enough for a lab, NSSM for production.

    Needs an elevated (Administrator) PowerShell and Npcap
    (https://npcap.com/#download). Npcap's "Restrict driver access to
    Administrators only" mode is fine: the service runs as LocalSystem.

    Alerts go to <LogDir>\sealert.log (SoftEther Alert text lines) and
    <LogDir>\sealert.json (JSON Lines); status lines and errors to
    <LogDir>\service-stderr.log (NSSM mode).

.EXAMPLE
    # Find the device name first (names are stable, numbers may change):
    & 'C:\Program Files\sealert\sealert.exe' --list
    .\install-service.ps1 -Device '\Device\NPF_{2B5C7D0E-1234-4C8A-9F00-0123456789AB}'

.EXAMPLE
    .\install-service.ps1 -Device '\Device\NPF_{...}' -Mode task -DryRun   # print, change nothing

.EXAMPLE
    .\install-service.ps1 -Uninstall
#>
[CmdletBinding()]
param(
    # Capture device: its name from `sealert --list` (preferred) or its number.
    [string]$Device,
    # Where sealert.exe was copied to.
    [string]$BinaryPath = "$env:ProgramFiles\sealert\sealert.exe",
    # Directory of the alert logs (created; writable by SYSTEM and Administrators only).
    [string]$LogDir = "$env:ProgramData\sealert",
    [string]$ServiceName = 'sealert',
    # nssm (a real service, needs nssm.exe) or task (Task Scheduler, built in).
    [ValidateSet('auto', 'nssm', 'task')]
    [string]$Mode = 'auto',
    # nssm.exe to use; default: the one on PATH or next to this script.
    [string]$NssmPath,
    # More sealert options, e.g. @('--syslog', 'udp://10.0.0.5:514', '--filter', 'tcp').
    [string[]]$ExtraArgs = @(),
    # Remove the service or task instead of installing it.
    [switch]$Uninstall,
    # Print what would be done and change nothing (no Administrator rights needed).
    [switch]$DryRun
)

Set-StrictMode -Version 3
$ErrorActionPreference = 'Stop'

function Fail([string]$Message) {
    if ($DryRun) { Write-Warning $Message; return }
    Write-Error $Message -ErrorAction Continue
    exit 1
}

# Runs (or, with -DryRun, prints) one external command; stops on a failure.
function Invoke-Step([string]$Exe, [string[]]$Arguments) {
    $shown = ($Arguments | ForEach-Object { if ($_ -match '[\s"]') { '"' + ($_ -replace '"', '\"') + '"' } else { $_ } }) -join ' '
    Write-Host "> $Exe $shown"
    if ($DryRun) { return }
    & $Exe @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Exe $($Arguments[0]) failed with exit code $LASTEXITCODE" }
}

# One command-line argument for CreateProcess: quoted when it has spaces or quotes.
function Format-Argument([string]$Value) {
    if ($Value -notmatch '[\s"]') { return $Value }
    return '"' + ($Value -replace '(\\*)"', '$1$1\"' -replace '(\\+)$', '$1$1') + '"'
}

function Find-Nssm {
    if ($NssmPath) { return $NssmPath }
    $cmd = Get-Command nssm.exe -ErrorAction SilentlyContinue
    if ($cmd) { return $cmd.Source }
    $local = Join-Path $PSScriptRoot 'nssm.exe'
    if (Test-Path $local) { return $local }
    return $null
}

$isAdmin = ([Security.Principal.WindowsPrincipal][Security.Principal.WindowsIdentity]::GetCurrent()).IsInRole(
    [Security.Principal.WindowsBuiltInRole]::Administrator)
if (-not $isAdmin) { Fail 'Run this script from an elevated (Run as Administrator) PowerShell.' }

$nssm = Find-Nssm
if ($Mode -eq 'auto') { $Mode = if ($nssm) { 'nssm' } else { 'task' } }
if ($Mode -eq 'nssm' -and -not $nssm) {
    if ($DryRun) { $nssm = 'nssm.exe' } else { Fail 'nssm.exe not found: put it on PATH or next to this script, pass -NssmPath, or use -Mode task.' }
}
Write-Host "sealert service: mode $Mode, name $ServiceName"

if ($Uninstall) {
    if ($Mode -eq 'nssm') {
        Invoke-Step $nssm @('stop', $ServiceName)
        Invoke-Step $nssm @('remove', $ServiceName, 'confirm')
    } else {
        Write-Host "> Stop-ScheduledTask / Unregister-ScheduledTask -TaskName $ServiceName"
        if (-not $DryRun) {
            Stop-ScheduledTask -TaskName $ServiceName -ErrorAction SilentlyContinue
            Unregister-ScheduledTask -TaskName $ServiceName -Confirm:$false
        }
    }
    Write-Host "Removed. The logs in $LogDir are kept."
    exit 0
}

if (-not $Device) { Fail "Name the capture device: -Device '<name from sealert --list>'." }
if (-not (Test-Path -LiteralPath $BinaryPath)) { Fail "sealert.exe not found at $BinaryPath (pass -BinaryPath)." }

# Npcap: sealert loads %SystemRoot%\System32\Npcap\wpcap.dll itself
# ("WinPcap API-compatible mode" is not needed).
$wpcap = Join-Path $env:SystemRoot 'System32\Npcap\wpcap.dll'
if (-not (Test-Path -LiteralPath $wpcap)) {
    Fail "Npcap is not installed ($wpcap missing): install it from https://npcap.com/#download, then run this script again."
}
$npcapParams = 'HKLM:\SYSTEM\CurrentControlSet\Services\npcap\Parameters'
$npcapSettings = Get-ItemProperty -Path $npcapParams -Name AdminOnly -ErrorAction SilentlyContinue
if ($npcapSettings -and $npcapSettings.AdminOnly -eq 1) {
    Write-Host 'Npcap is in Administrators-only mode: fine, the service runs as LocalSystem.'
}

$logFile = Join-Path $LogDir 'sealert.log'
$jsonFile = Join-Path $LogDir 'sealert.json'
$sealertArgs = @($Device, '--log', $logFile, '--json', $jsonFile, '--quiet') + $ExtraArgs
$argLine = ($sealertArgs | ForEach-Object { Format-Argument $_ }) -join ' '

Write-Host "> New-Item -ItemType Directory $LogDir (SYSTEM and Administrators only)"
if (-not $DryRun) {
    New-Item -ItemType Directory -Force -Path $LogDir | Out-Null
    # Alerts name internal hosts: keep the directory private.
    icacls $LogDir /inheritance:r /grant:r 'SYSTEM:(OI)(CI)F' 'Administrators:(OI)(CI)F' | Out-Null
}

if ($Mode -eq 'nssm') {
    Invoke-Step $nssm @('install', $ServiceName, $BinaryPath)
    Invoke-Step $nssm @('set', $ServiceName, 'AppParameters', $argLine)
    Invoke-Step $nssm @('set', $ServiceName, 'AppDirectory', $LogDir)
    Invoke-Step $nssm @('set', $ServiceName, 'DisplayName', 'sealert (SoftEther VPN detector)')
    Invoke-Step $nssm @('set', $ServiceName, 'Description', "Passive SoftEther VPN detector on $Device; alerts in $LogDir")
    Invoke-Step $nssm @('set', $ServiceName, 'Start', 'SERVICE_DELAYED_AUTO_START')
    Invoke-Step $nssm @('set', $ServiceName, 'DependOnService', 'npcap')
    Invoke-Step $nssm @('set', $ServiceName, 'AppExit', 'Default', 'Restart')
    Invoke-Step $nssm @('set', $ServiceName, 'AppRestartDelay', '5000')
    # Ctrl+C first: sealert stops the capture, flushes and prints its summary.
    Invoke-Step $nssm @('set', $ServiceName, 'AppStopMethodConsole', '10000')
    Invoke-Step $nssm @('set', $ServiceName, 'AppStdout', (Join-Path $LogDir 'service-stdout.log'))
    Invoke-Step $nssm @('set', $ServiceName, 'AppStderr', (Join-Path $LogDir 'service-stderr.log'))
    Invoke-Step $nssm @('set', $ServiceName, 'AppRotateFiles', '1')
    Invoke-Step $nssm @('set', $ServiceName, 'AppRotateOnline', '1')
    Invoke-Step $nssm @('set', $ServiceName, 'AppRotateBytes', '10485760')
    Invoke-Step $nssm @('start', $ServiceName)
    Write-Host "Installed. Status: Get-Service $ServiceName; alerts: Get-Content -Wait $logFile"
} else {
    Write-Host "> Register-ScheduledTask -TaskName $ServiceName (at startup, as SYSTEM): $BinaryPath $argLine"
    if (-not $DryRun) {
        $action = New-ScheduledTaskAction -Execute $BinaryPath -Argument $argLine -WorkingDirectory $LogDir
        $trigger = New-ScheduledTaskTrigger -AtStartup
        $principal = New-ScheduledTaskPrincipal -UserId 'SYSTEM' -LogonType ServiceAccount -RunLevel Highest
        $settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit ([TimeSpan]::Zero) `
            -RestartCount 999 -RestartInterval (New-TimeSpan -Minutes 1) -StartWhenAvailable `
            -AllowStartIfOnBatteries -DontStopIfGoingOnBatteries -MultipleInstances IgnoreNew
        Register-ScheduledTask -TaskName $ServiceName -Action $action -Trigger $trigger `
            -Principal $principal -Settings $settings -Force | Out-Null
        Start-ScheduledTask -TaskName $ServiceName
    }
    Write-Host "Installed. Status: Get-ScheduledTask $ServiceName; alerts: Get-Content -Wait $logFile"
}
