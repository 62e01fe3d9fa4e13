import { forbidden, invalid, notFound, UnidleError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { Clock } from '../domain/clock.js';
import type { DB } from '../store/database.js';
import type { MemberRole } from '../store/schema.js';
import { hashKey, keyFormatHelp, mintKey, parseKey, sameHash } from './api-keys.js';
import { appendEvent } from './events.js';
import type { Principal } from './principal.js';
import { insertMember } from './tenant-service.js';

export interface ApiKeyInfo {
  id: string;
  name: string;
  prefix: string;
  memberId: string;
  memberName: string;
  role: MemberRole;
  tenantId: string | null;
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface CreatedKey extends ApiKeyInfo {
  /** The secret; shown once. */
  key: string;
}

interface CachedPrincipal {
  principal: Principal;
  hash: string;
  checkedAt: number;
}

/** How long a verified key is trusted without reading the database again; revocation waits at most this long. */
const AUTH_CACHE_MS = 5_000;
/** last_used_at is bookkeeping, not an audit: write it at most this often per key. */
const LAST_USED_WRITE_MS = 60_000;

export class KeyService {
  private readonly cache = new Map<string, CachedPrincipal>();
  private readonly lastUsedWritten = new Map<string, number>();

  constructor(
    private readonly db: DB,
    private readonly clock: Clock,
  ) {}

  async authenticate(token: string): Promise<Principal> {
    const parsed = parseKey(token);
    if (!parsed) throw new UnidleError('unauthorized', `the API key is malformed: ${keyFormatHelp()}`);
    const now = this.clock.now();
    const hash = hashKey(token);
    const cached = this.cache.get(parsed.prefix);
    if (cached && now - cached.checkedAt < AUTH_CACHE_MS && sameHash(cached.hash, hash)) return cached.principal;

    const row = await this.db
      .selectFrom('api_keys as k')
      .innerJoin('members as m', 'm.id', 'k.member_id')
      .select(['k.id as keyId', 'k.secret_hash', 'k.revoked_at', 'm.id as memberId', 'm.role', 'm.tenant_id', 'm.center_id', 'm.name', 'm.disabled_at'])
      .where('k.prefix', '=', parsed.prefix)
      .executeTakeFirst();
    if (!row || !sameHash(row.secret_hash, hash)) throw new UnidleError('unauthorized', 'the API key is not valid');
    if (row.revoked_at !== null) throw new UnidleError('unauthorized', 'the API key was revoked');
    if (row.disabled_at !== null) throw new UnidleError('unauthorized', 'the member owning this key is disabled');
    const principal: Principal = {
      memberId: row.memberId,
      keyId: row.keyId,
      role: row.role,
      tenantId: row.tenant_id,
      centerId: row.center_id,
      name: row.name,
    };
    this.cache.set(parsed.prefix, { principal, hash, checkedAt: now });
    const written = this.lastUsedWritten.get(row.keyId) ?? 0;
    if (now - written > LAST_USED_WRITE_MS) {
      this.lastUsedWritten.set(row.keyId, now);
      await this.db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', row.keyId).execute();
    }
    return principal;
  }

  /**
   * Makes a key for a member. Members make keys for themselves, tenant admins for their tenant's
   * members, operators for anyone. `presetKey` stores a key the operator chose (UNIDLE_ADMIN_KEY).
   */
  async create(p: Principal | 'system', input: { memberId: string; name?: string; presetKey?: string }): Promise<CreatedKey> {
    const member = await this.db.selectFrom('members').selectAll().where('id', '=', input.memberId).executeTakeFirst();
    if (!member) throw notFound('member', input.memberId);
    if (p !== 'system') {
      const allowed =
        p.role === 'operator' ||
        p.memberId === member.id ||
        (p.role === 'tenant-admin' && member.tenant_id !== null && member.tenant_id === p.tenantId);
      if (!allowed) throw member.tenant_id === p.tenantId ? forbidden('only tenant admins make keys for other members') : notFound('member', input.memberId);
    }
    let minted = mintKey();
    if (input.presetKey !== undefined) {
      const parsed = parseKey(input.presetKey);
      if (!parsed) throw invalid('key', keyFormatHelp());
      minted = { key: input.presetKey, prefix: parsed.prefix, hash: hashKey(input.presetKey) };
    }
    const now = this.clock.now();
    const id = newId('key', now);
    const name = input.name ?? 'default';
    await this.db.transaction().execute(async (tx) => {
      const clash = await tx.selectFrom('api_keys').select('id').where('prefix', '=', minted.prefix).executeTakeFirst();
      if (clash) throw invalid('key', 'a key with this prefix already exists; choose another key');
      await tx
        .insertInto('api_keys')
        .values({ id, member_id: member.id, name, prefix: minted.prefix, secret_hash: minted.hash, created_at: now, last_used_at: null, revoked_at: null })
        .execute();
      await appendEvent(tx, {
        at: now,
        type: 'key.created',
        subjectKind: 'key',
        subjectId: id,
        tenantId: member.tenant_id,
        actor: p === 'system' ? 'system' : p.memberId,
        message: `key ${name} (${minted.prefix}) created for ${member.name}`,
      });
    });
    return {
      id,
      name,
      prefix: minted.prefix,
      memberId: member.id,
      memberName: member.name,
      role: member.role,
      tenantId: member.tenant_id,
      createdAt: now,
      lastUsedAt: null,
      revokedAt: null,
      key: minted.key,
    };
  }

  /**
   * An agent token for a center: the credential `unidle agent --token` needs on a GPU host. Agent
   * tokens can only speak the agent protocol, and only for nodes of their center.
   */
  async createAgentToken(p: Principal | 'system', centerId: string, name?: string): Promise<CreatedKey> {
    if (p !== 'system' && p.role !== 'operator') throw forbidden('only operators make agent tokens');
    const center = await this.db.selectFrom('centers').select(['id', 'name']).where('id', '=', centerId).executeTakeFirst();
    if (!center) throw notFound('center', centerId);
    const memberName = `agents@${center.name}`;
    let member = await this.db.selectFrom('members').select('id').where('role', '=', 'agent').where('center_id', '=', center.id).executeTakeFirst();
    if (!member) {
      const actor = p === 'system' ? 'system' : p.memberId;
      member = await this.db.transaction().execute((tx) =>
        insertMember(tx, { tenantId: null, centerId: center.id, name: memberName, email: null, role: 'agent', at: this.clock.now(), actor, message: `agent identity for ${center.name} created` }),
      );
    }
    return this.create(p, { memberId: member.id, name: name ?? `agent token for ${center.name}` });
  }

  /** Whether a preset key is already stored (so `unidle up` can reuse UNIDLE_ADMIN_KEY across restarts). */
  async hasKey(key: string): Promise<boolean> {
    const parsed = parseKey(key);
    if (!parsed) return false;
    const row = await this.db.selectFrom('api_keys').select('secret_hash').where('prefix', '=', parsed.prefix).executeTakeFirst();
    return row !== undefined && sameHash(row.secret_hash, hashKey(key));
  }

  async list(p: Principal, filter: { tenantId?: string } = {}): Promise<ApiKeyInfo[]> {
    let q = this.db
      .selectFrom('api_keys as k')
      .innerJoin('members as m', 'm.id', 'k.member_id')
      .select(['k.id', 'k.name', 'k.prefix', 'k.member_id', 'm.name as member_name', 'm.role', 'm.tenant_id', 'k.created_at', 'k.last_used_at', 'k.revoked_at'])
      .orderBy('k.created_at');
    if (p.role === 'operator') {
      if (filter.tenantId) q = q.where('m.tenant_id', '=', filter.tenantId);
    } else if (p.role === 'tenant-admin') {
      q = q.where('m.tenant_id', '=', p.tenantId ?? '');
    } else {
      q = q.where('m.id', '=', p.memberId);
    }
    const rows = await q.execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      prefix: r.prefix,
      memberId: r.member_id,
      memberName: r.member_name,
      role: r.role,
      tenantId: r.tenant_id,
      createdAt: r.created_at,
      lastUsedAt: r.last_used_at,
      revokedAt: r.revoked_at,
    }));
  }

  async revoke(p: Principal, keyId: string): Promise<ApiKeyInfo> {
    const visible = (await this.list(p)).find((k) => k.id === keyId);
    if (!visible) throw notFound('key', keyId);
    if (visible.revokedAt !== null) return visible;
    const now = this.clock.now();
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('api_keys').set({ revoked_at: now }).where('id', '=', keyId).execute();
      await appendEvent(tx, { at: now, type: 'key.revoked', subjectKind: 'key', subjectId: keyId, tenantId: visible.tenantId, actor: p.memberId, message: `key ${visible.prefix} revoked` });
    });
    this.cache.delete(visible.prefix);
    return { ...visible, revokedAt: now };
  }
}
