import { useEffect, useRef, useState } from 'react';
import { TERMINAL_STATES, type JobDetail } from '../api/types.js';
import { Async, errorText } from '../components/states.js';
import { Card, PageHeader, Stat, StateBadge } from '../components/ui.js';
import { useApi } from '../api/use-api.js';
import { useI18n } from '../i18n/i18n.js';
import type { MessageKey } from '../i18n/en.js';
import { Link, usePath } from '../router.js';
import { useSession } from '../session.js';
import { shapeText } from './jobs.js';

const MAX_LOG_CHARS = 200_000;

export default function JobDetailPage() {
  const { t } = useI18n();
  const { path } = usePath();
  const id = decodeURIComponent(path.split('/')[2] ?? '');
  const [done, setDone] = useState(false);
  const loaded = useApi((api, signal) => api.get('/v1/jobs/{id}', { path: { id }, signal }), [id], { pollMs: done ? undefined : 1500 });
  useEffect(() => {
    // Stop polling once the job has ended and its last charge is written.
    const job = loaded.data;
    if (job && TERMINAL_STATES.includes(job.state) && job.cost.leases.every((l) => l.endAt !== null && l.chargedUntil >= l.endAt)) setDone(true);
  }, [loaded.data]);

  return (
    <div className="page">
      <PageHeader title={loaded.data?.name ?? t('job.title')}>
        <Link href="/jobs">{t('job.back')}</Link>
      </PageHeader>
      <Async {...loaded}>{(job) => <JobBody job={job} reload={loaded.reload} />}</Async>
    </div>
  );
}

