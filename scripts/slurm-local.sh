#!/usr/bin/env bash
# A real one-node Slurm on this machine (Debian's slurm-wlm + munge), for the study job-array
# test: installs the packages if missing, writes /etc/slurm/slurm.conf for this host, starts
# munged, slurmctld and slurmd, and waits until the node takes jobs. Needs root (CI is root).
# Prints "slurm ready" on success; exits non-zero, with the daemons' logs, otherwise.
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  $SUDO apt-get update -qq
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))

# munge: a key, its directories, the daemon.
$SUDO mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
$SUDO test -s /etc/munge/munge.key || $SUDO mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null \
  || $SUDO dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
$SUDO chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge 2>/dev/null || true
$SUDO chmod 0700 /etc/munge /var/lib/munge /var/log/munge
$SUDO chmod 0400 /etc/munge/munge.key
$SUDO chmod 0755 /run/munge
pgrep -x munged >/dev/null || $SUDO runuser -u munge -- /usr/sbin/munged 2>/dev/null || $SUDO /usr/sbin/munged --force

# Slurm: one node, one partition; no cgroups, no accounting (a test cluster, not a production one).
$SUDO mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
$SUDO tee /etc/slurm/slurm.conf >/dev/null <<EOF
ClusterName=secateur
SlurmctldHost=${host}
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
ReturnToService=2
MpiDefault=none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
NodeName=${host} CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP
EOF

$SUDO pkill -x slurmctld 2>/dev/null || true
$SUDO pkill -x slurmd 2>/dev/null || true
sleep 1
$SUDO slurmctld -c
$SUDO slurmd

for _ in $(seq 1 60); do
  if sinfo -h -N -o "%T" 2>/dev/null | grep -qE "^(idle|mixed|allocated)"; then
    echo "slurm ready: node ${host}, ${cpus} CPUs, ${mem_mb} MB"
    exit 0
  fi
  sleep 1
done
echo "slurm did not come up; logs:" >&2
$SUDO tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
sinfo >&2 || true
exit 1
