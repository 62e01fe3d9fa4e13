import type { NodePowerState } from '../energy/parking/policy.js';
import { conflict, invalid, notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Clock } from '../domain/clock.js';
import type { DB, Db } from '../store/database.js';
import { CENTER_MARKET_DEFAULTS, type CentersTable, type DevicesTable, type NodesTable } from '../store/schema.js';
import type { RegisterRequest } from '../agent/protocol.js';
import type { ClusterSnapshot, NodeView } from '../scheduler/snapshot.js';
import { appendEvent } from './events.js';
import { requireAgent, requireOperator, type Principal } from './principal.js';

export interface Center {
  id: string;
  name: string;
  region: string;
  timezone: string;
  createdAt: number;
}

export interface Device {
  id: string;
  index: number;
  uuid: string;
  name: string;
  model: string;
  memoryMib: number;
  allocatedMilli: number;
}

export interface NodeInfo {
  id: string;
  centerId: string;
  name: string;
  hostname: string;
  executor: string;
  status: 'up' | 'down';
  statusReason: string | null;
  cordoned: boolean;
  draining: boolean;
  cordonReason: string | null;
  powerState: NodePowerState;
  /** When the power state last changed (null: never parked or woken). */
  powerChangedAt: number | null;
  /** The operator forbids parking this node. */
  parkVeto: boolean;
  parkVetoReason: string | null;
  cpuMilli: number;
  memoryMib: number;
  allocatedCpuMilli: number;
  allocatedMemoryMib: number;
  gpus: number;
  allocatedGpuMilli: number;
  lastHeartbeatAt: number | null;
  agentVersion: string | null;
  registeredAt: number;
  devices: Device[];
}

export function toCenter(row: CentersTable): Center {
  return { id: row.id, name: row.name, region: row.region, timezone: row.timezone, createdAt: row.created_at };
}

function toDevice(row: DevicesTable): Device {
  return { id: row.id, index: row.idx, uuid: row.uuid, name: row.name, model: row.model, memoryMib: row.memory_mib, allocatedMilli: row.allocated_milli };
}

