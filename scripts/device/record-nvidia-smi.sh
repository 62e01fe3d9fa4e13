#!/usr/bin/env bash
# Records real nvidia-smi outputs on a GPU host, idle and under load, as parser fixtures for the
# agent's GPU discovery and telemetry (see docs/architecture.md). Writes into ${OUT:-./gpu-fixtures}.
# Load comes from a bf16 matrix-product loop in PyTorch when python3 has it; without it only idle
# samples are taken.
set -u
out=${OUT:-./gpu-fixtures}
mkdir -p "$out"
telemetry='index,uuid,utilization.gpu,memory.used,power.draw,temperature.gpu,clocks.sm,pstate'
sample() { # $1 = label, $2 = count
  for _ in $(seq "$2"); do
    nvidia-smi --query-gpu=$telemetry --format=csv,noheader,nounits
    sleep 1
  done >"$out/query-telemetry-$1.csv" 2>&1
}
{
  nvidia-smi -L
  echo '--- discovery query'
  nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits
  echo '--- with header and units'
  nvidia-smi --query-gpu=index,uuid,name,memory.total,power.limit,power.default_limit,mig.mode.current,driver_version --format=csv
} >"$out/inventory.txt" 2>&1
nvidia-smi --query-gpu=index,uuid,name,memory.total --format=csv,noheader,nounits >"$out/query-discovery.csv" 2>&1
nvidia-smi -q >"$out/nvidia-smi-q.txt" 2>&1
sample idle 8
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  python3 - <<'PY' &
import time, torch
a = torch.randn(8192, 8192, device='cuda', dtype=torch.bfloat16)
b = torch.randn(8192, 8192, device='cuda', dtype=torch.bfloat16)
end = time.time() + 14
while time.time() < end:
    for _ in range(20):
        a @ b
    torch.cuda.synchronize()
PY
  load=$!
  sleep 4
  sample busy 8
  wait "$load"
fi
sample after 3
nvidia-smi >"$out/nvidia-smi.txt" 2>&1
ls -la "$out"
