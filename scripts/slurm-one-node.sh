#!/usr/bin/env bash
# A one-node SLURM cluster on this machine (Debian's Slurm + munge), for CI and local trials.
#   scripts/slurm-one-node.sh up     install (if needed), configure and start munge, slurmctld, slurmd
#   scripts/slurm-one-node.sh down   stop the daemons by their PIDs
# Needs root. Facts behind the settings: shared/notes/slurm-one-node.md (no systemd; sacct needs
# accounting, so the workflow polls squeue: --slurm-status-command squeue and MinJobAge=600).
set -euo pipefail
STATE=${HEPDL_SLURM_STATE:-/var/lib/hepdl-slurm}
CONF_DIR=/etc/slurm

up() {
    if command -v sinfo >/dev/null && sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
        echo "slurm-one-node: a cluster is already up"
        sinfo
        return 0
    fi
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
    fi
    mkdir -p "$STATE" "$CONF_DIR" /run/munge /var/log/slurm /var/spool/slurmd /var/spool/slurmctld
    chown munge:munge /run/munge
    [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; }
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
        runuser -u munge -- /usr/sbin/munged
    fi
    local host cpus boards sockets cores threads mem
    host=$(hostname -s)
    read -r cpus boards sockets cores threads mem < <(slurmd -C | head -1 | sed -E \
        's/.*CPUs=([0-9]+) Boards=([0-9]+) SocketsPerBoard=([0-9]+) CoresPerSocket=([0-9]+) ThreadsPerCore=([0-9]+) RealMemory=([0-9]+).*/\1 \2 \3 \4 \5 \6/')
    mem=$((mem * 9 / 10))  # above the reported memory the node drains
    cat > "$CONF_DIR/slurm.conf" <<CONF
ClusterName=hepdl
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=500
ReturnToService=2
MinJobAge=600
SchedulerType=sched/backfill
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} Boards=${boards} SocketsPerBoard=${sockets} CoresPerSocket=${cores} ThreadsPerCore=${threads} RealMemory=${mem} State=UNKNOWN
PartitionName=main Nodes=${host} Default=YES MaxTime=INFINITE State=UP
CONF
    slurmctld
    slurmd
    for _ in $(seq 1 30); do
        if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
            sinfo
            return 0
        fi
        sleep 1
    done
    echo "slurm-one-node: the node did not become idle" >&2
    sinfo >&2 || true
    tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
    return 1
}

down() {
    for pidfile in "$STATE/slurmd.pid" "$STATE/slurmctld.pid"; do
        if [ -s "$pidfile" ]; then
            kill "$(cat "$pidfile")" 2>/dev/null || true
        fi
    done
    local munge_pid=/run/munge/munged.pid
    [ -s "$munge_pid" ] && kill "$(cat "$munge_pid")" 2>/dev/null || true
    return 0
}

case "${1:-}" in
    up) up ;;
    down) down ;;
    *) echo "usage: $0 up|down" >&2; exit 2 ;;
esac
