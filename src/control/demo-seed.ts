import type { Clock } from '../domain/clock.js';
import type { DB } from '../store/database.js';
import type { MemberRole } from '../store/schema.js';
import { insertMember } from './tenant-service.js';
import type { ControlPlane } from './control-plane.js';

export interface SeedResult {
  centerId: string;
  tenantId: string;
  /** Keys made by this run; a key that already existed is not shown again (only its hash is stored). */
  operatorKey: string | null;
  demoKey: string | null;
  agentToken: string;
  created: boolean;
}

async function ensureMember(db: DB, clock: Clock, input: { name: string; role: MemberRole; tenantId: string | null }): Promise<string> {
  let q = db.selectFrom('members').select('id').where('name', '=', input.name).where('role', '=', input.role);
  q = input.tenantId === null ? q.where('tenant_id', 'is', null) : q.where('tenant_id', '=', input.tenantId);
  const existing = await q.executeTakeFirst();
  if (existing) return existing.id;
  const row = await db.transaction().execute((tx) =>
    insertMember(tx, { ...input, centerId: null, email: null, at: clock.now(), actor: 'system', message: `${input.role} ${input.name} created` }),
  );
  return row.id;
}

/**
 * What `unidle up` needs to be useful at once: a demo center, a `demo` tenant with an admin, an
 * operator, and an agent token for the local agents. Idempotent: a second run reuses what exists, and
 * preset keys (UNIDLE_ADMIN_KEY / UNIDLE_DEMO_KEY) are stored once and accepted from then on.
 */
export async function seedDemo(control: ControlPlane, options: { adminKey?: string; demoKey?: string; centerName?: string }): Promise<SeedResult> {
  const db = control.store.db;
  const clock = control.clock;
  const centerName = options.centerName ?? 'demo-center';
  let created = false;
  let center = await db.selectFrom('centers').select('id').where('name', '=', centerName).executeTakeFirst();
  if (!center) {
    center = { id: (await control.inventory.createCenter('system', { name: centerName, region: 'cn-east', timezone: 'Asia/Shanghai' })).id };
    created = true;
  }
  let tenant = await db.selectFrom('tenants').select('id').where('name', '=', 'demo').executeTakeFirst();
  if (!tenant) tenant = { id: (await control.tenants.create('system', { name: 'demo', displayName: 'Demo tenant' })).id };
  const operatorId = await ensureMember(db, clock, { name: 'operator', role: 'operator', tenantId: null });
  const demoAdminId = await ensureMember(db, clock, { name: 'demo-admin', role: 'tenant-admin', tenantId: tenant.id });

  const keyFor = async (memberId: string, preset: string | undefined, name: string): Promise<string | null> => {
    if (preset) {
      if (!(await control.keys.hasKey(preset))) await control.keys.create('system', { memberId, name, presetKey: preset });
      return preset;
    }
    const existing = await db.selectFrom('api_keys').select('id').where('member_id', '=', memberId).where('revoked_at', 'is', null).executeTakeFirst();
    if (existing) return null;
    return (await control.keys.create('system', { memberId, name })).key;
  };
  const operatorKey = await keyFor(operatorId, options.adminKey, 'bootstrap');
  const demoKey = await keyFor(demoAdminId, options.demoKey, 'bootstrap');
  // The local agents get a fresh token each start; older ones stay valid for agents started elsewhere.
  const agentToken = (await control.keys.createAgentToken('system', center.id, `local agents ${new Date(clock.now()).toISOString()}`)).key;
  return { centerId: center.id, tenantId: tenant.id, operatorKey, demoKey, agentToken, created };
}
