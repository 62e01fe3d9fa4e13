import { useState } from 'react';
import type { Node } from '../api/types.js';
import { ParkingFacts } from '../components/parking.js';
import { Async, Empty, ErrorState, errorText, Loading } from '../components/states.js';
import { Badge, Card, PageHeader } from '../components/ui.js';
import { useApi } from '../api/use-api.js';
import { useI18n } from '../i18n/i18n.js';
import { useSession } from '../session.js';
import type { MessageKey } from '../i18n/en.js';

type Action = 'cordon' | 'drain' | 'uncordon' | 'park' | 'wake' | 'forbid-park' | 'allow-park';
const WITH_REASON = new Set<Action>(['cordon', 'drain', 'uncordon', 'forbid-park', 'allow-park']);

export default function Nodes() {
  const { t, f } = useI18n();
  const { api } = useSession();
  const loaded = useApi((a, signal) => a.get('/v1/nodes', { signal }), [], { pollMs: 10_000 });
  const parking = useApi((a, signal) => a.get('/v1/parking', { signal }), [], { pollMs: 10_000 });
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<{ tone: 'ok' | 'error'; text: string } | null>(null);
  const [filter, setFilter] = useState('');

  const act = async (node: Node, action: Action) => {
    setBusy(`${node.id}:${action}`);
    setMessage(null);
    try {
      const path = `/v1/nodes/{id}/${action}` as const;
      if (WITH_REASON.has(action)) await api.request('post', path as `/v1/nodes/{id}/cordon`, { path: { id: node.id }, body: { reason: t('nodes.reasonConsole') } });
      else await api.request('post', path as `/v1/nodes/{id}/park`, { path: { id: node.id } });
      setMessage({ tone: 'ok', text: t(`nodes.done.${action}` as MessageKey, { node: node.name }) });
      loaded.reload();
      parking.reload();
    } catch (err) {
      // The server says why (e.g. 409: the node holds work); show its words after the node's name.
      setMessage({ tone: 'error', text: t('nodes.refused', { node: node.name, why: errorText(t, err as Error) }) });
    } finally {
      setBusy(null);
    }
  };

  return (
    <div className="page">
      <PageHeader title={t('nodes.title')}>
        <input type="search" className="search" placeholder={t('nodes.filter')} aria-label={t('nodes.filter')} value={filter} onChange={(e) => setFilter(e.target.value)} />
      </PageHeader>
      <Card title={t('parking.title')}>
        {parking.error && !parking.data ? <ErrorState error={parking.error} retry={parking.reload} /> : !parking.data ? <Loading /> : <ParkingFacts status={parking.data} nodes={loaded.data?.items} />}
      </Card>
      {message && (
        <div className={`state ${message.tone === 'ok' ? 'state-ok' : 'state-error'}`} role={message.tone === 'ok' ? 'status' : 'alert'} data-testid="node-message">
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
                <table data-testid="nodes-table">
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
                    {nodes.slice(0, 300).map((n) => {
                      const disabled = busy !== null;
                      const button = (action: Action, label: MessageKey, title?: string) => (
                        <button type="button" className="btn btn-small" disabled={disabled} onClick={() => act(n, action)} title={title} data-action={action} aria-label={`${t(label)}: ${n.name}`}>
                          {t(label)}
                        </button>
                      );
                      return (
                        <tr key={n.id} data-node={n.name}>
                          <td>
                            <strong className="nowrap">{n.name}</strong>
                            <div className="muted small">{n.devices[0]?.model ?? '—'} · {n.executor}</div>
                          </td>
                          <td>
                            <Badge value={n.status} label={t(`nodeStatus.${n.status}` as MessageKey)} />
                            {n.statusReason && <div className="muted small">{n.statusReason}</div>}
                          </td>
                          <td data-testid="power-cell">
                            <Badge value={n.powerState} label={t(`power.${n.powerState}` as MessageKey)} />
                            {n.powerChangedAt !== null && <div className="muted small">{t('nodes.powerSince', { when: f.relative(n.powerChangedAt) })}</div>}
                            {n.parkVeto && (
                              <div className="small">
                                <Badge value="queued" label={t('nodes.parkForbidden')} />
                                {n.parkVetoReason && <div className="muted">{n.parkVetoReason}</div>}
                              </div>
                            )}
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
                            <div className="action-row">
                              {n.cordoned ? button('uncordon', 'nodes.uncordon') : button('cordon', 'nodes.cordon')}
                              {!n.draining && button('drain', 'nodes.drain')}
                            </div>
                            <div className="action-row">
                              {n.powerState === 'on' && !n.parkVeto && button('park', 'nodes.park', t('nodes.parkHint'))}
                              {(n.powerState === 'parked' || n.powerState === 'parking') && button('wake', 'nodes.wake')}
                              {n.parkVeto ? button('allow-park', 'nodes.allowPark') : button('forbid-park', 'nodes.forbidPark', t('nodes.forbidHint'))}
                            </div>
                          </td>
                        </tr>
                      );
                    })}
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
