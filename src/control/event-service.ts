import { invalid } from '../domain/errors.js';
import type { DB } from '../store/database.js';
import { scopeTenant, type Principal } from './principal.js';

export interface AuditEvent {
  id: number;
  at: number;
  type: string;
  subjectKind: string;
  subjectId: string;
  tenantId: string | null;
  actor: string | null;
  message: string;
  data: Record<string, unknown>;
}

/**
 * Reads the audit trail. Tenants see the events of their own tenant; operators see everything,
 * including node and center events that belong to no tenant. Ordered by id, so `after` pages forward
 * and a poller never misses or repeats an event.
 */
export class EventService {
  constructor(private readonly db: DB) {}

  async list(p: Principal, query: { after?: number; limit?: number; subjectId?: string; type?: string; tenantId?: string }): Promise<{ items: AuditEvent[]; next: number }> {
    const tenantId = scopeTenant(p, query.tenantId);
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw invalid('limit', 'must be 1–1000');
    let q = this.db.selectFrom('events').selectAll().orderBy('id').limit(limit);
    if (tenantId) q = q.where('tenant_id', '=', tenantId);
    if (query.after !== undefined) q = q.where('id', '>', query.after);
    if (query.subjectId) q = q.where('subject_id', '=', query.subjectId);
    if (query.type) q = q.where('type', '=', query.type);
    const rows = await q.execute();
    return {
      items: rows.map((r) => ({
        id: r.id,
        at: r.at,
        type: r.type,
        subjectKind: r.subject_kind,
        subjectId: r.subject_id,
        tenantId: r.tenant_id,
        actor: r.actor,
        message: r.message,
        data: JSON.parse(r.data) as Record<string, unknown>,
      })),
      next: rows.length > 0 ? rows[rows.length - 1]!.id : (query.after ?? 0),
    };
  }
}
