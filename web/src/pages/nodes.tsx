import { useState } from 'react';
import { ApiError } from '../api/client.js';
import type { Node } from '../api/types.js';
import { Async, Empty, errorText } from '../components/states.js';
import { Badge, Card, PageHeader } from '../components/ui.js';
import { useApi } from '../api/use-api.js';
import { useI18n } from '../i18n/i18n.js';
import { useSession } from '../session.js';
import type { MessageKey } from '../i18n/en.js';

type Action = 'cordon' | 'drain' | 'uncordon';

export default function Nodes() {
  const { t, f } = useI18n();
  const { api } = useSession();
  const loaded = useApi((a, signal) => a.get('/v1/nodes', { signal }), [], { pollMs: 10_000 });
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<{ tone: 'ok' | 'error'; text: string } | null>(null);
  const [filter, setFilter] = useState('');

  const act = async (node: Node, action: Action) => {
    setBusy(`${node.id}:${action}`);
    setMessage(null);
    try {
      const path = `/v1/nodes/{id}/${action}` as const;
      await api.request('post', path, { path: { id: node.id }, body: { reason: t('nodes.reasonConsole') } });
      setMessage({ tone: 'ok', text: t(`nodes.done.${action}` as MessageKey, { node: node.name }) });
      loaded.reload();
    } catch (err) {
      setMessage({ tone: 'error', text: err instanceof ApiError || err instanceof Error ? errorText(t, err) : String(err) });
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="page">
      <PageHeader title={t('nodes.title')}>
        <input type="search" className="search" placeholder={t('nodes.filter')} aria-label={t('nodes.filter')} value={filter} onChange={(e) => setFilter(e.target.value)} />
      </PageHeader>
      {message && (
        <div className={`state ${message.tone === 'ok' ? 'state-ok' : 'state-error'}`} role={message.tone === 'ok' ? 'status' : 'alert'}>
          {message.text}
        </div>
      )}
      <Async {...loaded}>
        {(data) => {
          const nodes = data.items.filter((n) => !filter || n.name.includes(filter) || n.hostname.includes(filter));
          if (data.items.length === 0) return <Empty title={t('overview.noNodesTitle')}>{t('overview.noNodesHint')}</Empty>;
          return (
            <Card>
              <div className="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">{t('col.node')}</th>
                      <th scope="col">{t('col.status')}</th>
                      <th scope="col">{t('col.power')}</th>
                      <th scope="col">{t('col.scheduling')}</th>
                      <th scope="col" className="num">{t('col.gpus')}</th>
                      <th scope="col">{t('col.devices')}</th>
                      <th scope="col" className="num">{t('col.cpu')}</th>
                      <th scope="col">{t('col.heartbeat')}</th>
                      <th scope="col">{t('col.actions')}</th>
                    </tr>
                  </thead>
                  <tbody>
                    {nodes.slice(0, 300).map((n) => (
                      <tr key={n.id}>
                        <td>
                          <strong>{n.name}</strong>
                          <div className="muted small">{n.devices[0]?.model ?? '—'} · {n.executor}</div>
                        </td>
                        <td>
                          <Badge value={n.status} label={t(`nodeStatus.${n.status}` as MessageKey)} />
                          {n.statusReason && <div className="muted small">{n.statusReason}</div>}
                        </td>
                        <td>
                          <Badge value={n.powerState} label={t(`power.${n.powerState}` as MessageKey)} />
                        </td>
                        <td>
                          {n.draining ? <Badge value="preempted" label={t('nodes.draining')} /> : n.cordoned ? <Badge value="queued" label={t('nodes.cordoned')} /> : <Badge value="up" label={t('nodes.schedulable')} />}
                          {n.cordonReason && <div className="muted small">{n.cordonReason}</div>}
                        </td>
                        <td className="num">
                          {f.number(n.allocatedGpuMilli / 1000, 1)} / {f.number(n.gpus)}
                        </td>
                        <td>
                          <div className="devbar" aria-label={t('nodes.devicesLabel', { n: n.devices.length })}>
                            {n.devices.map((d) => (
                              <span key={d.id} title={`GPU ${d.index}: ${f.number(d.allocatedMilli / 10)}%`} style={{ ['--fill' as string]: `${d.allocatedMilli / 10}%` }} />
                            ))}
                          </div>
                        </td>
                        <td className="num">
                          {f.number(n.allocatedCpuMilli / 1000, 1)} / {f.number(n.cpuMilli / 1000)}
                        </td>
                        <td>{f.relative(n.lastHeartbeatAt)}</td>
                        <td className="actions">
                          {n.cordoned ? (
                            <button type="button" className="btn btn-small" disabled={busy !== null} onClick={() => act(n, 'uncordon')}>
                              {t('nodes.uncordon')}
                            </button>
                          ) : (
                            <button type="button" className="btn btn-small" disabled={busy !== null} onClick={() => act(n, 'cordon')}>
                              {t('nodes.cordon')}
                            </button>
                          )}
                          {!n.draining && (
                            <button type="button" className="btn btn-small" disabled={busy !== null} onClick={() => act(n, 'drain')}>
                              {t('nodes.drain')}
                            </button>
                          )}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
              {nodes.length > 300 && <p className="muted">{t('nodes.more', { n: f.number(nodes.length - 300) })}</p>}
              {nodes.length === 0 && <Empty title={t('nodes.noMatch')} />}
            </Card>
          );
        }}
      </Async>
    </div>
  );
}
