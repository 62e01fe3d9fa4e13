import { describe, expect, it } from 'vitest';
import { bestFitPolicy } from './best-fit-policy.js';
import { couldEverFit } from './policy-registry.js';
import { reserve, type ClusterSnapshot, type NodeView, type PlacementRequest } from './snapshot.js';

function node(id: string, free: number[], model = 'H100', extra: Partial<NodeView> = {}): NodeView {
  return {
    id,
    name: id,
    schedulable: true,
    unschedulableReason: null,
    cpuMilliTotal: 64_000,
    memoryMibTotal: 512_000,
    cpuMilliFree: 64_000,
    memoryMibFree: 512_000,
    devices: free.map((f, index) => ({ id: `${id}-d${index}`, index, model, memoryMib: 81_559, freeMilli: f })),
    ...extra,
  };
}

const share = (gpuMilli: number, models: string[] = []): PlacementRequest => ({ gpuMilli, gpus: null, models, minGpuMemoryMib: null, cpuMilli: 1000, memoryMib: 1024 });
const whole = (gpus: number, models: string[] = []): PlacementRequest => ({ gpuMilli: null, gpus, models, minGpuMemoryMib: null, cpuMilli: 1000, memoryMib: 1024 });

describe('best-fit placement', () => {
  const policy = bestFitPolicy();

  it('puts a share on the fullest device it fits, keeping whole GPUs whole', () => {
    const snapshot: ClusterSnapshot = { nodes: [node('a', [1000, 1000]), node('b', [1000, 600, 300])] };
    const r = policy.place(share(250), snapshot);
    expect(r.placed && r.placement).toEqual({ nodeId: 'b', devices: [{ deviceId: 'b-d2', index: 2, model: 'H100', milli: 250 }] });
  });

  it('takes whole GPUs of one model on one node, preferring the tighter node', () => {
    const snapshot: ClusterSnapshot = { nodes: [node('a', [1000, 1000, 1000, 1000]), node('b', [1000, 1000, 0, 0])] };
    const r = policy.place(whole(2), snapshot);
    expect(r.placed && r.placement.nodeId).toBe('b');
    expect(r.placed && r.placement.devices.map((d) => d.index)).toEqual([0, 1]);
  });

  it('explains why nothing fits, node by node', () => {
    const snapshot: ClusterSnapshot = {
      nodes: [node('a', [1000, 500]), node('b', [1000, 1000], 'A100-80GB'), node('c', [1000, 1000], 'H100', { schedulable: false, unschedulableReason: 'node is cordoned' })],
    };
    const r = policy.place(whole(2, ['H100']), snapshot);
    expect(r.placed).toBe(false);
    if (!r.placed)
      expect(r.reasons).toEqual(
        expect.arrayContaining([
          { reason: 'fewer than 2 free GPUs that match', nodes: 1 },
          { reason: 'no GPU of H100', nodes: 1 },
          { reason: 'node is cordoned', nodes: 1 },
        ]),
      );
  });

  it('honours CPU and memory on the node', () => {
    const snapshot: ClusterSnapshot = { nodes: [node('a', [1000], 'H100', { cpuMilliFree: 500 })] };
    const r = policy.place(share(100), snapshot);
    expect(r.placed).toBe(false);
  });

  it('reserve() lets one cycle place several jobs against one snapshot', () => {
    const snapshot: ClusterSnapshot = { nodes: [node('a', [1000])] };
    const first = policy.place(share(600), snapshot);
    expect(first.placed).toBe(true);
    if (first.placed) reserve(snapshot, share(600), first.placement);
    expect(policy.place(share(600), snapshot).placed).toBe(false);
    expect(policy.place(share(400), snapshot).placed).toBe(true);
  });

  it('tells shapes that could never fit from ones that must wait', () => {
    const snapshot: ClusterSnapshot = { nodes: [node('a', [0, 0, 0, 0])] };
    expect(couldEverFit(whole(4), snapshot)).toBe(true);
    expect(couldEverFit(whole(5), snapshot)).toBe(false);
    expect(couldEverFit(share(500, ['H200']), snapshot)).toBe(false);
    expect(couldEverFit({ ...share(500), minGpuMemoryMib: 100_000 }, snapshot)).toBe(false);
  });
});
