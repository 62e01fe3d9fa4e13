import { useState, type FormEvent } from 'react';
import type { Reservation, Tenant, TenantBilling } from '../api/types.js';
import { Async, Empty, errorText } from '../components/states.js';
import { Badge, Card, PageHeader } from '../components/ui.js';
import { useApi } from '../api/use-api.js';
import { useI18n } from '../i18n/i18n.js';
import { useSession } from '../session.js';

interface Row {
  tenant: Tenant;
  billing: TenantBilling | null;
  reservations: Reservation[];
}

export default function Tenants() {
  const { t, f } = useI18n();
  const loaded = useApi<Row[]>(
    async (api, signal) => {
      const [tenants, reservations] = await Promise.all([api.get('/v1/tenants', { signal }), api.get('/v1/reservations', { signal })]);
      const billing = await Promise.all(tenants.items.map((x) => api.get('/v1/tenants/{id}/billing', { path: { id: x.id }, signal }).catch(() => null)));
      return tenants.items.map((tenant, i) => ({ tenant, billing: billing[i] ?? null, reservations: reservations.items.filter((r) => r.tenantId === tenant.id) }));
    },
    [],
    { pollMs: 20_000 },
  );
  const [topUp, setTopUp] = useState<string | null>(null);

  return (
    <div className="page">
      <PageHeader title={t('tenants.title')} />
      <Async {...loaded}>
        {(rows) =>
          rows.length === 0 ? (
            <Empty title={t('tenants.none')}>{t('tenants.noneHint')}</Empty>
          ) : (
            <div className="stack">
              {rows.map(({ tenant, billing, reservations }) => (
                <Card key={tenant.id} title={`${tenant.displayName} (${tenant.name})`} actions={<button type="button" className="btn btn-small" onClick={() => setTopUp(topUp === tenant.id ? null : tenant.id)} aria-expanded={topUp === tenant.id}>{t('tenants.topUp')}</button>}>
                  {billing ? (
                    <dl className="facts">
                      <div><dt>{t('billing.balance')}</dt><dd className={billing.balance.amountMicros < 0 ? 'neg' : ''}>{f.money(billing.balance)}</dd></div>
                      <div><dt>{t('billing.spent')}</dt><dd>{f.money(billing.spentThisMonth)}</dd></div>
                      <div><dt>{t('billing.budget')}</dt><dd>{billing.budgetLimit ? f.money(billing.budgetLimit) : t('billing.noBudget')}</dd></div>
                      <div><dt>{t('billing.burn')}</dt><dd>{t('unit.perHour', { v: f.money(billing.burnPerHour) })}</dd></div>
                      <div><dt>{t('billing.mode')}</dt><dd>{t(billing.paymentMode === 'prepaid' ? 'billing.prepaid' : 'billing.postpaid')}</dd></div>
                      <div><dt>{t('tenants.weight')}</dt><dd>{f.number(billing.fairShareWeightMilli / 1000, 2)}</dd></div>
                    </dl>
                  ) : (
                    <p className="muted">{t('tenants.noBilling')}</p>
                  )}
                  {topUp === tenant.id && <TopUpForm tenantId={tenant.id} currency={billing?.balance.currency ?? 'CNY'} onDone={() => { setTopUp(null); loaded.reload(); }} />}
                  <h3>{t('tenants.quotas')}</h3>
                  {reservations.length === 0 ? (
                    <p className="muted">{t('tenants.noReservations')}</p>
                  ) : (
                    <ReservationTable reservations={reservations} />
                  )}
                </Card>
              ))}
            </div>
          )
        }
      </Async>
    </div>
  );
}

export function ReservationTable({ reservations }: { reservations: Reservation[] }) {
  const { t, f } = useI18n();
  return (
    <div className="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">{t('col.model')}</th>
            <th scope="col" className="num">{t('col.gpus')}</th>
            <th scope="col" className="num">{t('tenants.inUse')}</th>
            <th scope="col">{t('tenants.term')}</th>
            <th scope="col" className="num">{t('col.price')}</th>
            <th scope="col" className="num">{t('col.total')}</th>
            <th scope="col">{t('col.status')}</th>
          </tr>
        </thead>
        <tbody>
          {reservations.map((r) => (
            <tr key={r.id}>
              <td>{r.model}</td>
              <td className="num">{f.number(r.gpuMilli / 1000, 2)}</td>
              <td className="num">{f.number(r.usedMilli / 1000, 2)}</td>
              <td>{f.dateTime(r.startAt)} → {f.dateTime(r.endAt)}</td>
              <td className="num">{t('unit.perGpuHour', { v: f.money(r.pricePerGpuHour) })}</td>
              <td className="num">{f.money(r.total)}</td>
              <td><Badge value={r.endAt < Date.now() ? 'cancelled' : r.status} label={r.endAt < Date.now() ? t('tenants.ended') : t(r.status === 'active' ? 'tenants.active' : 'tenants.cancelledRes')} /></td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function TopUpForm({ tenantId, currency, onDone }: { tenantId: string; currency: string; onDone(): void }) {
  const { t } = useI18n();
  const { api } = useSession();
  const [amount, setAmount] = useState('');
  const [reference, setReference] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [key] = useState(() => crypto.randomUUID());
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const value = Number(amount);
    if (!Number.isFinite(value) || value <= 0) return setError(t('tenants.amountInvalid'));
    setBusy(true);
    setError(null);
    try {
      await api.request('post', '/v1/tenants/{id}/top-ups', {
        path: { id: tenantId },
        body: { amount: { amountMicros: Math.round(value * 1e6), currency }, ...(reference ? { reference } : {}) },
        headers: { 'idempotency-key': key },
      });
      onDone();
    } catch (err) {
      setError(errorText(t, err as Error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="inline-form" onSubmit={submit}>
      <label>
        {t('tenants.amount', { currency })}
        <input type="number" min="0" step="0.01" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} required />
      </label>
      <label>
        {t('tenants.reference')}
        <input type="text" value={reference} maxLength={200} onChange={(e) => setReference(e.target.value)} />
      </label>
      <button type="submit" className="btn btn-primary btn-small" disabled={busy}>
        {t('tenants.record')}
      </button>
      {error && <div className="state state-error" role="alert">{error}</div>}
    </form>
  );
}
