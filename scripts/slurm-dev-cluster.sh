#!/usr/bin/env bash
# A local Slurm 22.05 cluster for development and integration tests, on one Debian 12 host.
#
#   scripts/slurm-dev-cluster.sh start [--clean]   install (if needed) and start; re-run = readiness check
#   scripts/slurm-dev-cluster.sh stop              cancel jobs, stop what this script started
#   scripts/slurm-dev-cluster.sh status            each daemon, then sinfo
#   scripts/slurm-dev-cluster.sh env               export lines only: eval "$(scripts/slurm-dev-cluster.sh env)"
#
# What runs (all under $SLURM_BASE, all as root, nothing in /etc touched):
#   munged (private socket) · mariadbd (127.0.0.1:PORT_BASE+3) · slurmdbd (PORT_BASE+1) ·
#   slurmctld (PORT_BASE) · slurmd n1..nN (PORT_BASE+13+i) · slurmrestd JWT (127.0.0.1:PORT_BASE+2) ·
#   slurmrestd local auth (unix socket $SLURM_BASE/run/slurmrestd.sock)
# Fake GPUs are symlinks to /dev/null ($SLURM_BASE/dev/nvidia0..), see docs/slurm.md.
#
# Settings (environment, defaults in brackets):
#   SLURM_BASE [${XDG_STATE_HOME:-$HOME/.local/state}/unidle-slurm]  SLURM_CLUSTER_NAME [unidle]
#   SLURM_NODES [4]  SLURM_CPUS_PER_NODE [16]  SLURM_MEM_PER_NODE [64000]  SLURM_GPUS_PER_NODE [8] (0 = none)
#   SLURM_GPU_TYPE [h100]  SLURM_SHARDS_PER_GPU [4] (0 = none)  SLURM_PORT_BASE [16817]  SLURM_MIN_JOB_AGE [300]
#   SLURM_CLEAN [0] (=1 same as --clean: stop and wipe the base dir first)  SLURM_STOP_TIMEOUT [15] (s before SIGKILL)
#   SLURM_TOKEN_LIFESPAN [86400] (s, for `env`)
# Changed settings restart the daemons (controller state is kept). A daemon counts as ours only if its
# pid file names a live process with the expected comm and UNIDLE_SLURM_BASE=$SLURM_BASE in its environment.
set -euo pipefail

SLURM_BASE=${SLURM_BASE:-${XDG_STATE_HOME:-$HOME/.local/state}/unidle-slurm}
SLURM_CLUSTER_NAME=${SLURM_CLUSTER_NAME:-unidle}
SLURM_NODES=${SLURM_NODES:-4}
SLURM_CPUS_PER_NODE=${SLURM_CPUS_PER_NODE:-16}
SLURM_MEM_PER_NODE=${SLURM_MEM_PER_NODE:-64000}
SLURM_GPUS_PER_NODE=${SLURM_GPUS_PER_NODE:-8}
SLURM_GPU_TYPE=${SLURM_GPU_TYPE:-h100}
SLURM_SHARDS_PER_GPU=${SLURM_SHARDS_PER_GPU:-4}
SLURM_PORT_BASE=${SLURM_PORT_BASE:-16817}
SLURM_MIN_JOB_AGE=${SLURM_MIN_JOB_AGE:-300}
SLURM_CLEAN=${SLURM_CLEAN:-0}
SLURM_STOP_TIMEOUT=${SLURM_STOP_TIMEOUT:-15}
SLURM_TOKEN_LIFESPAN=${SLURM_TOKEN_LIFESPAN:-86400}

PACKAGES=(slurmctld slurmd slurm-client munge slurmrestd slurm-wlm-jwt-plugin slurmdbd mariadb-server)

B=$SLURM_BASE
CTLD_PORT=$SLURM_PORT_BASE
DBD_PORT=$((SLURM_PORT_BASE + 1))
REST_PORT=$((SLURM_PORT_BASE + 2))
MYSQL_PORT=$((SLURM_PORT_BASE + 3))
SLURMD_PORT0=$((SLURM_PORT_BASE + 13)) # node i listens on SLURMD_PORT0 + i
CONF=$B/etc/slurm.conf
MUNGE_SOCKET=$B/munge/munge.socket
MYSQL_SOCKET=$B/mysql/mysqld.sock
REST_SOCKET=$B/run/slurmrestd.sock
JWT_KEY=$B/etc/jwt.key
MARKER_FILE=$B/.unidle-slurm-base
REST_PLUGINS=openapi/v0.0.38,openapi/dbv0.0.38

