import { useMemo, useState, type FormEvent } from 'react';
import { Chart, loadECharts } from '../components/chart.js';
import type { EChartsOption } from '../components/echarts.js';
import { Async, Empty, ErrorState, errorText, Loading } from '../components/states.js';
import { Card, PageHeader, Stat } from '../components/ui.js';
import { useApi } from '../api/use-api.js';
import { useI18n } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/en.js';
import { useSession } from '../session.js';
import { ReservationTable } from './tenants.js';
import { Link } from '../router.js';

function months(n: number): string[] {
  const d = new Date();
  return Array.from({ length: n }, (_, i) => {
    const x = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - i, 1));
    return `${x.getUTCFullYear()}-${String(x.getUTCMonth() + 1).padStart(2, '0')}`;
  });
}

export default function Billing() {
  const { t, f } = useI18n();
  const { me } = useSession();
  const tenantId = me?.tenantId ?? '';
  const billing = useApi((api, signal) => api.get('/v1/tenants/{id}/billing', { path: { id: tenantId }, signal }), [tenantId], { pollMs: 10_000 });
  const usage = useApi(async (api, signal) => (await Promise.all([api.get('/v1/usage', { query: { groupBy: 'period', period: 'day', from: Date.now() - 30 * 86_400_000 }, signal }), loadECharts()]))[0], []);
  const reservations = useApi((api, signal) => api.get('/v1/reservations', { signal }), []);
  const [period, setPeriod] = useState(() => months(1)[0]!);

  const usageOption = useMemo<EChartsOption | null>(() => {
    const rows = usage.data?.rows ?? [];
    if (rows.length === 0) return null;
    return {
      tooltip: { trigger: 'axis', valueFormatter: (v: unknown) => f.number(typeof v === 'number' ? v : null, 3) },
      grid: { left: 48, right: 16, top: 24, bottom: 28 },
      xAxis: { type: 'category', data: rows.map((r) => r.period ?? '') },
      yAxis: { type: 'value', name: t('unit.gpuHours') },
      series: [{ name: t('billing.gpuHours'), type: 'bar', data: rows.map((r) => r.gpuHours) }],
    };
  }, [usage.data, f, t]);

  return (
    <div className="page">
      <PageHeader title={t('billing.title')} />
      <Async {...billing}>
        {(b) => (
          <div className="stats">
            <Stat label={t('billing.balance')} value={f.money(b.balance)} tone={b.balance.amountMicros < 0 ? 'bad' : 'ok'} hint={t(b.paymentMode === 'prepaid' ? 'billing.prepaid' : 'billing.postpaid')} testId="balance" />
            <Stat label={t('billing.spent')} value={f.money(b.spentThisMonth)} />
            <Stat label={t('billing.budget')} value={b.budgetLimit ? f.money(b.budgetLimit) : t('billing.noBudget')} hint={b.budgetLimit && b.budgetLimit.amountMicros > 0 ? t('billing.budgetUsed', { p: f.percent(b.spentThisMonth.amountMicros / b.budgetLimit.amountMicros) }) : undefined} />
            <Stat label={t('billing.burn')} value={t('unit.perHour', { v: f.money(b.burnPerHour) })} hint={b.exhaustedAt ? t('billing.exhausted') : b.warnedAt ? t('billing.warned') : undefined} tone={b.exhaustedAt ? 'bad' : b.warnedAt ? 'warn' : undefined} />
          </div>
        )}
      </Async>
      <div className="grid-2">
        <Card title={t('billing.usage30')}>
          {usage.error ? <ErrorState error={usage.error} retry={usage.reload} /> : !usage.data ? <Loading /> : usageOption ? <Chart option={usageOption} label={t('billing.usage30')} testId="chart-usage" /> : <Empty title={t('billing.noUsage')}>{t('billing.noUsageHint')}</Empty>}
        </Card>
        <Card title={t('billing.budgetTitle')}>
          {billing.data && <BudgetForm tenantId={tenantId} current={billing.data.budgetLimit} currency={billing.data.balance.currency} canEdit={me?.role === 'tenant-admin'} onSaved={billing.reload} />}
        </Card>
      </div>
      <Card title={t('billing.invoices')} actions={<select aria-label={t('billing.period')} value={period} onChange={(e) => setPeriod(e.target.value)}>{months(6).map((m) => <option key={m} value={m}>{m}</option>)}</select>}>
        <InvoiceView tenantId={tenantId} period={period} />
      </Card>
      <Card title={t('billing.reservations')} actions={<Link href="/reservations">{t('billing.reserve')}</Link>}>
        <Async {...reservations}>{(r) => (r.items.length === 0 ? <p className="muted">{t('billing.noReservations')}</p> : <ReservationTable reservations={r.items} />)}</Async>
      </Card>
    </div>
  );
}