function JobBody({ job, reload }: { job: JobDetail; reload(): void }) {
  const { t, f } = useI18n();
  const { api } = useSession();
  const [cancelError, setCancelError] = useState<string | null>(null);
  const terminal = TERMINAL_STATES.includes(job.state);
  const runMs = job.startedAt ? (job.endedAt ?? Date.now()) - job.startedAt : null;
  const cancel = async () => {
    setCancelError(null);
    try {
      await api.request('post', '/v1/jobs/{id}/cancel', { path: { id: job.id }, body: { reason: t('job.cancelReason') } });
      reload();
    } catch (err) {
      setCancelError(errorText(t, err as Error));
    }
  };
  return (
    <div className="stack" data-testid="job-detail" data-state={job.state}>
      <div className="job-head">
        <StateBadge state={job.state} />
        <span className="mono small">{job.id}</span>
        {!terminal && !job.cancelRequestedAt && (
          <button type="button" className="btn btn-small btn-danger" onClick={cancel}>
            {t('job.cancel')}
          </button>
        )}
      </div>
      {cancelError && <div className="state state-error" role="alert">{cancelError}</div>}
      <div className={`state ${job.state === 'queued' ? 'state-warn' : 'state-info'}`} data-testid="state-reason">
        <strong>{job.state === 'queued' ? t('job.whyPending') : t('job.reason')}</strong> {job.stateReason}
      </div>
      <div className="stats">
        <Stat label={t('job.costSoFar')} value={<span data-testid="job-cost">{f.money(job.cost.charged)}</span>} hint={job.pricePerHour ? t('unit.perHour', { v: f.money(job.pricePerHour) }) : t('job.notPriced')} />
        <Stat label={t('job.runtime')} value={f.duration(runMs)} hint={job.startedAt ? t('job.startedAt', { at: f.dateTime(job.startedAt) }) : t('job.notStarted')} />
        <Stat label={t('job.gpuSeconds')} value={f.number(job.usage.gpuMilliSeconds / 1000, 1)} hint={shapeText(t, f, job)} />
        <Stat
          label={t('job.energy')}
          value={job.energy ? `${f.number(job.energy.kWh, 4)} ${t('unit.kwh')}` : '—'}
          hint={job.energy ? t('job.energyHint', { cost: f.money(job.energy.cost), co2: f.number(job.energy.co2Grams, 1) }) : t('job.noEnergy')}
        />
      </div>
      <div className="grid-2">
        <Card title={t('job.details')}>
          <dl className="facts">
            <div><dt>{t('col.tier')}</dt><dd>{t(`tier.${job.tier}` as MessageKey)}</dd></div>
            <div><dt>{t('col.node')}</dt><dd>{job.nodeName ?? '—'}</dd></div>
            <div><dt>{t('job.devices')}</dt><dd>{job.allocations.length ? job.allocations.map((a) => `${a.nodeName}#${a.deviceIndex} (${a.model}, ${f.number(a.gpuMilli / 1000, 3)})`).join(', ') : '—'}</dd></div>
            <div><dt>{t('job.command')}</dt><dd className="mono">{job.command.map((a) => (/^[\w./:=@%+-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')}</dd></div>
            <div><dt>{t('col.created')}</dt><dd>{f.dateTime(job.createdAt)}</dd></div>
            <div><dt>{t('job.exit')}</dt><dd>{job.exitCode ?? job.signal ?? '—'}</dd></div>
          </dl>
        </Card>
        <Card title={t('job.history')}>
          <ol className="timeline">
            {job.transitions.map((tr, i) => (
              <li key={i}>
                <time dateTime={new Date(tr.at).toISOString()}>{f.time(tr.at)}</time> <StateBadge state={tr.to} /> <span className="muted small">{tr.reason}</span>
              </li>
            ))}
          </ol>
        </Card>
      </div>
      <Logs jobId={job.id} terminal={terminal} />
      {job.cost.leases.length > 0 && (
        <Card title={t('job.leases')}>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{t('col.model')}</th>
                  <th scope="col">{t('col.tier')}</th>
                  <th scope="col" className="num">{t('col.price')}</th>
                  <th scope="col">{t('job.span')}</th>
                  <th scope="col" className="num">{t('job.charged')}</th>
                </tr>
              </thead>
              <tbody>
                {job.cost.leases.map((l) => (
                  <tr key={l.id}>
                    <td>{l.model}</td>
                    <td>{t(`tier.${l.tier}` as MessageKey)}</td>
                    <td className="num">{t('unit.perGpuHour', { v: f.money(l.pricePerGpuHour) })}</td>
                    <td>{f.time(l.startAt)} → {l.endAt ? f.time(l.endAt) : t('job.open')}</td>
                    <td className="num">{f.money(l.charged)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
    </div>
  );
}

function Logs({ jobId, terminal }: { jobId: string; terminal: boolean }) {
  const { t } = useI18n();
  const { api } = useSession();
  const [text, setText] = useState('');
  const [error, setError] = useState<Error | null>(null);
  const after = useRef(0);
  const pre = useRef<HTMLPreElement>(null);

  useEffect(() => {
    let stop = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        for (;;) {
          const page = await api.get('/v1/jobs/{id}/logs', { path: { id: jobId }, query: { after: after.current, limit: 1000 } });
          if (stop) return;
          after.current = page.next;
          if (page.entries.length) setText((s) => (s + page.entries.map((e) => e.text).join('')).slice(-MAX_LOG_CHARS));
          setError(null);
          if (page.entries.length < 1000) {
            if (TERMINAL_STATES.includes(page.state) && terminal) return;
            break;
          }
        }
      } catch (err) {
        if (!stop) setError(err as Error);
      }
      if (!stop) timer = setTimeout(poll, 1500);
    };
    void poll();
    return () => {
      stop = true;
      if (timer) clearTimeout(timer);
    };
  }, [api, jobId, terminal]);

  useEffect(() => {
    const el = pre.current;
    if (el) el.scrollTop = el.scrollHeight;
  }, [text]);

  return (
    <Card title={t('job.logs')}>
      {error && <div className="state state-error" role="alert">{errorText(t, error)}</div>}
      <pre ref={pre} className="logs" tabIndex={0} aria-label={t('job.logs')} data-testid="job-logs">
        {text || (terminal ? t('job.noLogs') : t('job.waitingLogs'))}
      </pre>
    </Card>
  );
}
