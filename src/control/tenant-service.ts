import { conflict, invalid, notFound } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Clock } from '../domain/clock.js';
import type { DB, Db } from '../store/database.js';
import { TENANT_BILLING_DEFAULTS, type MemberRole, type MembersTable, type TenantsTable } from '../store/schema.js';
import { appendEvent } from './events.js';
import { requireOperator, requireTenantAccess, type Principal } from './principal.js';

export interface Tenant {
  id: string;
  name: string;
  displayName: string;
  createdAt: number;
}

export interface Member {
  id: string;
  tenantId: string | null;
  name: string;
  email: string | null;
  role: MemberRole;
  createdAt: number;
}

export function toTenant(row: TenantsTable): Tenant {
  return { id: row.id, name: row.name, displayName: row.display_name, createdAt: row.created_at };
}

export function toMember(row: MembersTable): Member {
  return { id: row.id, tenantId: row.tenant_id, name: row.name, email: row.email, role: row.role, createdAt: row.created_at };
}

/**
 * Every member row is written here, with its audit event, inside the caller's transaction: tenant
 * members, operators and the agent identity of a center alike.
 */
export async function insertMember(
  db: Db,
  input: { tenantId: string | null; centerId: string | null; name: string; email: string | null; role: MemberRole; at: number; actor: string; message: string },
): Promise<MembersTable> {
  const row: MembersTable = {
    id: newId('mem', input.at),
    tenant_id: input.tenantId,
    center_id: input.centerId,
    name: input.name,
    email: input.email,
    role: input.role,
    created_at: input.at,
    disabled_at: null,
  };
  await db.insertInto('members').values(row).execute();
  await appendEvent(db, { at: input.at, type: 'member.created', subjectKind: 'member', subjectId: row.id, tenantId: input.tenantId, actor: input.actor, message: input.message });
  return row;
}

const TENANT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class TenantService {
  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
  ) {}

  async create(p: Principal | 'system', input: { name: string; displayName?: string }): Promise<Tenant> {
    if (p !== 'system') requireOperator(p);
    if (!TENANT_NAME.test(input.name)) throw invalid('name', 'use 1–63 lowercase letters, digits and dashes, starting with a letter or digit');
    return this.db.transaction().execute(async (tx) => {
      const existing = await tx.selectFrom('tenants').select('id').where('name', '=', input.name).executeTakeFirst();
      if (existing) throw conflict(`a tenant named "${input.name}" already exists (${existing.id})`);
      const now = this.clock.now();
      const row: TenantsTable = { id: newId('ten', now), name: input.name, display_name: input.displayName ?? input.name, created_at: now, ...TENANT_BILLING_DEFAULTS };
      await tx.insertInto('tenants').values(row).execute();
      await appendEvent(tx, { at: now, type: 'tenant.created', subjectKind: 'tenant', subjectId: row.id, tenantId: row.id, actor: p === 'system' ? 'system' : p.memberId, message: `tenant ${row.name} created` });
      return toTenant(row);
    });
  }

  async list(p: Principal): Promise<Tenant[]> {
    let q = this.db.selectFrom('tenants').selectAll().orderBy('name');
    if (p.role !== 'operator') q = q.where('id', '=', p.tenantId ?? '');
    return (await q.execute()).map(toTenant);
  }

  /** Accepts an id or a name, as people type either. */
  async get(p: Principal, idOrName: string): Promise<Tenant> {
    const row = await this.db
      .selectFrom('tenants')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .executeTakeFirst();
    if (!row || (p.role !== 'operator' && row.id !== p.tenantId)) throw notFound('tenant', idOrName);
    return toTenant(row);
  }

  async addMember(p: Principal, tenantIdOrName: string, input: { name: string; email?: string; role?: MemberRole }): Promise<Member> {
    const tenant = await this.get(p, tenantIdOrName);
    requireTenantAccess(p, tenant.id, true);
    const role = input.role ?? 'member';
    if (role !== 'member' && role !== 'tenant-admin') throw invalid('role', 'a tenant member is "member" or "tenant-admin"');
    if (input.name.trim().length === 0 || input.name.length > 128) throw invalid('name', 'must be 1–128 characters');
    const row = await this.db.transaction().execute((tx) =>
      insertMember(tx, { tenantId: tenant.id, centerId: null, name: input.name, email: input.email ?? null, role, at: this.clock.now(), actor: p.memberId, message: `${role} ${input.name} added` }),
    );
    return toMember(row);
  }

  async listMembers(p: Principal, tenantIdOrName: string): Promise<Member[]> {
    const tenant = await this.get(p, tenantIdOrName);
    requireTenantAccess(p, tenant.id);
    const rows = await this.db.selectFrom('members').selectAll().where('tenant_id', '=', tenant.id).orderBy('created_at').execute();
    return rows.map(toMember);
  }
}
