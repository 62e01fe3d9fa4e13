import { useEffect, useMemo, useState, type FormEvent } from 'react';
import type { Quote } from '../api/types.js';
import { Async, Empty, errorText } from '../components/states.js';
import { Card, Field, PageHeader, Segmented } from '../components/ui.js';
import { useApi } from '../api/use-api.js';
import { useI18n } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/en.js';
import { navigate } from '../router.js';
import { useSession } from '../session.js';

const TIERS = ['on-demand', 'spot', 'reserved'] as const;
type Tier = (typeof TIERS)[number];
type ShapeKind = 'share' | 'whole';

export default function Submit() {
  const { t } = useI18n();
  const prices = useApi((api, signal) => api.get('/v1/prices', { signal }), []);
  return (
    <div className="page">
      <PageHeader title={t('submit.title')} />
      <Async {...prices}>
        {(list) => {
          const models = [...list.models].sort((a, b) => b.capacityGpus - a.capacityGpus).map((m) => m.model);
          return models.length === 0 ? <Empty title={t('submit.noModels')}>{t('submit.noModelsHint')}</Empty> : <SubmitForm models={models} currency={list.currency} />;
        }}
      </Async>
    </div>
  );
}

function SubmitForm({ models, currency }: { models: string[]; currency: string }) {
  const { t, f } = useI18n();
  const { api } = useSession();
  const [name, setName] = useState('');
  const [command, setCommand] = useState("echo hello from Unidle; nvidia-smi -L 2>/dev/null || true; sleep 30");
  const [kind, setKind] = useState<ShapeKind>('share');
  const [milli, setMilli] = useState('500');
  const [gpus, setGpus] = useState('1');
  const [model, setModel] = useState(models[0]!);
  const [tier, setTier] = useState<Tier>('on-demand');
  const [hours, setHours] = useState('1');
  const [bid, setBid] = useState('');
  const [quote, setQuote] = useState<Quote | null>(null);
  const [quoteError, setQuoteError] = useState<string | null>(null);
  const [quoting, setQuoting] = useState(false);
  const [submitError, setSubmitError] = useState<string | null>(null);
  const [submitting, setSubmitting] = useState(false);
  const [idemKey, setIdemKey] = useState(() => crypto.randomUUID());

  const shape = useMemo(() => (kind === 'share' ? { gpuMilli: Math.round(Number(milli)) } : { gpus: Math.round(Number(gpus)) }), [kind, milli, gpus]);
  const hoursN = Number(hours);
  const bidMoney = tier === 'spot' && bid !== '' && Number(bid) > 0 ? { amountMicros: Math.round(Number(bid) * 1e6), currency } : undefined;
  const shapeValid = kind === 'share' ? Number(milli) >= 1 && Number(milli) <= 999 : Number(gpus) >= 1;
  const valid = shapeValid && hoursN > 0 && command.trim().length > 0;

  // The live quote: asked again whenever the shape, model, tier, hours or bid change (debounced).
  useEffect(() => {
    if (!shapeValid || !(hoursN > 0)) {
      setQuote(null);
      return;
    }
    const ctrl = new AbortController();
    const timer = setTimeout(async () => {
      setQuoting(true);
      try {
        const q = await api.request('post', '/v1/quotes', { body: { ...shape, model, tier, hours: hoursN, ...(bidMoney ? { maxPricePerHour: bidMoney } : {}) }, signal: ctrl.signal });
        setQuote(q);
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
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, shape, model, tier, hoursN, bidMoney?.amountMicros, shapeValid]);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!valid) return setSubmitError(t('submit.invalid'));
    setSubmitting(true);
    setSubmitError(null);
    try {
      const job = await api.request('post', '/v1/jobs', {
        body: {
          ...(name.trim() ? { name: name.trim() } : {}),
          command: ['sh', '-c', command],
          ...shape,
          models: [model],
          tier,
          maxDurationMs: Math.round(hoursN * 3_600_000),
          ...(bidMoney ? { maxPricePerHour: bidMoney } : {}),
        },
        headers: { 'idempotency-key': idemKey },
      });
      setIdemKey(crypto.randomUUID());
      navigate(`/jobs/${job.id}`);
    } catch (err) {
      setSubmitError(errorText(t, err as Error));
    } finally {
      setSubmitting(false);
    }
  };

  return (
    <div className="grid-2 submit-grid">
      <Card title={t('submit.job')}>
        <form onSubmit={submit} className="form-grid" noValidate>
          <Field id="job-name" label={t('submit.name')}>
            <input id="job-name" type="text" maxLength={128} value={name} onChange={(e) => setName(e.target.value)} placeholder={t('submit.namePlaceholder')} />
          </Field>
          <Field id="job-command" label={t('submit.command')} hint={t('submit.commandHint')}>
            <textarea id="job-command" rows={3} value={command} onChange={(e) => setCommand(e.target.value)} required aria-describedby="job-command-hint" className="mono" />
          </Field>
          <div className="field">
            <span className="label" id="shape-label">{t('submit.shape')}</span>
            <Segmented label={t('submit.shape')} value={kind} onChange={setKind} options={[{ id: 'share', label: t('submit.share') }, { id: 'whole', label: t('submit.whole') }]} />
          </div>
          {kind === 'share' ? (
            <Field id="job-milli" label={t('submit.milli')} hint={t('submit.milliHint')}>
              <input id="job-milli" type="number" min={1} max={999} step={50} value={milli} onChange={(e) => setMilli(e.target.value)} aria-describedby="job-milli-hint" />
            </Field>
          ) : (
            <Field id="job-gpus" label={t('submit.gpus')}>
              <input id="job-gpus" type="number" min={1} max={64} step={1} value={gpus} onChange={(e) => setGpus(e.target.value)} />
            </Field>
          )}
          <Field id="job-model" label={t('col.model')}>
            <select id="job-model" value={model} onChange={(e) => setModel(e.target.value)}>
              {models.map((m) => (
                <option key={m} value={m}>
                  {m}
                </option>
              ))}
            </select>
          </Field>
          <Field id="job-tier" label={t('col.tier')}>
            <select id="job-tier" value={tier} onChange={(e) => setTier(e.target.value as Tier)}>
              {TIERS.map((x) => (
                <option key={x} value={x}>
                  {t(`tier.${x}` as MessageKey)}
                </option>
              ))}
            </select>
          </Field>
          <Field id="job-hours" label={t('submit.hours')} hint={t('submit.hoursHint')}>
            <input id="job-hours" type="number" min={0.01} step={0.25} value={hours} onChange={(e) => setHours(e.target.value)} aria-describedby="job-hours-hint" />
          </Field>
          {tier === 'spot' && (
            <Field id="job-bid" label={t('submit.bid', { currency })} hint={t('submit.bidHint')}>
              <input id="job-bid" type="number" min={0} step={0.1} value={bid} onChange={(e) => setBid(e.target.value)} aria-describedby="job-bid-hint" />
            </Field>
          )}
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" disabled={submitting || !valid} data-testid="submit-job">
              {submitting ? t('submit.submitting') : t('submit.submit')}
            </button>
            {submitError && <div className="state state-error" role="alert">{submitError}</div>}
          </div>
        </form>
      </Card>
      <Card title={t('submit.quote')} className="quote-card">
        <div aria-live="polite" data-testid="quote" data-quoting={quoting ? 'true' : 'false'}>
          {quoteError ? (
            <div className="state state-error" role="alert">{quoteError}</div>
          ) : !quote ? (
            <p className="muted">{shapeValid ? t('submit.quoting') : t('submit.quoteNeedsShape')}</p>
          ) : (
            <>
              <div className="quote-price" data-testid="quote-price">
                {t('unit.perHour', { v: f.money(quote.pricePerHour) })}
              </div>
              <dl className="facts">
                <div><dt>{t('submit.total', { h: f.number(quote.hours, 2) })}</dt><dd data-testid="quote-total">{f.money(quote.estimatedTotal)}</dd></div>
                <div><dt>{t('submit.perGpuHour')}</dt><dd>{f.money(quote.pricePerGpuHour)}</dd></div>
                <div><dt>{t('submit.start')}</dt><dd>{quote.estimatedStartAt === null ? t('submit.noStart') : quote.estimatedStartAt <= Date.now() + 5000 ? t('submit.now') : f.relative(quote.estimatedStartAt)}</dd></div>
                <div><dt>{t('submit.fixed')}</dt><dd>{quote.priceFixed ? t('submit.fixedYes') : t('submit.fixedNo')}</dd></div>
              </dl>
              {quote.notes.length > 0 && (
                <ul className="notes">
                  {quote.notes.map((n) => (
                    <li key={n}>{n}</li>
                  ))}
                </ul>
              )}
              {quote.alternatives.length > 0 && (
                <>
                  <h3>{t('submit.alternatives')}</h3>
                  <ul className="alts">
                    {quote.alternatives.map((a) => (
                      <li key={`${a.model}-${a.tier}`}>
                        <button
                          type="button"
                          className="btn btn-small btn-ghost"
                          onClick={() => {
                            setModel(a.model);
                            setTier(a.tier);
                          }}
                        >
                          {a.model} · {t(`tier.${a.tier}` as MessageKey)}
                        </button>{' '}
                        {t('unit.perHour', { v: f.money(a.pricePerHour) })} · {f.money(a.estimatedTotal)} {a.why.length > 0 && <span className="muted small">({a.why.map((w) => t(`why.${w}` as MessageKey)).join(', ')})</span>}
                      </li>
                    ))}
                  </ul>
                </>
              )}
            </>
          )}
        </div>
      </Card>
    </div>
  );
}
