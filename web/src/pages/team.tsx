import { useState, type FormEvent } from 'react';
import type { ApiKeyInfo, CreatedApiKey, Member } from '../api/types.js';
import { Async, Empty, errorText } from '../components/states.js';
import { Badge, Card, Field, PageHeader } from '../components/ui.js';
import { useApi } from '../api/use-api.js';
import { useI18n } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/en.js';
import { useSession } from '../session.js';

/**
 * Tenant admins: the tenant's members (add one) and every API key of the tenant (make one for any
 * member, revoke). Members: their own keys. The server enforces the same (GET /v1/keys is scoped).
 */
export default function Team() {
  const { t } = useI18n();
  const { me } = useSession();
  const admin = me?.role === 'tenant-admin';
  const tenantId = me?.tenantId ?? '';
  const members = useApi((api, signal) => api.get('/v1/tenants/{id}/members', { path: { id: tenantId }, signal }), [tenantId], { enabled: admin });
  const keys = useApi((api, signal) => api.get('/v1/keys', { signal }), []);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);

  return (
    <div className="page">
      <PageHeader title={t(admin ? 'team.title' : 'team.keysTitle')} />
      {created && <NewKey created={created} onDone={() => setCreated(null)} />}
      {admin && (
        <Card title={t('team.members')}>
          <Async {...members}>
            {(m) => (
              <>
                <MemberTable members={m.items} />
                <AddMember tenantId={tenantId} onAdded={members.reload} />
              </>
            )}
          </Async>
        </Card>
      )}
      <Card title={t('team.keys')}>
        <Async {...keys}>
          {(k) => (
            <>
              {k.items.length === 0 ? <Empty title={t('team.noKeys')} /> : <KeyTable keys={k.items} onRevoked={keys.reload} />}
              <CreateKey
                members={admin ? (members.data?.items ?? []) : []}
                onCreated={(c) => {
                  setCreated(c);
                  keys.reload();
                }}
              />
            </>
          )}
        </Async>
      </Card>
    </div>
  );
}