log() { printf '[slurm-dev] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
now() { printf '%s' "${EPOCHREALTIME/,/.}"; }
# deadline SECONDS → sets DEADLINE_US; past_deadline → true once it has passed (no forks: runs in poll loops)
deadline() { DEADLINE_US=$((${EPOCHREALTIME/[.,]/} + $1 * 1000000)); }
past_deadline() { ((${EPOCHREALTIME/[.,]/} > DEADLINE_US)); }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# ---------------------------------------------------------------------------------------------------
# Daemon bookkeeping

# is_ours PIDFILE COMM → 0 if the pid file names a live (non-zombie) process with that comm and our marker.
# Only bash builtins here (forks are slow in sandboxes, and this runs for every daemon on every call).
is_ours() {
  local pidfile=$1 comm=$2 pid='' c='' stat='' e
  [[ -r $pidfile ]] || return 1
  { read -r pid <"$pidfile"; } 2>/dev/null || [[ -n $pid ]] || return 1
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  { read -r c <"/proc/$pid/comm"; } 2>/dev/null || return 1
  [[ $c == "$comm" ]] || return 1
  { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z && ${stat%% *} != X ]] || return 1
  local -a environ=()
  { mapfile -d '' -t environ <"/proc/$pid/environ"; } 2>/dev/null || return 1
  for e in "${environ[@]}"; do
    [[ $e == "UNIDLE_SLURM_BASE=$B" ]] && return 0
  done
  return 1
}

pid_of() { local pid; read -r pid <"$1"; printf '%s' "$pid"; }

# Daemons in start order: name pidfile comm
daemon_list() {
  echo "munged $B/run/munged.pid munged"
  echo "mariadbd $B/run/mariadbd.pid mariadbd"
  echo "slurmdbd $B/run/slurmdbd.pid slurmdbd"
  echo "slurmctld $B/run/slurmctld.pid slurmctld"
  local i
  for ((i = 1; i <= SLURM_NODES; i++)); do echo "slurmd-n$i $B/run/slurmd-n$i.pid slurmd"; done
  echo "slurmrestd-jwt $B/run/slurmrestd-jwt.pid slurmrestd"
  echo "slurmrestd-local $B/run/slurmrestd-local.pid slurmrestd"
}

