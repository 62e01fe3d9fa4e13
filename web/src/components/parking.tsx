import type { Node, ParkingStatus } from '../api/types.js';
import type { MessageKey } from '../i18n/en.js';
import { useI18n } from '../i18n/i18n.js';

/** The parking policy, its power driver and what it did last (GET /v1/parking). */
export function ParkingFacts({ status, nodes }: { status: ParkingStatus; nodes?: readonly Pick<Node, 'id' | 'name'>[] }) {
  const { t, f } = useI18n();
  const d = status.lastDecision;
  const names = new Map((nodes ?? []).map((n) => [n.id, n.name]));
  const list = (ids: string[]) => (ids.length ? ids.map((id) => names.get(id) ?? id).join(', ') : '—');
  return (
    <div data-testid="parking-status">
      <dl className="facts">
        <div>
          <dt>{t('parking.policy')}</dt>
          <dd>
            <strong>{t(`parking.policy.${status.policy}` as MessageKey)}</strong>
          </dd>
        </div>
        <div>
          <dt>{t('parking.driver')}</dt>
          <dd className="mono">{status.driver}</dd>
        </div>
        <div>
          <dt>{t('parking.nodes')}</dt>
          <dd>{t('parking.nodesByState', { on: f.number(status.nodes.on), parked: f.number(status.nodes.parked), parking: f.number(status.nodes.parking), waking: f.number(status.nodes.waking) })}</dd>
        </div>
        <div>
          <dt>{t('parking.parkedGpus')}</dt>
          <dd data-testid="parked-gpus">{f.number(status.parkedGpus)}</dd>
        </div>
        {status.policy === 'idle-timer' && (
          <div>
            <dt>{t('parking.idleAfter')}</dt>
            <dd>{f.duration(status.idleMs)}</dd>
          </div>
        )}
        <div>
          <dt>{t('parking.wakeTimeout')}</dt>
          <dd>{f.duration(status.wakeTimeoutMs)}</dd>
        </div>
        {status.cycleBudget && (
          <div>
            <dt>{t('parking.cycleBudget')}</dt>
            <dd>{t('parking.cycleBudgetValue', { perDay: f.number(status.cycleBudget.perDay), per24h: f.number(status.cycleBudget.per24h) })}</dd>
          </div>
        )}
        {status.policy === 'unidle' && (
          <div>
            <dt>{t('parking.forecastUpper')}</dt>
            <dd>
              {status.forecastUpperGpus === null ? t('parking.noForecast') : t('parking.gpusValue', { n: f.number(status.forecastUpperGpus) })}
              {status.forecastByPool.length > 1 && (
                <ul className="small muted" data-testid="pool-forecasts">
                  {status.forecastByPool.map((p) => (
                    <li key={p.pool}>{t('parking.poolForecast', { pool: p.pool, busy: f.number(p.busyGpus), upper: f.number(p.upperGpus) })}</li>
                  ))}
                </ul>
              )}
            </dd>
          </div>
        )}
        <div>
          <dt>{t('parking.lastTick')}</dt>
          <dd>{status.lastTickAt === null ? t('parking.neverTicked') : f.relative(status.lastTickAt)}</dd>
        </div>
      </dl>
      <p className="muted small">
        {status.policy === 'off' ? t('parking.offHint') : d && (d.park.length > 0 || d.wake.length > 0) ? t('parking.lastDecision', { park: list(d.park), wake: list(d.wake) }) : t('parking.nothingDecided')}
      </p>
    </div>
  );
}
