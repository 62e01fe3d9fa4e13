import type { Db } from '../store/database.js';

export interface EventInput {
  at: number;
  type: string;
  subjectKind: 'job' | 'node' | 'tenant' | 'member' | 'key' | 'center' | 'reservation' | 'ledger';
  subjectId: string;
  tenantId?: string | null;
  actor?: string | null;
  message: string;
  data?: Record<string, unknown>;
}

/** The audit trail is append-only: this is the only write to `events`, always inside the caller's transaction. */
export async function appendEvent(db: Db, event: EventInput): Promise<void> {
  await db
    .insertInto('events')
    .values({
      at: event.at,
      type: event.type,
      subject_kind: event.subjectKind,
      subject_id: event.subjectId,
      tenant_id: event.tenantId ?? null,
      actor: event.actor ?? null,
      message: event.message,
      data: JSON.stringify(event.data ?? {}),
    })
    .execute();
}
