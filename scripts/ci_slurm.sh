#!/usr/bin/env bash
# CI: a sharded `optimize` on a real Slurm scheduler must equal the single-process run.
#
# Installs Debian's slurm-wlm and munge, starts a one-node cluster on this machine (the
# setup of ../shared/tools/slurm_one_node.sh, copied here because CI mounts ../shared
# read-only and that script tears its cluster down when it exits), submits a job array of
# an optimize sweep (deploy/slurm/optimize_array.sbatch), waits, merges the shards, runs the
# same sweep in one process and compares the two --json outputs byte for byte.
# Runs as root (slurmd and munge need it), without systemd as PID 1 and without cgroups.
# Usage: scripts/ci_slurm.sh   (env: BIN = the algolab binary, default target/debug/algolab,
#        built if missing; SHARDS = array size, default 4)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
BIN="${BIN:-$ROOT/target/debug/algolab}"
SHARDS="${SHARDS:-4}"
[ -x "$BIN" ] || cargo build --locked --quiet
H=$(hostname -s)
NCPUS=${NCPUS:-$(nproc)}
LOG=/var/log/slurm
WORK="$(mktemp -d)"

# ---- install (~10 s) ------------------------------------------------------
export DEBIAN_FRONTEND=noninteractive
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
fi

# stop() runs on any exit and kills exactly the daemons this script started.
MUNGE_PID= CTLD_PID= SLURMD_PID=
stop() {
  [ -n "$SLURMD_PID$CTLD_PID" ] && kill $SLURMD_PID $CTLD_PID 2>/dev/null || true
  wait $SLURMD_PID $CTLD_PID 2>/dev/null || true
  [ -n "$MUNGE_PID" ] && kill "$MUNGE_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap stop EXIT

# ---- munge: its own user, a key, /run/munge made by hand (no systemd) ------
if [ ! -s /etc/munge/munge.key ]; then
  mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null ||
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
install -d -o munge -g munge -m 0755 /run/munge
if ! munge -n >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
  MUNGE_PID=$(cat /run/munge/munged.pid)
fi
munge -n | unmunge >/dev/null

# ---- slurm config: node address 127.0.0.1, no accounting, cgroup/v1 --------
install -d /var/spool/slurmctld /var/spool/slurmd "$LOG"
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=ci
SlurmctldHost=$H(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MailProg=/bin/true
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
NodeName=$H NodeAddr=127.0.0.1 CPUs=$NCPUS State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
# Slurm 22.05/23.x slurmd always initialises a cgroup plugin and autodetection fails
# without a delegated cgroup tree; cgroup/v1's init touches nothing (Slurm >= 24.05:
# CgroupPlugin=disabled).
echo 'CgroupPlugin=cgroup/v1' > /etc/slurm/cgroup.conf

slurmctld -D >"$LOG/slurmctld.stdout" 2>&1 & CTLD_PID=$!
for _ in $(seq 60); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.5; done
slurmd -D >"$LOG/slurmd.stdout" 2>&1 & SLURMD_PID=$!
for _ in $(seq 60); do [ "$(sinfo -h -n "$H" -o %t 2>/dev/null)" = idle ] && break; sleep 0.5; done
[ "$(sinfo -h -n "$H" -o %t)" = idle ] || { tail -n 30 "$LOG"/*.log; exit 1; }

# ---- the sweep: array of shards, merge, single process, compare ------------
export DATA_DIR="$WORK/data"
mkdir -p "$DATA_DIR"
ARGS=(--symbol GOOG --grid fast=5..24 --grid slow=10..60:2 --maximize sharpe --cash 10000
  --commission 0.002)
# sbatch --wait returns the highest exit code of the array's tasks
ALGOLAB="$BIN" timeout 600 sbatch --wait --array="0-$((SHARDS - 1))" -o "$WORK/slurm-%A_%a.log" \
  deploy/slurm/optimize_array.sbatch "$WORK/shards" "${ARGS[@]}" ||
  { tail -n 20 "$WORK"/slurm-*.log; exit 1; }
ls "$WORK/shards"
[ "$(ls "$WORK"/shards/shard-*-of-*.db | wc -l)" -eq "$SHARDS" ]
"$BIN" --quiet --json optimize "${ARGS[@]}" --merge "$WORK/shards" --no-record > "$WORK/merged.json"
"$BIN" --quiet --json optimize "${ARGS[@]}" --no-record > "$WORK/single.json"
python3 - "$WORK/merged.json" "$WORK/single.json" <<'PY'
import json, sys
m, s = (json.load(open(p)) for p in sys.argv[1:3])
assert m["n_trials"] == s["n_trials"] > 0, (m["n_trials"], s["n_trials"])
for k in ("best", "trials", "n_trials", "dsr", "pbo", "top"):
    assert m.get(k) == s.get(k), f"merged {k} differs from the single-process run"
print(f"slurm: {m['n_trials']} trials over the shards, merged result equals the single run")
PY
cmp "$WORK/merged.json" "$WORK/single.json"
echo "ci_slurm OK"
