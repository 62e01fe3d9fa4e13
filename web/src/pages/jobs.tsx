import type { Job } from '../api/types.js';
import { Async, Empty } from '../components/states.js';
import { Card, PageHeader, Segmented, StateBadge } from '../components/ui.js';
import { useApi } from '../api/use-api.js';
import { useI18n } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/en.js';
import { Link, navigate, usePath } from '../router.js';
import { isOperator, useSession } from '../session.js';

const FILTERS = ['all', 'queued', 'running', 'finished'] as const;
type Filter = (typeof FILTERS)[number];
const STATES: Record<Filter, string | undefined> = { all: undefined, queued: 'queued', running: 'scheduled,running', finished: 'succeeded,failed,cancelled,lost,preempted' };

export function shapeText(t: ReturnType<typeof useI18n>['t'], f: ReturnType<typeof useI18n>['f'], j: Pick<Job, 'gpuMilli' | 'gpus' | 'models'>) {
  const shape = j.gpus ? t('shape.gpus', { n: f.number(j.gpus) }) : t('shape.share', { n: f.number((j.gpuMilli ?? 0) / 1000, 3) });
  return j.models.length ? `${shape} · ${j.models.join(', ')}` : shape;
}

export default function Jobs() {
  const { t, f } = useI18n();
  const { me } = useSession();
  const { query } = usePath();
  const raw = query.get('state');
  const filter: Filter = raw === 'queued' ? 'queued' : raw === 'running' ? 'running' : raw === 'finished' ? 'finished' : 'all';
  const loaded = useApi((api, signal) => api.get('/v1/jobs', { query: { limit: 100, ...(STATES[filter] ? { state: STATES[filter] } : {}) }, signal }), [filter], { pollMs: 3000 });
  const op = isOperator(me);

  return (
    <div className="page">
      <PageHeader title={t('jobs.title')}>
        <Segmented label={t('jobs.filter')} value={filter} onChange={(v) => navigate(v === 'all' ? '/jobs' : `/jobs?state=${v}`, true)} options={FILTERS.map((x) => ({ id: x, label: t(`jobs.filter.${x}` as MessageKey) }))} />
        {!op && (
          <Link className="btn btn-primary" href="/submit">
            {t('jobs.new')}
          </Link>
        )}
      </PageHeader>
      <Async {...loaded}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty title={t('jobs.none')}>{op ? t('jobs.noneOperator') : <Link href="/submit">{t('jobs.noneHint')}</Link>}</Empty>
          ) : (
            <Card>
              <div className="table-wrap">
                <table data-testid="jobs-table">
                  <thead>
                    <tr>
                      <th scope="col">{t('col.job')}</th>
                      <th scope="col">{t('col.state')}</th>
                      <th scope="col">{t('col.shape')}</th>
                      <th scope="col">{t('col.tier')}</th>
                      <th scope="col">{t('col.node')}</th>
                      <th scope="col">{t('col.created')}</th>
                      <th scope="col" className="num">{t('col.price')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((j) => (
                      <tr key={j.id}>
                        <td>
                          <Link href={`/jobs/${j.id}`}>{j.name ?? j.id}</Link>
                          {j.name && <div className="muted small mono">{j.id}</div>}
                        </td>
                        <td>
                          <StateBadge state={j.state} />
                          {j.state === 'queued' && <div className="muted small why">{j.stateReason}</div>}
                        </td>
                        <td>{shapeText(t, f, j)}</td>
                        <td>{t(`tier.${j.tier}` as MessageKey)}</td>
                        <td>{j.nodeName ?? '—'}</td>
                        <td>{f.relative(j.createdAt)}</td>
                        <td className="num">{j.pricePerHour ? t('unit.perHour', { v: f.money(j.pricePerHour) }) : '—'}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </Card>
          )
        }
      </Async>
    </div>
  );
}
