import { useState, type FormEvent } from 'react';
import type { ModelPrices, PriceList } from '../api/types.js';
import { Async, Empty, errorText } from '../components/states.js';
import { Card, Field, PageHeader } from '../components/ui.js';
import { useApi } from '../api/use-api.js';
import { useI18n } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/en.js';
import { isOperator, useSession } from '../session.js';

const POLICIES = ['fixed', 'utilization', 'time-of-use'] as const;
const yuan = (micros: number) => String(Math.round(micros) / 1e6);
const micros = (s: string) => Math.round(Number(s) * 1e6);

export default function Prices() {
  const { t } = useI18n();
  const { me } = useSession();
  const op = isOperator(me);
  const loaded = useApi((api, signal) => api.get('/v1/prices', { signal }), []);
  const [list, setList] = useState<PriceList | null>(null);
  const [changes, setChanges] = useState<string[]>([]);
  const data = list ?? loaded.data;

  /** After an edit: the new list, and what happened to each floor and price. */
  const applied = (before: PriceList, after: PriceList) => {
    const lines: string[] = [];
    for (const m of after.models) {
      const old = before.models.find((x) => x.model === m.model);
      if (!old) continue;
      for (const p of m.prices) {
        const o = old.prices.find((x) => x.tier === p.tier);
        if (o && (o.floorPerGpuHour.amountMicros !== p.floorPerGpuHour.amountMicros || o.pricePerGpuHour.amountMicros !== p.pricePerGpuHour.amountMicros))
          lines.push(`${m.model} ${t(`tier.${p.tier}` as MessageKey)}: ${t('prices.changeLine', { fromP: fmt(o.pricePerGpuHour), toP: fmt(p.pricePerGpuHour), fromF: fmt(o.floorPerGpuHour), toF: fmt(p.floorPerGpuHour) })}`);
      }
    }
    setList(after);
    setChanges(lines.length ? lines : [t('prices.noChange')]);
  };
  const { f } = useI18n();
  const fmt = (m: { amountMicros: number; currency: string }) => f.money(m);

  return (
    <div className="page">
      <PageHeader title={t('prices.title')} />
      <Async {...loaded} data={data ?? undefined}>
        {(d) => (
          <div className="stack">
            {changes.length > 0 && (
              <div className="state state-ok" role="status" data-testid="price-changes">
                <strong>{t('prices.effect')}</strong>
                <ul>
                  {changes.map((c) => (
                    <li key={c}>{c}</li>
                  ))}
                </ul>
              </div>
            )}
            <Card title={t('prices.policy')}>
              <p>
                <strong>{d.policy.name}</strong> — {d.policy.description}
              </p>
              <dl className="facts">
                <div><dt>{t('prices.pue')}</dt><dd>{f.number(d.settings.pueMilli / 1000, 2)}</dd></div>
                <div><dt>{t('prices.tariff')}</dt><dd>{t('unit.perKwh', { v: f.money(d.settings.tariffPerKwh) })}</dd></div>
                <div><dt>{t('prices.spotFloor')}</dt><dd>{f.percent(d.settings.spotFloorPermille / 1000)}</dd></div>
                <div><dt>{t('prices.reservedDiscount')}</dt><dd>{f.percent(d.settings.reservedDiscountPermille / 1000)}</dd></div>
                <div><dt>{t('prices.tax')}</dt><dd>{f.percent(d.settings.taxRatePermille / 1000, 1)}</dd></div>
              </dl>
              {op && <SettingsForm list={d} onSaved={(after) => applied(d, after)} />}
            </Card>
            {d.models.length === 0 ? (
              <Empty title={t('prices.none')} />
            ) : (
              d.models.map((m) => <ModelCard key={m.model} m={m} operator={op} onSaved={(after) => applied(d, after)} />)
            )}
          </div>
        )}
      </Async>
    </div>
  );
}