function toNode(row: NodesTable, devices: DevicesTable[]): NodeInfo {
  return {
    id: row.id,
    centerId: row.center_id,
    name: row.name,
    hostname: row.hostname,
    executor: row.executor,
    status: row.status,
    statusReason: row.status_reason,
    cordoned: row.cordoned === 1,
    draining: row.draining === 1,
    cordonReason: row.cordon_reason,
    powerState: row.power_state as NodePowerState,
    powerChangedAt: row.power_changed_at,
    parkVeto: row.park_veto === 1,
    parkVetoReason: row.park_veto_reason,
    cpuMilli: row.cpu_milli,
    memoryMib: row.memory_mib,
    allocatedCpuMilli: row.allocated_cpu_milli,
    allocatedMemoryMib: row.allocated_memory_mib,
    gpus: devices.length,
    allocatedGpuMilli: devices.reduce((s, d) => s + d.allocated_milli, 0),
    lastHeartbeatAt: row.last_heartbeat_at,
    agentVersion: row.agent_version,
    registeredAt: row.registered_at,
    devices: devices.sort((a, b) => a.idx - b.idx).map(toDevice),
  };
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export class InventoryService {
  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
  ) {}

  async createCenter(p: Principal | 'system', input: { name: string; region?: string; timezone?: string }): Promise<Center> {
    if (p !== 'system') requireOperator(p);
    if (!NAME.test(input.name)) throw invalid('name', 'use 1–63 letters, digits, dots, dashes and underscores');
    const timezone = input.timezone ?? 'Asia/Shanghai';
    try {
      new Intl.DateTimeFormat('en', { timeZone: timezone });
    } catch {
      throw invalid('timezone', `"${timezone}" is not an IANA time zone such as Asia/Shanghai`);
    }
    return this.db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom('centers').select('id').where('name', '=', input.name).executeTakeFirst();
      if (existing) throw conflict(`a center named "${input.name}" already exists (${existing.id})`);
      const now = this.clock.now();
      const row: CentersTable = { id: newId('ctr', now), name: input.name, region: input.region ?? 'default', timezone, created_at: now, ...CENTER_MARKET_DEFAULTS };
      await tx.insertInto('centers').values(row).execute();
      await appendEvent(tx, { at: now, type: 'center.created', subjectKind: 'center', subjectId: row.id, actor: p === 'system' ? 'system' : p.memberId, message: `center ${row.name} created` });
      return toCenter(row);
    });
  }

  async listCenters(): Promise<Center[]> {
    return (await this.db.selectFrom('centers').selectAll().orderBy('name').execute()).map(toCenter);
  }

  async getCenter(idOrName: string): Promise<Center> {
    const row = await this.db
      .selectFrom('centers')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst();
    if (!row) throw notFound('center', idOrName);
    return toCenter(row);
  }

  async listNodes(filter: { centerId?: string } = {}, db: Db = this.db): Promise<NodeInfo[]> {
    let q = db.selectFrom('nodes').selectAll().orderBy('name');
    if (filter.centerId) q = q.where('center_id', '=', filter.centerId);
    const nodes = await q.execute();
    if (nodes.length === 0) return [];
    const devices = await db.selectFrom('devices').selectAll().execute();
    const byNode = new Map<string, DevicesTable[]>();
    for (const d of devices) {
      const list = byNode.get(d.node_id) ?? [];
      list.push(d);
      byNode.set(d.node_id, list);
    }
    return nodes.map((n) => toNode(n, byNode.get(n.id) ?? []));
  }

  async getNode(idOrName: string): Promise<NodeInfo> {
    const row = await this.db
      .selectFrom('nodes')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst();
    if (!row) throw notFound('node', idOrName);
    const devices = await this.db.selectFrom('devices').selectAll().where('node_id', '=', row.id).execute();
    return toNode(row, devices);
  }

  /**
   * Cordon: take no new work, keep what runs. Drain: the same, and the node is on its way out once
   * empty (jobs are not killed; an operator cancels them if they must go now).
   */
  async setCordon(p: Principal, idOrName: string, input: { cordoned: boolean; drain?: boolean; reason?: string }): Promise<NodeInfo> {
    requireOperator(p);
    const node = await this.getNode(idOrName);
    const now = this.clock.now();
    const drain = input.cordoned && (input.drain ?? false);
    await this.db.transaction().execute(async (tx) => {
      await tx
        .updateTable('nodes')
        .set({ cordoned: input.cordoned ? 1 : 0, draining: drain ? 1 : 0, cordon_reason: input.cordoned ? (input.reason ?? null) : null, updated_at: now })
        .where('id', '=', node.id)
        .execute();
      const verb = !input.cordoned ? 'uncordoned' : drain ? 'drained' : 'cordoned';
      await appendEvent(tx, { at: now, type: `node.${verb}`, subjectKind: 'node', subjectId: node.id, actor: p.memberId, message: `node ${node.name} ${verb}${input.reason ? `: ${input.reason}` : ''}` });
    });
    return this.getNode(node.id);
  }

  /**
   * An agent announces its node; idempotent by (center, node name), so a restarted agent keeps its id.
   * Executors that run work on an external engine (Slurm) register its nodes the same way, in process,
   * under their own name.
   */
  async register(p: Principal, req: RegisterRequest, executor: 'agent' | 'slurm' = 'agent'): Promise<NodeInfo> {
    requireAgent(p);
    if (!p.centerId) throw invalid('token', 'this agent token is not bound to a center');
    if (!NAME.test(req.nodeName)) throw invalid('nodeName', 'use 1–63 letters, digits, dots, dashes and underscores');
    const seen = new Set<number>();
    req.devices.forEach((d, i) => {
      if (seen.has(d.index)) throw invalid(`devices[${i}].index`, `device index ${d.index} is reported twice`);
      seen.add(d.index);
    });
    const now = this.clock.now();
    const nodeId = await this.db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom('nodes').selectAll().where('center_id', '=', p.centerId!).where('name', '=', req.nodeName).executeTakeFirst();
      let id: string;
      if (existing) {
        id = existing.id;
        // Capacity may shrink below what is allocated (a DIMM died): keep the allocation, the checks use max().
        await tx
          .updateTable('nodes')
          .set({
            hostname: req.hostname,
            status: 'up',
            status_reason: null,
            cpu_milli: Math.max(req.cpuMilli, existing.allocated_cpu_milli),
            memory_mib: Math.max(req.memoryMib, existing.allocated_memory_mib),
            agent_version: req.agentVersion,
            last_heartbeat_at: now,
            updated_at: now,
          })
          .where('id', '=', id)
          .execute();
      } else {
        id = newId('node', now);
        await tx
          .insertInto('nodes')
          .values({
            id,
            center_id: p.centerId!,
            name: req.nodeName,
            hostname: req.hostname,
            executor,
            status: 'up',
            status_reason: null,
            cordoned: 0,
            draining: 0,
            cordon_reason: null,
            power_state: 'on',
            power_changed_at: null,
            park_veto: 0,
            park_veto_reason: null,
            cpu_milli: req.cpuMilli,
            memory_mib: req.memoryMib,
            allocated_cpu_milli: 0,
            allocated_memory_mib: 0,
            agent_version: req.agentVersion,
            last_heartbeat_at: now,
            registered_at: now,
            updated_at: now,
          })
          .execute();
      }
      const current = await tx.selectFrom('devices').selectAll().where('node_id', '=', id).execute();
      for (const d of req.devices) {
        const known = current.find((c) => c.idx === d.index);
        if (known) {
          await tx.updateTable('devices').set({ uuid: d.uuid, name: d.name, model: d.model, memory_mib: d.memoryMib }).where('id', '=', known.id).execute();
        } else {
          await tx
            .insertInto('devices')
            .values({ id: newId('dev', now), node_id: id, idx: d.index, uuid: d.uuid, name: d.name, model: d.model, memory_mib: d.memoryMib, allocated_milli: 0 })
            .execute();
        }
      }
      const missing = current.filter((c) => !req.devices.some((d) => d.index === c.idx));
      for (const gone of missing) {
        // A device that vanished keeps its row while work references it; a free one is dropped.
        if (gone.allocated_milli === 0) {
          const referenced = await tx.selectFrom('allocations').select('id').where('device_id', '=', gone.id).executeTakeFirst();
          if (!referenced) await tx.deleteFrom('devices').where('id', '=', gone.id).execute();
        }
      }
      await appendEvent(tx, {
        at: now,
        type: existing ? 'node.reregistered' : 'node.registered',
        subjectKind: 'node',
        subjectId: id,
        actor: p.memberId,
        message: `node ${req.nodeName} ${existing ? 're-registered' : 'registered'} with ${req.devices.length} GPUs (agent ${req.agentVersion})`,
        data: { devices: req.devices.map((d) => d.model), runningJobIds: req.runningJobIds },
      });
      return id;
    });
    return this.getNode(nodeId);
  }

  /** The scheduler's view: schedulable nodes only carry free capacity worth looking at. */
  async snapshot(db: Db = this.db): Promise<ClusterSnapshot> {
    const nodes = await this.listNodes({}, db);
    return { nodes: nodes.map(toNodeView) };
  }
}

export function toNodeView(n: NodeInfo): NodeView {
  let reason: string | null = null;
  if (n.status !== 'up') reason = `node is ${n.status}`;
  else if (n.draining) reason = 'node is draining';
  else if (n.cordoned) reason = 'node is cordoned';
  else if (n.powerState !== 'on') reason = `node is ${n.powerState}`;
  return {
    id: n.id,
    name: n.name,
    schedulable: reason === null,
    unschedulableReason: reason,
    executor: n.executor,
    cpuMilliTotal: n.cpuMilli,
    memoryMibTotal: n.memoryMib,
    cpuMilliFree: n.cpuMilli - n.allocatedCpuMilli,
    memoryMibFree: n.memoryMib - n.allocatedMemoryMib,
    devices: n.devices.map((d) => ({ id: d.id, index: d.index, model: d.model, memoryMib: d.memoryMib, freeMilli: 1000 - d.allocatedMilli })),
  };
}