function InvoiceView({ tenantId, period }: { tenantId: string; period: string }) {
  const { t, f } = useI18n();
  const { api } = useSession();
  const invoice = useApi((a, signal) => a.get('/v1/tenants/{id}/invoices/{period}', { path: { id: tenantId, period }, query: { format: 'json' }, signal }), [tenantId, period]);
  const [printError, setPrintError] = useState<string | null>(null);
  const openPrintable = async () => {
    setPrintError(null);
    // The key cannot go in a URL, so the printable invoice is fetched with it and shown from memory.
    const win = window.open('', '_blank');
    try {
      const html = await api.text(`/v1/tenants/${encodeURIComponent(tenantId)}/invoices/${period}?format=html`, 'text/html');
      const url = URL.createObjectURL(new Blob([html], { type: 'text/html' }));
      if (win) win.location.href = url;
      else window.location.href = url;
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      win?.close();
      setPrintError(errorText(t, err as Error));
    }
  };
  return (
    <Async {...invoice}>
      {(inv) => (
        <div className="stack">
          <div className="invoice-head">
            <dl className="facts">
              <div><dt>{t('billing.usageSubtotal')}</dt><dd>{f.money(inv.usageSubtotal)}</dd></div>
              <div><dt>{t('billing.reservationSubtotal')}</dt><dd>{f.money(inv.reservationSubtotal)}</dd></div>
              <div><dt>{t('billing.refunds')}</dt><dd>{f.money(inv.refundTotal)}</dd></div>
              <div><dt>{t('billing.tax')}</dt><dd>{f.money(inv.taxes.amount)}</dd></div>
              <div><dt>{t('col.total')}</dt><dd><strong data-testid="invoice-total">{f.money(inv.total)}</strong></dd></div>
              <div><dt>{t('job.energy')}</dt><dd>{f.number(inv.energy.kWh, 3)} {t('unit.kwh')} · {f.number(inv.energy.co2Grams / 1000, 3)} kg CO₂</dd></div>
            </dl>
            <button type="button" className="btn btn-small" onClick={openPrintable}>
              {t('billing.printable')}
            </button>
          </div>
          {printError && <div className="state state-error" role="alert">{printError}</div>}
          {inv.lines.length === 0 ? (
            <p className="muted">{t('billing.noLines')}</p>
          ) : (
            <div className="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">{t('col.job')}</th>
                    <th scope="col">{t('col.model')}</th>
                    <th scope="col">{t('col.tier')}</th>
                    <th scope="col" className="num">{t('billing.seconds')}</th>
                    <th scope="col" className="num">{t('col.price')}</th>
                    <th scope="col" className="num">{t('billing.amount')}</th>
                  </tr>
                </thead>
                <tbody>
                  {inv.lines.slice(0, 200).map((l) => (
                    <tr key={l.leaseId}>
                      <td>{l.jobName ?? l.jobId}</td>
                      <td>{l.model} ({f.number(l.gpuMilli / 1000, 3)})</td>
                      <td>{t(`tier.${l.tier}` as MessageKey)}</td>
                      <td className="num">{f.number(l.seconds, 1)}</td>
                      <td className="num">{t('unit.perGpuHour', { v: f.money(l.pricePerGpuHour) })}</td>
                      <td className="num">{f.money(l.amount)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
    </Async>
  );
}

function BudgetForm({ tenantId, current, currency, canEdit, onSaved }: { tenantId: string; current: { amountMicros: number; currency: string } | null; currency: string; canEdit: boolean; onSaved(): void }) {
  const { t, f } = useI18n();
  const { api } = useSession();
  const [value, setValue] = useState(current ? String(current.amountMicros / 1e6) : '');
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const n = Number(value);
    if (!Number.isFinite(n) || n < 0) return setMessage({ ok: false, text: t('tenants.amountInvalid') });
    try {
      await api.request('patch', '/v1/tenants/{id}/billing', { path: { id: tenantId }, body: { budgetLimit: { amountMicros: Math.round(n * 1e6), currency } } });
      setMessage({ ok: true, text: t('billing.budgetSaved') });
      onSaved();
    } catch (err) {
      setMessage({ ok: false, text: errorText(t, err as Error) });
    }
  };
  return (
    <div>
      <p>{current ? t('billing.budgetIs', { v: f.money(current) }) : t('billing.noBudgetHint')}</p>
      {canEdit ? (
        <form className="inline-form" onSubmit={submit}>
          <label>
            {t('billing.monthlyLimit', { currency })}
            <input type="number" min="0" step="1" value={value} onChange={(e) => setValue(e.target.value)} />
          </label>
          <button type="submit" className="btn btn-primary btn-small">
            {t('action.save')}
          </button>
        </form>
      ) : (
        <p className="muted small">{t('billing.budgetAdminOnly')}</p>
      )}
      {message && <div className={`state ${message.ok ? 'state-ok' : 'state-error'}`} role={message.ok ? 'status' : 'alert'}>{message.text}</div>}
    </div>
  );
}
