import { useEffect, useMemo, useState, type FormEvent } from 'react';
import type { Quote } from '../api/types.js';
import { Async, Empty, ErrorState, errorText, Loading } from '../components/states.js';
import { Card, Field, PageHeader, Stat } from '../components/ui.js';
import { useApi } from '../api/use-api.js';
import { useI18n } from '../i18n/i18n.js';
import { useSession } from '../session.js';
import { ReservationTable } from './tenants.js';

/** Shortest term the server sells (MIN_RESERVATION_HOURS). */
const MIN_DAYS = 1;
const MAX_DAYS = 3 * 366;

export default function Reservations() {
  const { t, f } = useI18n();
  const { me } = useSession();
  const tenantId = me?.tenantId ?? '';
  const prices = useApi((api, signal) => api.get('/v1/prices', { signal }), []);
  const list = useApi((api, signal) => api.get('/v1/reservations', { signal }), [], { pollMs: 30_000 });
  const billing = useApi((api, signal) => api.get('/v1/tenants/{id}/billing', { path: { id: tenantId }, signal }), [tenantId]);
  const models = useMemo(() => [...(prices.data?.models ?? [])].sort((a, b) => b.capacityGpus - a.capacityGpus), [prices.data]);
  const now = Date.now();
  const active = (list.data?.items ?? []).filter((r) => r.status === 'active' && r.endAt > now);

  return (
    <div className="page">
      <PageHeader title={t('rsv.title')} />
      {billing.data && (
        <div className="stats">
          <Stat label={t('billing.balance')} value={f.money(billing.data.balance)} tone={billing.data.balance.amountMicros < 0 ? 'bad' : 'ok'} hint={t(billing.data.paymentMode === 'prepaid' ? 'billing.prepaid' : 'billing.postpaid')} testId="rsv-balance" />
          <Stat label={t('rsv.prepaid')} value={f.money(billing.data.reservationsPrepaid)} />
          <Stat label={t('rsv.activeCount')} value={f.number(active.length)} hint={t('rsv.activeGpus', { n: f.number(active.reduce((s, r) => s + r.gpuMilli, 0) / 1000, 2) })} />
        </div>
      )}
      <div className="grid-2">
        <Card title={t('rsv.buy')}>
          {prices.error && !prices.data ? (
            <ErrorState error={prices.error} retry={prices.reload} />
          ) : !prices.data ? (
            <Loading />
          ) : models.length === 0 ? (
            <Empty title={t('submit.noModels')}>{t('submit.noModelsHint')}</Empty>
          ) : (
            <ReserveForm
              models={models.map((m) => m.model)}
              onBought={() => {
                list.reload();
                billing.reload();
              }}
            />
          )}
        </Card>
        <Card title={t('rsv.how')}>
          <ul className="notes">
            <li>{t('rsv.how1')}</li>
            <li>{t('rsv.how2')}</li>
            <li>{t('rsv.how3')}</li>
          </ul>
        </Card>
      </div>
      <Card title={t('rsv.yours')}>
        <Async {...list}>{(r) => (r.items.length === 0 ? <Empty title={t('rsv.none')}>{t('rsv.noneHint')}</Empty> : <ReservationTable reservations={r.items} />)}</Async>
      </Card>
    </div>
  );
}