function MemberTable({ members }: { members: Member[] }) {
  const { t, f } = useI18n();
  const { me } = useSession();
  if (members.length === 0) return <Empty title={t('team.noMembers')} />;
  return (
    <div className="table-wrap">
      <table data-testid="members-table">
        <thead>
          <tr>
            <th scope="col">{t('team.name')}</th>
            <th scope="col">{t('team.email')}</th>
            <th scope="col">{t('team.role')}</th>
            <th scope="col">{t('team.since')}</th>
          </tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.id}>
              <td>
                {m.name} {m.id === me?.memberId && <span className="muted small">({t('team.you')})</span>}
              </td>
              <td>{m.email ?? '—'}</td>
              <td>{t(`role.${m.role}` as MessageKey)}</td>
              <td>{f.date(m.createdAt)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AddMember({ tenantId, onAdded }: { tenantId: string; onAdded(): void }) {
  const { t } = useI18n();
  const { api } = useSession();
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<'member' | 'tenant-admin'>('member');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!name.trim()) return setMessage({ ok: false, text: t('team.nameNeeded') });
    setBusy(true);
    setMessage(null);
    try {
      const m = await api.request('post', '/v1/tenants/{id}/members', { path: { id: tenantId }, body: { name: name.trim(), role, ...(email.trim() ? { email: email.trim() } : {}) } });
      setMessage({ ok: true, text: t('team.added', { name: m.name }) });
      setName('');
      setEmail('');
      onAdded();
    } catch (err) {
      setMessage({ ok: false, text: errorText(t, err as Error) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit} noValidate aria-label={t('team.add')}>
      <label>
        {t('team.name')}
        <input id="member-name" type="text" maxLength={128} value={name} onChange={(e) => setName(e.target.value)} required />
      </label>
      <label>
        {t('team.emailOptional')}
        <input id="member-email" type="email" maxLength={254} value={email} onChange={(e) => setEmail(e.target.value)} />
      </label>
      <label>
        {t('team.role')}
        <select id="member-role" value={role} onChange={(e) => setRole(e.target.value as 'member' | 'tenant-admin')}>
          <option value="member">{t('role.member')}</option>
          <option value="tenant-admin">{t('role.tenant-admin')}</option>
        </select>
      </label>
      <button type="submit" className="btn btn-primary btn-small" disabled={busy} data-testid="add-member">
        {t('team.add')}
      </button>
      {message && (
        <div className={`state ${message.ok ? 'state-ok' : 'state-error'}`} role={message.ok ? 'status' : 'alert'}>
          {message.text}
        </div>
      )}
    </form>
  );
}

function KeyTable({ keys, onRevoked }: { keys: ApiKeyInfo[]; onRevoked(): void }) {
  const { t, f } = useI18n();
  const { me, api } = useSession();
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const revoke = async (k: ApiKeyInfo) => {
    setBusy(k.id);
    setMessage(null);
    try {
      await api.request('post', '/v1/keys/{id}/revoke', { path: { id: k.id } });
      setMessage({ ok: true, text: t('team.revoked', { key: `${k.name} (${k.prefix}…)` }) });
      onRevoked();
    } catch (err) {
      setMessage({ ok: false, text: errorText(t, err as Error) });
    } finally {
      setBusy(null);
    }
  };
  return (
    <>
      <div className="table-wrap">
        <table data-testid="keys-table">
          <thead>
            <tr>
              <th scope="col">{t('team.keyName')}</th>
              <th scope="col">{t('team.prefix')}</th>
              <th scope="col">{t('team.member')}</th>
              <th scope="col">{t('team.created')}</th>
              <th scope="col">{t('team.lastUsed')}</th>
              <th scope="col">{t('col.status')}</th>
              <th scope="col">{t('col.actions')}</th>
            </tr>
          </thead>
          <tbody>
            {keys.map((k) => {
              const current = k.id === me?.keyId;
              return (
                <tr key={k.id} data-key={k.name}>
                  <td>
                    {k.name} {current && <span className="muted small">({t('team.thisKey')})</span>}
                  </td>
                  <td className="mono">{k.prefix}…</td>
                  <td>
                    {k.memberName} <span className="muted small">· {t(`role.${k.role}` as MessageKey)}</span>
                  </td>
                  <td>{f.date(k.createdAt)}</td>
                  <td>{k.lastUsedAt === null ? t('team.never') : f.relative(k.lastUsedAt)}</td>
                  <td>{k.revokedAt === null ? <Badge value="active" label={t('team.active')} /> : <Badge value="cancelled" label={t('team.revokedAt', { when: f.date(k.revokedAt) })} />}</td>
                  <td className="actions">
                    {k.revokedAt === null && (
                      <button type="button" className="btn btn-small btn-danger" disabled={busy !== null || current} title={current ? t('team.cantRevokeCurrent') : undefined} onClick={() => revoke(k)} aria-label={`${t('team.revoke')}: ${k.name} (${k.prefix})`}>
                        {t('team.revoke')}
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {message && (
        <div className={`state ${message.ok ? 'state-ok' : 'state-error'}`} role={message.ok ? 'status' : 'alert'} data-testid="key-message">
          {message.text}
        </div>
      )}
    </>
  );
}

function CreateKey({ members, onCreated }: { members: Member[]; onCreated(c: CreatedApiKey): void }) {
  const { t } = useI18n();
  const { me, api } = useSession();
  const [name, setName] = useState('');
  const [memberId, setMemberId] = useState(me?.memberId ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const created = await api.request('post', '/v1/keys', { body: { ...(name.trim() ? { name: name.trim() } : {}), ...(memberId && memberId !== me?.memberId ? { memberId } : {}) } });
      setName('');
      onCreated(created);
    } catch (err) {
      setError(errorText(t, err as Error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={t('team.createKey')}>
      <label>
        {t('team.keyName')}
        <input id="key-name" type="text" maxLength={64} value={name} placeholder={t('team.keyNamePlaceholder')} onChange={(e) => setName(e.target.value)} />
      </label>
      {members.length > 1 && (
        <label>
          {t('team.for')}
          <select id="key-member" value={memberId} onChange={(e) => setMemberId(e.target.value)}>
            {members.map((m) => (
              <option key={m.id} value={m.id}>
                {m.name}
              </option>
            ))}
          </select>
        </label>
      )}
      <button type="submit" className="btn btn-primary btn-small" disabled={busy} data-testid="create-key">
        {t('team.createKey')}
      </button>
      {error && <div className="state state-error" role="alert">{error}</div>}
    </form>
  );
}

/** The secret, shown once: copy it now. */
function NewKey({ created, onDone }: { created: CreatedApiKey; onDone(): void }) {
  const { t } = useI18n();
  const [copied, setCopied] = useState<boolean | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(created.key);
      setCopied(true);
    } catch {
      setCopied(false);
    }
  };
  return (
    <div className="state state-warn new-key" role="status" data-testid="new-key">
      <strong>{t('team.newKey', { name: created.name, member: created.memberName })}</strong>
      <code className="mono secret" data-testid="new-key-secret">{created.key}</code>
      <span>{t('team.newKeyOnce')}</span>
      <button type="button" className="btn btn-small" onClick={copy}>
        {t('team.copy')}
      </button>
      {copied !== null && <span className="small">{copied ? t('team.copied') : t('team.copyFailed')}</span>}
      <button type="button" className="btn btn-small btn-ghost" onClick={onDone}>
        {t('team.saved')}
      </button>
    </div>
  );
}