function ModelCard({ m, operator, onSaved }: { m: ModelPrices; operator: boolean; onSaved(after: PriceList): void }) {
  const { t, f } = useI18n();
  const [editing, setEditing] = useState(false);
  return (
    <Card
      title={m.model}
      actions={
        operator && (
          <button type="button" className="btn btn-small" aria-expanded={editing} onClick={() => setEditing((e) => !e)}>
            {editing ? t('action.close') : t('prices.edit')}
          </button>
        )
      }
    >
      <p className="muted">
        {t('prices.modelSummary', { list: f.money(m.list), floor: f.money(m.floor), gpus: f.number(m.capacityGpus, 1), util: f.percent(m.utilizationPermille / 1000, 1) })}
        {m.defaulted && ` · ${t('prices.defaulted')}`}
      </p>
      <div className="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{t('col.tier')}</th>
              <th scope="col" className="num">{t('col.price')}</th>
              <th scope="col" className="num">{t('col.floor')}</th>
              <th scope="col" className="num">{t('prices.margin')}</th>
              <th scope="col" className="num">{t('prices.marginOverCost')}</th>
            </tr>
          </thead>
          <tbody>
            {m.prices.map((p) => (
              <tr key={p.tier}>
                <td>{t(`tier.${p.tier}` as MessageKey)}</td>
                <td className="num">{t('unit.perGpuHour', { v: f.money(p.pricePerGpuHour) })}</td>
                <td className="num">{t('unit.perGpuHour', { v: f.money(p.floorPerGpuHour) })}</td>
                <td className={`num ${p.marginPermille < 0 ? 'neg' : ''}`}>{f.percent(p.marginPermille / 1000, 1)}</td>
                <td className={`num ${p.marginOverCostPermille < 0 ? 'neg' : ''}`}>{f.percent(p.marginOverCostPermille / 1000, 1)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p className="muted small">
        {t('prices.floorParts', {
          dep: f.money({ amountMicros: m.floorParts.depreciation, currency: m.floor.currency }),
          ovh: f.money({ amountMicros: m.floorParts.overhead, currency: m.floor.currency }),
          idle: f.money({ amountMicros: m.floorParts.idleEnergy, currency: m.floor.currency }),
          busy: f.money({ amountMicros: m.floorParts.busyEnergy, currency: m.floor.currency }),
        })}
      </p>
      {editing && <ModelForm m={m} onSaved={(after) => { setEditing(false); onSaved(after); }} />}
    </Card>
  );
}

function ModelForm({ m, onSaved }: { m: ModelPrices; onSaved(after: PriceList): void }) {
  const { t } = useI18n();
  const { api } = useSession();
  const id = `price-${m.model}`;
  const [list, setList] = useState(yuan(m.list.amountMicros));
  const [purchase, setPurchase] = useState(m.costs ? yuan(m.costs.purchasePriceMicros) : '');
  const [months, setMonths] = useState(m.costs ? String(m.costs.depreciationMonths) : '');
  const [overhead, setOverhead] = useState(m.costs ? yuan(m.costs.overheadMicrosPerGpuHour) : '');
  const [util, setUtil] = useState(m.costs ? String(m.costs.expectedUtilizationPermille / 10) : '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body: Record<string, number> = { listMicros: micros(list) };
      if (purchase) body.purchasePriceMicros = micros(purchase);
      if (months) body.depreciationMonths = Math.round(Number(months));
      if (overhead) body.overheadMicrosPerGpuHour = micros(overhead);
      if (util) body.expectedUtilizationPermille = Math.round(Number(util) * 10);
      onSaved(await api.request('put', '/v1/prices/{model}', { path: { model: m.model }, body }));
    } catch (err) {
      setError(errorText(t, err as Error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form-grid" onSubmit={submit}>
      <Field id={`${id}-list`} label={t('prices.listPrice', { currency: m.list.currency })}>
        <input id={`${id}-list`} type="number" step="0.01" min="0" value={list} onChange={(e) => setList(e.target.value)} required />
      </Field>
      <Field id={`${id}-purchase`} label={t('prices.purchase', { currency: m.list.currency })}>
        <input id={`${id}-purchase`} type="number" step="1" min="0" value={purchase} onChange={(e) => setPurchase(e.target.value)} />
      </Field>
      <Field id={`${id}-months`} label={t('prices.months')}>
        <input id={`${id}-months`} type="number" step="1" min="1" value={months} onChange={(e) => setMonths(e.target.value)} />
      </Field>
      <Field id={`${id}-overhead`} label={t('prices.overhead', { currency: m.list.currency })}>
        <input id={`${id}-overhead`} type="number" step="0.01" min="0" value={overhead} onChange={(e) => setOverhead(e.target.value)} />
      </Field>
      <Field id={`${id}-util`} label={t('prices.expectedUtil')}>
        <input id={`${id}-util`} type="number" step="1" min="1" max="100" value={util} onChange={(e) => setUtil(e.target.value)} />
      </Field>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {t('action.save')}
        </button>
        {error && <div className="state state-error" role="alert">{error}</div>}
      </div>
    </form>
  );
}

function SettingsForm({ list, onSaved }: { list: PriceList; onSaved(after: PriceList): void }) {
  const { t } = useI18n();
  const { api } = useSession();
  const [policy, setPolicy] = useState(list.policy.name);
  const [spot, setSpot] = useState(String(list.settings.spotFloorPermille / 10));
  const [discount, setDiscount] = useState(String(list.settings.reservedDiscountPermille / 10));
  const [pue, setPue] = useState(String(list.settings.pueMilli / 1000));
  const [tariff, setTariff] = useState(yuan(list.settings.tariffPerKwh.amountMicros));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onSaved(
        await api.request('patch', '/v1/market/settings', {
          body: {
            ...(policy !== list.policy.name ? { pricingPolicy: policy } : {}),
            spotFloorPermille: Math.round(Number(spot) * 10),
            reservedDiscountPermille: Math.round(Number(discount) * 10),
            pueMilli: Math.round(Number(pue) * 1000),
            tariffMicrosPerKwh: micros(tariff),
          },
        }),
      );
    } catch (err) {
      setError(errorText(t, err as Error));
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="form-grid" onSubmit={submit} aria-label={t('prices.settings')}>
      <Field id="policy" label={t('prices.policyName')}>
        <select id="policy" value={policy} onChange={(e) => setPolicy(e.target.value)}>
          {POLICIES.map((p) => (
            <option key={p} value={p}>
              {t(`policy.${p}` as MessageKey)}
            </option>
          ))}
        </select>
      </Field>
      <Field id="spot-floor" label={t('prices.spotFloorPct')}>
        <input id="spot-floor" type="number" step="0.1" min="0" value={spot} onChange={(e) => setSpot(e.target.value)} />
      </Field>
      <Field id="reserved-discount" label={t('prices.reservedDiscountPct')}>
        <input id="reserved-discount" type="number" step="0.1" min="0" max="100" value={discount} onChange={(e) => setDiscount(e.target.value)} />
      </Field>
      <Field id="pue" label={t('prices.pue')}>
        <input id="pue" type="number" step="0.01" min="1" value={pue} onChange={(e) => setPue(e.target.value)} />
      </Field>
      <Field id="tariff" label={t('prices.tariffInput', { currency: list.currency })}>
        <input id="tariff" type="number" step="0.01" min="0" value={tariff} onChange={(e) => setTariff(e.target.value)} />
      </Field>
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={busy}>
          {t('action.save')}
        </button>
        {error && <div className="state state-error" role="alert">{error}</div>}
      </div>
    </form>
  );
}