function ReserveForm({ models, onBought }: { models: string[]; onBought(): void }) {
  const { t, f } = useI18n();
  const { api } = useSession();
  const [model, setModel] = useState(models[0]!);
  const [gpus, setGpus] = useState('1');
  const [days, setDays] = useState('1');
  const [start, setStart] = useState(''); // datetime-local; empty: now
  const [lend, setLend] = useState(true);
  const [quote, setQuote] = useState<Quote | null>(null);
  const [quoteError, setQuoteError] = useState<string | null>(null);
  const [quoting, setQuoting] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);
  const [buying, setBuying] = useState(false);
  const [idemKey, setIdemKey] = useState(() => crypto.randomUUID());

  const gpusN = Number(gpus);
  const daysN = Number(days);
  const startAt = start ? new Date(start).getTime() : undefined;
  const valid = Number.isInteger(gpusN) && gpusN >= 1 && Number.isFinite(daysN) && daysN >= MIN_DAYS && daysN <= MAX_DAYS && (startAt === undefined || (Number.isFinite(startAt) && startAt >= Date.now() - 60_000));
  const hours = Math.round(daysN * 24 * 100) / 100;

  // The quote for the reserved tier is asked again whenever the model, size or term change.
  useEffect(() => {
    if (!valid) {
      setQuote(null);
      return;
    }
    const ctrl = new AbortController();
    const timer = setTimeout(async () => {
      setQuoting(true);
      try {
        setQuote(await api.request('post', '/v1/quotes', { body: { gpus: gpusN, model, tier: 'reserved', hours }, signal: ctrl.signal }));
        setQuoteError(null);
      } catch (err) {
        if (ctrl.signal.aborted) return;
        setQuote(null);
        setQuoteError(errorText(t, err as Error));
      } finally {
        if (!ctrl.signal.aborted) setQuoting(false);
      }
    }, 250);
    return () => {
      clearTimeout(timer);
      ctrl.abort();
    };
  }, [api, model, gpusN, hours, valid, t]);

  const buy = async (e: FormEvent) => {
    e.preventDefault();
    if (!valid) return setResult({ ok: false, text: t('rsv.invalid') });
    setBuying(true);
    setResult(null);
    try {
      const r = await api.request('post', '/v1/reservations', {
        body: { model, gpus: gpusN, hours, ...(startAt !== undefined ? { startAt } : {}), ...(lend ? {} : { lendingLimitMilli: 0 }) },
        headers: { 'idempotency-key': idemKey },
      });
      setIdemKey(crypto.randomUUID());
      setResult({ ok: true, text: t('rsv.bought', { gpus: f.number(r.gpuMilli / 1000, 2), model: r.model, until: f.dateTime(r.endAt), total: f.money(r.total) }) });
      onBought();
    } catch (err) {
      setResult({ ok: false, text: errorText(t, err as Error) });
    } finally {
      setBuying(false);
    }
  };

  return (
    <form onSubmit={buy} className="form-grid form-2" noValidate data-testid="reserve-form">
      <Field id="rsv-model" label={t('col.model')}>
        <select id="rsv-model" value={model} onChange={(e) => setModel(e.target.value)}>
          {models.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </Field>
      <Field id="rsv-gpus" label={t('submit.gpus')}>
        <input id="rsv-gpus" type="number" min={1} step={1} value={gpus} onChange={(e) => setGpus(e.target.value)} />
      </Field>
      <Field id="rsv-days" label={t('rsv.days')} hint={t('rsv.daysHint')}>
        <input id="rsv-days" type="number" min={MIN_DAYS} max={MAX_DAYS} step={1} value={days} onChange={(e) => setDays(e.target.value)} aria-describedby="rsv-days-hint" />
      </Field>
      <Field id="rsv-start" label={t('rsv.start')} hint={t('rsv.startHint')}>
        <input id="rsv-start" type="datetime-local" value={start} onChange={(e) => setStart(e.target.value)} aria-describedby="rsv-start-hint" />
      </Field>
      <div className="field check">
        <label>
          <input type="checkbox" checked={lend} onChange={(e) => setLend(e.target.checked)} /> {t('rsv.lend')}
        </label>
        <div className="field-hint">{t('rsv.lendHint')}</div>
      </div>
      <div className="quote-box" aria-live="polite" data-testid="rsv-quote" data-quoting={quoting ? 'true' : 'false'}>
        {quoteError ? (
          <div className="state state-error" role="alert">{quoteError}</div>
        ) : !valid ? (
          <p className="muted">{t('rsv.invalid')}</p>
        ) : !quote ? (
          <p className="muted">{t('submit.quoting')}</p>
        ) : (
          <>
            <div className="quote-price" data-testid="rsv-total">{f.money(quote.estimatedTotal)}</div>
            <dl className="facts">
              <div><dt>{t('submit.perGpuHour')}</dt><dd>{f.money(quote.pricePerGpuHour)}</dd></div>
              <div><dt>{t('rsv.term')}</dt><dd>{t('rsv.termValue', { gpus: f.number(gpusN), days: f.number(daysN, 2) })}</dd></div>
              <div><dt>{t('submit.start')}</dt><dd>{quote.estimatedStartAt === null ? t('submit.noStart') : startAt !== undefined ? f.dateTime(startAt) : quote.estimatedStartAt <= Date.now() + 5000 ? t('submit.now') : f.relative(quote.estimatedStartAt)}</dd></div>
            </dl>
            {quote.notes.length > 0 && (
              <ul className="notes">
                {quote.notes.map((n) => (
                  <li key={n}>{n}</li>
                ))}
              </ul>
            )}
          </>
        )}
      </div>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={buying || !valid || !quote} data-testid="rsv-buy">
          {buying ? t('rsv.buying') : quote ? t('rsv.buyFor', { total: f.money(quote.estimatedTotal) }) : t('rsv.buyButton')}
        </button>
        {result && (
          <div className={`state ${result.ok ? 'state-ok' : 'state-error'}`} role={result.ok ? 'status' : 'alert'} data-testid="rsv-result">
            {result.text}
          </div>
        )}
      </div>
    </form>
  );
}