# Nodes known from the pid files on disk (a run with fewer SLURM_NODES must still stop the others).
daemon_list_for_stop() {
  local f n
  echo "slurmrestd-local $B/run/slurmrestd-local.pid slurmrestd"
  echo "slurmrestd-jwt $B/run/slurmrestd-jwt.pid slurmrestd"
  for f in "$B"/run/slurmd-*.pid; do
    [[ -e $f ]] || continue
    n=${f##*/slurmd-}; n=${n%.pid}
    echo "slurmd-$n $f slurmd"
  done
  echo "slurmctld $B/run/slurmctld.pid slurmctld"
  echo "slurmdbd $B/run/slurmdbd.pid slurmdbd"
  echo "mariadbd $B/run/mariadbd.pid mariadbd"
  echo "munged $B/run/munged.pid munged"
}

any_ours_running() {
  local name pidfile comm
  while read -r name pidfile comm; do
    if is_ours "$pidfile" "$comm"; then return 0; fi
  done < <(daemon_list_for_stop)
  return 1
}

# Environment every daemon and CLI call gets. The marker identifies our processes.
daemon_env() {
  env UNIDLE_SLURM_BASE="$B" SLURM_CONF="$CONF" "$@"
}

# spawn_bg PIDFILE LOGFILE CMD... : run a foreground-only daemon in the background, in its own session,
# stdio detached (so `$(... start)` never waits on it). exec keeps the pid: $! is the daemon itself.
spawn_bg() {
  local pidfile=$1 logfile=$2
  shift 2
  (exec env UNIDLE_SLURM_BASE="$B" SLURM_CONF="$CONF" setsid "$@" </dev/null >>"$logfile" 2>&1) &
  echo $! >"$pidfile"
}

# wait_for SECONDS DESCRIPTION CMD... : poll CMD every 0.1 s.
wait_for() {
  local timeout=$1 desc=$2 DEADLINE_US
  shift 2
  deadline "$timeout"
  while ! "$@" >/dev/null 2>&1; do
    past_deadline && die "timed out after ${timeout}s waiting for $desc (logs: $B/log)"
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------------------
# Installation

packages_missing() {
  local p status missing=()
  status=$(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
  for p in "${PACKAGES[@]}"; do
    [[ $'\n'$status$'\n' == *$'\n'"$p install ok installed"$'\n'* ]] || missing+=("$p")
  done
  echo "${missing[*]:-}"
}

install_packages() {
  local missing
  missing=$(packages_missing)
  [[ -z $missing ]] && return 0
  [[ $(id -u) == 0 ]] || die "Slurm packages missing ($missing); run as root to install them"
  log "installing: $missing"
  local created_policy=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    # Packages must start nothing: we run our own daemons under $SLURM_BASE.
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    created_policy=1
  fi
  local apt=(apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=300)
  local out rc=0
  out=$(DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${PACKAGES[@]}" 2>&1) || rc=$?
  if ((rc != 0)); then
    if grep -qE 'Unable to locate package|Unable to fetch|has no installation candidate|404 +Not Found' <<<"$out"; then
      log "package lists missing or stale; running apt-get update"
      apt-get update -o DPkg::Lock::Timeout=300 >&2
      rc=0
      DEBIAN_FRONTEND=noninteractive "${apt[@]}" "${PACKAGES[@]}" >&2 || rc=$?
    else
      printf '%s\n' "$out" >&2
    fi
  fi
  if ((created_policy)); then rm -f /usr/sbin/policy-rc.d; fi
  ((rc == 0)) || die "apt-get install failed"
  missing=$(packages_missing)
  [[ -z $missing ]] || die "still missing after install: $missing"
}

# ---------------------------------------------------------------------------------------------------
# Configuration

node_range() { if ((SLURM_NODES == 1)); then echo n1; else echo "n[1-$SLURM_NODES]"; fi; }
port_range() {
  if ((SLURM_NODES == 1)); then echo $((SLURMD_PORT0 + 1)); else echo "[$((SLURMD_PORT0 + 1))-$((SLURMD_PORT0 + SLURM_NODES))]"; fi
}
gpu_files() {
  if ((SLURM_GPUS_PER_NODE == 1)); then echo "$B/dev/nvidia0"; else echo "$B/dev/nvidia[0-$((SLURM_GPUS_PER_NODE - 1))]"; fi
}

gen_slurm_conf() {
  local gres_types='' node_gres='' tres=''
  if ((SLURM_GPUS_PER_NODE > 0)); then
    gres_types=gpu
    node_gres="Gres=gpu:$SLURM_GPU_TYPE:$SLURM_GPUS_PER_NODE"
    tres=gres/gpu
    if ((SLURM_SHARDS_PER_GPU > 0)); then
      gres_types=gpu,shard
      node_gres+=",shard:$((SLURM_GPUS_PER_NODE * SLURM_SHARDS_PER_GPU))"
      tres=gres/gpu,gres/shard
    fi
  fi
  cat <<EOF
# generated by scripts/slurm-dev-cluster.sh — edits are overwritten
ClusterName=$SLURM_CLUSTER_NAME
SlurmctldHost=localhost
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET,cred_expire=10
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$JWT_KEY
StateSaveLocation=$B/spool/ctld
SlurmdSpoolDir=$B/spool/%n
SlurmctldPidFile=$B/run/slurmctld.pid
SlurmdPidFile=$B/run/slurmd-%n.pid
SlurmctldLogFile=$B/log/slurmctld.log
SlurmdLogFile=$B/log/slurmd-%n.log
SlurmctldDebug=info
SlurmdDebug=info
MailProg=/bin/true
SlurmdParameters=config_overrides
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=$SLURM_MIN_JOB_AGE
JobRequeue=1
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=1024
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
${gres_types:+GresTypes=$gres_types}
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
AccountingStoragePort=$DBD_PORT
AccountingStoragePass=$MUNGE_SOCKET
${tres:+AccountingStorageTRES=$tres}
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=10
JobCompType=jobcomp/none
NodeName=$(node_range) NodeHostname=localhost NodeAddr=127.0.0.1 Port=$(port_range) CPUs=$SLURM_CPUS_PER_NODE Boards=1 SocketsPerBoard=1 CoresPerSocket=$SLURM_CPUS_PER_NODE ThreadsPerCore=1 RealMemory=$SLURM_MEM_PER_NODE ${node_gres} State=UNKNOWN
PartitionName=batch Nodes=ALL Default=YES MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE
PartitionName=urgent Nodes=ALL Default=NO MaxTime=INFINITE State=UP PriorityTier=100 PreemptMode=OFF
EOF
}

gen_gres_conf() {
  echo "# generated by scripts/slurm-dev-cluster.sh — edits are overwritten"
  echo "AutoDetect=off"
  if ((SLURM_GPUS_PER_NODE > 0)); then
    echo "NodeName=$(node_range) Name=gpu Type=$SLURM_GPU_TYPE File=$(gpu_files)"
    if ((SLURM_SHARDS_PER_GPU > 0)); then
      echo "NodeName=$(node_range) Name=shard Count=$((SLURM_GPUS_PER_NODE * SLURM_SHARDS_PER_GPU)) File=$(gpu_files)"
    fi
  fi
}

gen_slurmdbd_conf() {
  cat <<EOF
# generated by scripts/slurm-dev-cluster.sh — edits are overwritten
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCKET
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$JWT_KEY
DbdHost=localhost
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$B/run/slurmdbd.pid
LogFile=$B/log/slurmdbd.log
DebugLevel=info
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MYSQL_PORT
StorageUser=root
StorageLoc=slurm_acct_db
EOF
}

# write_if_changed FILE MODE CONTENT → returns 0 if the file changed
write_if_changed() {
  local file=$1 mode=$2 content=$3
  if [[ -f $file ]] && [[ $(<"$file") == "$content" ]]; then return 1; fi
  { printf '%s\n' "$content" >"$file.tmp" && chmod "$mode" "$file.tmp" && mv -f "$file.tmp" "$file"; } || die "cannot write $file"
  return 0
}

prepare_base() {
  local i dirs=("$B"/{etc,run,log,spool/ctld,dev,munge,mysql})
  for ((i = 1; i <= SLURM_NODES; i++)); do dirs+=("$B/spool/n$i"); done
  mkdir -p "${dirs[@]}"
  [[ -e $MARKER_FILE ]] || : >"$MARKER_FILE"
  chmod 755 "$B" "$B/munge"
  for ((i = 0; i < SLURM_GPUS_PER_NODE; i++)); do
    [[ -L $B/dev/nvidia$i ]] || ln -sfn /dev/null "$B/dev/nvidia$i"
  done
  if [[ ! -s $JWT_KEY ]]; then
    head -c 32 /dev/urandom >"$JWT_KEY.tmp" && chmod 600 "$JWT_KEY.tmp" && mv -f "$JWT_KEY.tmp" "$JWT_KEY"
  fi
  if [[ ! -s $B/munge/munge.key ]]; then
    mungekey -c -k "$B/munge/munge.key" >/dev/null 2>&1 || die "mungekey failed"
    chmod 600 "$B/munge/munge.key"
  fi
  # Sets CONFIG_CHANGED (returning a status would run this with `set -e` suspended).
  CONFIG_CHANGED=0
  local content
  content=$(gen_slurm_conf)
  if write_if_changed "$CONF" 644 "$content"; then CONFIG_CHANGED=1; fi
  content=$(gen_gres_conf)
  if write_if_changed "$B/etc/gres.conf" 644 "$content"; then CONFIG_CHANGED=1; fi
  content=$(gen_slurmdbd_conf)
  if write_if_changed "$B/etc/slurmdbd.conf" 600 "$content"; then CONFIG_CHANGED=1; fi
}

# ---------------------------------------------------------------------------------------------------
# Starting

munge_ok() { munge -n -S "$MUNGE_SOCKET" | unmunge -S "$MUNGE_SOCKET"; }
mysql_ok() { mariadb-admin --no-defaults -S "$MYSQL_SOCKET" -u root ping; }
dbd_ok() { daemon_env sacctmgr -n -P list cluster format=cluster; }
ctld_ok() { daemon_env scontrol ping | grep -q 'is UP'; }
nodes_ok() {
  # every node registered and usable (no unknown/down/not-responding/invalid state)
  local out
  out=$(daemon_env sinfo -h -N -o '%N %T') || return 1
  [[ $(wc -l <<<"$out") -ge $SLURM_NODES ]] || return 1
  ! grep -qvE ' (idle|mixed|allocated|completing)$' <<<"$out"
}
rest_jwt_ok() {
  local tok
  tok=$(daemon_env scontrol token lifespan=60 | sed -n 's/^SLURM_JWT=//p')
  [[ -n $tok ]] || return 1
  curl -fsS -o /dev/null -H "X-SLURM-USER-NAME: root" -H "X-SLURM-USER-TOKEN: $tok" "http://127.0.0.1:$REST_PORT/slurm/v0.0.38/ping"
}
rest_local_ok() { curl -fsS -o /dev/null --unix-socket "$REST_SOCKET" http://localhost/slurm/v0.0.38/ping; }

start_munged() {
  rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  # --force: the base dir usually sits under /root (mode 700), which munged refuses without it ("Socket is
  # inaccessible"). Every client here runs as root, so the socket need not be reachable by others.
  daemon_env munged --force --key-file="$B/munge/munge.key" --socket="$MUNGE_SOCKET" --pid-file="$B/run/munged.pid" \
    --log-file="$B/log/munged.log" --seed-file="$B/munge/munged.seed" </dev/null >>"$B/log/munged.log" 2>&1 ||
    die "munged failed to start (see $B/log/munged.log)"
  wait_for 10 munged munge_ok
}

# A throwaway accounting database: no fsync (slurmdbd creates ~40 tables per cluster; with fsync that is
# seconds on a small VM). A clean stop still writes everything; only a machine crash could lose data.
MYSQL_FAST=(--innodb-flush-log-at-trx-commit=0 --innodb-doublewrite=0 --innodb-flush-method=nosync --skip-log-bin)

start_mariadbd() {
  if [[ ! -d $B/mysql/data/mysql ]]; then
    log "initialising MariaDB datadir"
    mariadb-install-db --no-defaults --datadir="$B/mysql/data" --user=root --auth-root-authentication-method=normal \
      --skip-test-db "${MYSQL_FAST[@]}" >"$B/log/mariadb-install.log" 2>&1 ||
      die "mariadb-install-db failed (see $B/log/mariadb-install.log)"
  fi
  rm -f "$B/run/mariadbd.pid"
  spawn_bg "$B/run/mariadbd.pid" "$B/log/mariadbd.log" \
    mariadbd --no-defaults --datadir="$B/mysql/data" --socket="$MYSQL_SOCKET" --bind-address=127.0.0.1 \
    --port="$MYSQL_PORT" --user=root --pid-file="$B/run/mariadbd.pid" --log-error="$B/log/mariadbd.log" \
    --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 "${MYSQL_FAST[@]}"
  wait_for 30 mariadbd mysql_ok
}

start_slurmdbd() {
  daemon_env slurmdbd </dev/null >>"$B/log/slurmdbd.log" 2>&1 || die "slurmdbd failed to start (see $B/log/slurmdbd.log)"
  wait_for 30 slurmdbd dbd_ok
}

ensure_associations() {
  # The marker lives in the database directory, so a wiped database gets its associations again.
  local marker="$B/mysql/data/.unidle-assoc-$SLURM_CLUSTER_NAME" c=$SLURM_CLUSTER_NAME
  [[ -e $marker ]] && return 0
  # One sacctmgr run for all three (it reads commands from stdin); it exits 1 when nothing was new.
  printf '%s\n' "add cluster $c" \
    "add account unidle Cluster=$c Description=unidle Organization=unidle" \
    "add user root Account=unidle DefaultAccount=unidle Cluster=$c" | daemon_env sacctmgr -i >/dev/null 2>&1 || true
  [[ -n $(daemon_env sacctmgr -n -P list assoc cluster="$c" user=root account=unidle format=user) ]] ||
    die "could not create the account association for root (sacctmgr; see $B/log/slurmdbd.log)"
  : >"$marker"
}

start_slurmctld() {
  daemon_env slurmctld </dev/null >>"$B/log/slurmctld.log" 2>&1 || die "slurmctld failed to start (see $B/log/slurmctld.log)"
  wait_for 30 slurmctld ctld_ok
}

start_slurmd() { # node
  daemon_env slurmd -N "$1" </dev/null >>"$B/log/slurmd-$1.log" 2>&1 || die "slurmd $1 failed to start (see $B/log/slurmd-$1.log)"
}

start_slurmrestd_jwt() {
  spawn_bg "$B/run/slurmrestd-jwt.pid" "$B/log/slurmrestd-jwt.log" \
    env SLURMRESTD_SECURITY=disable_user_check SLURM_JWT=daemon slurmrestd -s "$REST_PLUGINS" -a rest_auth/jwt "127.0.0.1:$REST_PORT"
}

start_slurmrestd_local() {
  rm -f "$REST_SOCKET"
  spawn_bg "$B/run/slurmrestd-local.pid" "$B/log/slurmrestd-local.log" \
    env SLURMRESTD_SECURITY=disable_user_check slurmrestd -s "$REST_PLUGINS" -a rest_auth/local "unix:$REST_SOCKET"
}

cmd_start() {
  local clean=$SLURM_CLEAN
  [[ ${1:-} == --clean ]] && clean=1
  local t_all t_install t_start install_s=0
  t_all=$(now)
  [[ $(id -u) == 0 ]] || die "run as root (the dev cluster runs its daemons as root)"

  t_install=$(now)
  install_packages
  install_s=$(since "$t_install")

  t_start=$(now)
  if ((clean)) && [[ -e $B ]]; then
    log "--clean: stopping and wiping $B"
    STOP_QUIET=1 cmd_stop
    [[ -e $MARKER_FILE ]] || die "$B does not look like a dev-cluster dir (no $MARKER_FILE); not wiping it"
    rm -rf "$B"
  fi
  if [[ -e $B && ! -e $MARKER_FILE && -n $(ls -A "$B" 2>/dev/null) ]]; then
    die "$B exists, is not empty and is not a dev-cluster dir (no ${MARKER_FILE##*/})"
  fi
  mkdir -p "$B"
  prepare_base
  if ((CONFIG_CHANGED)) && any_ours_running; then
    log "settings changed: restarting the daemons (controller state kept)"
    STOP_QUIET=1 STOP_CANCEL_JOBS=0 cmd_stop
  fi

  local started=()
  is_ours "$B/run/munged.pid" munged || { start_munged; started+=(munged); }
  is_ours "$B/run/mariadbd.pid" mariadbd || { start_mariadbd; started+=(mariadbd); }
  is_ours "$B/run/slurmdbd.pid" slurmdbd || { start_slurmdbd; started+=(slurmdbd); }
  ensure_associations
  is_ours "$B/run/slurmctld.pid" slurmctld || { start_slurmctld; started+=(slurmctld); }
  local i
  for ((i = 1; i <= SLURM_NODES; i++)); do
    is_ours "$B/run/slurmd-n$i.pid" slurmd || { start_slurmd "n$i"; started+=("slurmd-n$i"); }
  done
  is_ours "$B/run/slurmrestd-jwt.pid" slurmrestd || { start_slurmrestd_jwt; started+=(slurmrestd-jwt); }
  is_ours "$B/run/slurmrestd-local.pid" slurmrestd || { start_slurmrestd_local; started+=(slurmrestd-local); }

  # Readiness (also the whole job of a re-run while up).
  wait_for 10 munged munge_ok
  wait_for 10 mariadbd mysql_ok
  wait_for 10 slurmdbd dbd_ok
  wait_for 30 slurmctld ctld_ok
  wait_for 60 "all $SLURM_NODES nodes to be up" nodes_ok
  wait_for 20 "slurmrestd (JWT, 127.0.0.1:$REST_PORT)" rest_jwt_ok
  wait_for 20 "slurmrestd (local, $REST_SOCKET)" rest_local_ok
  local name pidfile comm
  while read -r name pidfile comm; do
    is_ours "$pidfile" "$comm" || die "$name is not running after start (see $B/log)"
  done < <(daemon_list)

  if ((${#started[@]} == 0)); then
    log "already up: all daemons running and ready ($(since "$t_all") s)"
  else
    log "started: ${started[*]}"
  fi
  log "timings: install ${install_s} s, start $(since "$t_start") s, total $(since "$t_all") s"
  log "clients: eval \"\$($0 env)\""
}

# ---------------------------------------------------------------------------------------------------
# Stopping

# stop_pid NAME PID: SIGTERM, wait, SIGKILL
wait_gone() { # pid timeout → 0 if gone (or zombie)
  local pid=$1 timeout=$2 state DEADLINE_US
  deadline "$timeout"
  while :; do
    state=''
    { read -r state <"/proc/$pid/stat"; } 2>/dev/null || return 0
    state=${state##*) }
    state=${state%% *}
    [[ -z $state || $state == Z || $state == X ]] && return 0
    past_deadline && return 1
    sleep 0.05
  done
}

stop_daemon() { # name pidfile comm
  local name=$1 pidfile=$2 comm=$3 pid
  if ! is_ours "$pidfile" "$comm"; then
    rm -f "$pidfile"
    return 1
  fi
  pid=$(pid_of "$pidfile")
  kill -TERM "$pid" 2>/dev/null || true
  if ! wait_gone "$pid" "$SLURM_STOP_TIMEOUT"; then
    log "$name (pid $pid) ignored SIGTERM for ${SLURM_STOP_TIMEOUT}s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || log "warning: $name (pid $pid) still present after SIGKILL"
  fi
  rm -f "$pidfile"
  return 0
}

cancel_jobs() {
  is_ours "$B/run/slurmctld.pid" slurmctld || return 0
  local ids
  ids=$(daemon_env squeue -h -t pending,running,suspended,configuring,completing,requeued,resizing -o '%A' 2>/dev/null | sort -u | tr '\n' ' ' || true)
  [[ -n ${ids// /} ]] || return 0
  log "cancelling jobs: $ids"
  # shellcheck disable=SC2086
  daemon_env scancel $ids 2>/dev/null || true
  local DEADLINE_US
  deadline 15
  while [[ -n $(daemon_env squeue -h -t running,completing,suspended,configuring -o '%A' 2>/dev/null || true) ]]; do
    if past_deadline; then
      log "warning: jobs still running after 15 s; their processes will be killed"
      break
    fi
    sleep 0.1
  done
}

# Leftover slurmstepd processes (slurmd does not kill jobs when it stops) and their descendants.
# slurmstepd rewrites its environment with its process title, so the marker can't be used: a stepd is
# ours when its cwd or an open file lies under $SLURM_BASE.
kill_leftover_stepds() {
  # bash builtins only: this walks every process on the machine
  local p pid c cwd fd tgt ours stat victims=()
  for p in /proc/[0-9]*; do
    c=''
    { read -r c <"$p/comm"; } 2>/dev/null || continue
    [[ $c == slurmstepd ]] || continue
    pid=${p#/proc/}
    ours=0
    cwd=$(readlink "$p/cwd" 2>/dev/null || true)
    [[ $cwd == "$B"/* ]] && ours=1
    if ((!ours)); then
      for fd in "$p"/fd/*; do
        tgt=$(readlink "$fd" 2>/dev/null || true)
        if [[ $tgt == "$B"/* ]]; then ours=1; break; fi
      done
    fi
    ((ours)) && victims+=("$pid")
  done
  ((${#victims[@]})) || return 0
  # descendants (the job's processes) via the parent pid in /proc/PID/stat
  local -A children=()
  local ppid rest
  for p in /proc/[0-9]*; do
    stat=''
    { read -r stat <"$p/stat"; } 2>/dev/null || continue
    rest=${stat##*) }   # "S ppid pgrp …"
    rest=${rest#* }
    ppid=${rest%% *}
    [[ -n $ppid ]] && children[$ppid]+="${p#/proc/} "
  done
  local all=() queue=("${victims[@]}") cur
  while ((${#queue[@]})); do
    cur=${queue[0]}
    queue=("${queue[@]:1}")
    all+=("$cur")
    for pid in ${children[$cur]:-}; do queue+=("$pid"); done
  done
  log "killing leftover slurmstepd and job processes: ${all[*]}"
  kill -TERM "${all[@]}" 2>/dev/null || true
  # slurmstepd ignores SIGTERM: give the job processes 3 s together, then SIGKILL whatever is left
  local DEADLINE_US left
  deadline 3
  while :; do
    left=()
    for pid in "${all[@]}"; do wait_gone "$pid" 0 || left+=("$pid"); done
    ((${#left[@]} == 0)) && return 0
    past_deadline && break
    sleep 0.1
  done
  kill -KILL "${left[@]}" 2>/dev/null || true
  for pid in "${left[@]}"; do wait_gone "$pid" 5 || log "warning: pid $pid survived SIGKILL"; done
}

cmd_stop() {
  local t0 stopped=()
  t0=$(now)
  if [[ ! -d $B ]]; then
    [[ -n ${STOP_QUIET:-} ]] || log "nothing to stop ($B does not exist)"
    return 0
  fi
  if [[ ${STOP_CANCEL_JOBS:-1} == 1 ]]; then cancel_jobs; fi
  local name pidfile comm
  while read -r name pidfile comm; do
    if stop_daemon "$name" "$pidfile" "$comm"; then stopped+=("$name"); fi
  done < <(daemon_list_for_stop)
  kill_leftover_stepds
  rm -f "$REST_SOCKET"
  if [[ -z ${STOP_QUIET:-} ]]; then
    if ((${#stopped[@]})); then
      log "stopped: ${stopped[*]} ($(since "$t0") s)"
    else
      log "nothing was running"
    fi
  fi
}

# ---------------------------------------------------------------------------------------------------
# status / env

cmd_status() {
  local name pidfile comm rc=0
  [[ -d $B ]] || { echo "no dev cluster at $B"; return 3; }
  echo "base: $B"
  while read -r name pidfile comm; do
    if is_ours "$pidfile" "$comm"; then
      printf '  %-18s running (pid %s)\n' "$name" "$(pid_of "$pidfile")"
    else
      printf '  %-18s stopped\n' "$name"
      rc=3
    fi
  done < <(daemon_list)
  if is_ours "$B/run/slurmctld.pid" slurmctld; then
    daemon_env sinfo || true
  fi
  return $rc
}

cmd_env() {
  [[ -f $CONF ]] || die "no dev cluster at $B: run scripts/slurm-dev-cluster.sh start"
  printf 'export SLURM_CONF=%q\n' "$CONF"
  printf 'export UNIDLE_SLURMRESTD_URL=%q\n' "http://127.0.0.1:$REST_PORT"
  printf 'export UNIDLE_SLURMRESTD_SOCKET=%q\n' "$REST_SOCKET"
  printf 'export UNIDLE_SLURM_JWT_KEY_FILE=%q\n' "$JWT_KEY"
  printf 'export UNIDLE_SLURM_USER=%q\n' root
  local tok=''
  if is_ours "$B/run/slurmctld.pid" slurmctld; then
    tok=$(daemon_env scontrol token lifespan="$SLURM_TOKEN_LIFESPAN" 2>/dev/null | sed -n 's/^SLURM_JWT=//p' || true)
  fi
  if [[ -n $tok ]]; then
    printf 'export SLURMRESTD_TOKEN=%q\n' "$tok"
  else
    log "warning: slurmctld is not running, no SLURMRESTD_TOKEN (run: $0 start)"
  fi
  case ":$PATH:" in
    *:/usr/sbin:*) ;;
    *) printf 'export PATH=%q\n' "/usr/sbin:$PATH" ;;
  esac
}

case ${1:-} in
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *)
    echo "usage: $0 start [--clean] | stop | status | env" >&2
    exit 2
    ;;
esac
