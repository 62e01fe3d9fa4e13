import { Command } from 'commander';
import type { Node } from '../api-client.js';
import { examples, jsonOption, wantsJson, type CliContext } from '../context.js';
import { formatAge, formatCpuMilli, formatMib, formatTime, renderFields, renderTable } from '../format.js';
import { printJson, writeLine } from '../io.js';

/** "3.5/8 H100" per model: allocated GPUs over devices. */
export function gpuSummary(node: Pick<Node, 'devices'>): string {
  const byModel = new Map<string, { milli: number; count: number }>();
  for (const d of node.devices) {
    const m = byModel.get(d.model) ?? { milli: 0, count: 0 };
    m.milli += d.allocatedMilli;
    m.count += 1;
    byModel.set(d.model, m);
  }
  if (byModel.size === 0) return 'none';
  return [...byModel].map(([model, m]) => `${Number((m.milli / 1000).toFixed(3))}/${m.count} ${model}`).join(', ');
}

function cordonText(node: Node): string {
  if (node.draining) return 'draining';
  if (node.cordoned) return 'cordoned';
  return '-';
}

/** "parked 2h ago", "on", "on (no parking: UPS work)". */
function powerText(node: Node): string {
  const since = node.powerState !== 'on' && node.powerChangedAt !== null ? ` since ${formatAge(node.powerChangedAt)}` : '';
  const veto = node.parkVeto ? ` (never parked${node.parkVetoReason ? `: ${node.parkVetoReason}` : ''})` : '';
  return `${node.powerState}${since}${veto}`;
}

function describeNode(node: Node): string {
  const fields: [string, string][] = [
    ['ID', node.id],
    ['Name', node.name],
    ['Hostname', node.hostname],
    ['Center', node.centerId],
    ['Status', `${node.status}${node.statusReason ? ` — ${node.statusReason}` : ''}`],
    ['Cordon', `${cordonText(node)}${node.cordonReason ? ` — ${node.cordonReason}` : ''}`],
    ['Power', powerText(node)],
    ['GPUs', gpuSummary(node)],
    ['CPU', `${formatCpuMilli(node.allocatedCpuMilli)} of ${formatCpuMilli(node.cpuMilli)} allocated`],
    ['Memory', `${formatMib(node.allocatedMemoryMib)} of ${formatMib(node.memoryMib)} allocated`],
    ['Executor', node.executor],
    ['Agent', node.agentVersion ?? '-'],
    ['Heartbeat', node.lastHeartbeatAt === null ? 'never' : `${formatAge(node.lastHeartbeatAt)} (${formatTime(node.lastHeartbeatAt)})`],
    ['Registered', formatTime(node.registeredAt)],
  ];
  const devices = renderTable(
    ['INDEX', 'MODEL', 'MEMORY', 'ALLOCATED', 'NAME', 'UUID'],
    node.devices.map((d) => [d.index, d.model, formatMib(d.memoryMib), `${Number((d.allocatedMilli / 1000).toFixed(3))} GPU`, d.name, d.uuid]),
  );
  return `${renderFields(fields)}\n\nDevices:\n${devices ? devices.replace(/^/gm, '  ') : '  (none)'}`;
}

export function registerNodeCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const nodes = jsonOption(
    program
      .command('nodes')
      .summary('list nodes (operator); cordon, drain, uncordon')
      .description('List nodes with GPUs allocated/total by model, CPU, memory and heartbeat age (operator).'),
  )
    .addHelpText('after', examples(['unidle nodes', 'unidle nodes show demo-node-1', 'unidle nodes cordon demo-node-2 --reason "fan noise"', 'unidle nodes uncordon demo-node-2']))
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const { items } = await (await ctx.client(cmd)).listNodes();
      if (wantsJson(cmd)) return printJson(io, { items });
      if (items.length === 0) return writeLine(io.stderr, 'no nodes yet: start one with `unidle agent --server URL --token T` (or `unidle up` for a demo)');
      writeLine(
        io.stdout,
        renderTable(
          ['NAME', 'STATUS', 'POWER', 'CORDON', 'GPUS (ALLOC/TOTAL)', 'CPU', 'MEMORY', 'HEARTBEAT'],
          items.map((n) => [
            n.name,
            n.status,
            n.powerState + (n.parkVeto ? '*' : ''),
            cordonText(n),
            gpuSummary(n),
            `${Number((n.allocatedCpuMilli / 1000).toFixed(3))}/${Number((n.cpuMilli / 1000).toFixed(3))}`,
            `${formatMib(n.allocatedMemoryMib)}/${formatMib(n.memoryMib)}`,
            formatAge(n.lastHeartbeatAt),
          ]),
        ),
      );
    });

  nodes
    .command('show')
    .description('A node with its devices (operator).')
    .argument('<node>', 'node name or id')
    .addHelpText('after', examples(['unidle nodes show demo-node-1', 'unidle nodes show demo-node-1 --json | jq .devices']))
    .action(async (node: string, _flags: object, cmd: Command) => {
      const n = await (await ctx.client(cmd)).getNode(node);
      if (wantsJson(cmd)) return printJson(io, n);
      writeLine(io.stdout, describeNode(n));
    });

  for (const [action, text] of [
    ['cordon', 'Stop placing new work on a node; running work continues (operator).'],
    ['drain', 'Cordon a node and mark it as leaving once its work ends (operator).'],
    ['uncordon', 'Let a node take new work again (operator).'],
  ] as const) {
    nodes
      .command(action)
      .description(text)
      .argument('<node>', 'node name or id')
      .option('--reason <text>', 'why (shown in `unidle nodes show`)')
      .addHelpText('after', examples([`unidle nodes ${action} demo-node-2${action === 'uncordon' ? '' : ' --reason "replacing a fan"'}`]))
      .action(async (node: string, flags: { reason?: string }, cmd: Command) => {
        const n = await (await ctx.client(cmd)).setNodeCordon(node, action, flags.reason);
        if (wantsJson(cmd)) return printJson(io, n);
        writeLine(io.stdout, `${n.name}: ${cordonText(n) === '-' ? 'schedulable' : cordonText(n)}`);
      });
  }

  for (const [action, text] of [
    ['park', 'Power an empty node down now through the power driver (operator); it takes no work while parked.'],
    ['wake', 'Power a parked node up (operator); it takes work once it is up.'],
  ] as const) {
    nodes
      .command(action)
      .description(text)
      .argument('<node>', 'node name or id')
      .addHelpText('after', examples([`unidle nodes ${action} demo-node-2`]))
      .action(async (node: string, _flags: object, cmd: Command) => {
        const n = await (await ctx.client(cmd)).setNodePower(node, action);
        if (wantsJson(cmd)) return printJson(io, n);
        writeLine(io.stdout, `${n.name}: ${n.powerState}`);
      });
  }

  for (const [action, text] of [
    ['forbid-park', 'Never let the parking policy park this node (operator).'],
    ['allow-park', 'Let the parking policy park this node again (operator).'],
  ] as const) {
    nodes
      .command(action)
      .description(text)
      .argument('<node>', 'node name or id')
      .option('--reason <text>', 'why (shown in `unidle nodes show`)')
      .addHelpText('after', examples([`unidle nodes ${action} demo-node-1${action === 'forbid-park' ? ' --reason "latency-critical inference"' : ''}`]))
      .action(async (node: string, flags: { reason?: string }, cmd: Command) => {
        const n = await (await ctx.client(cmd)).setNodeParkVeto(node, action, flags.reason);
        if (wantsJson(cmd)) return printJson(io, n);
        writeLine(io.stdout, `${n.name}: ${n.parkVeto ? 'never parked' : 'may be parked'}`);
      });
  }

  jsonOption(
    nodes
      .command('parking')
      .description('Node parking: the policy, the power driver, nodes by power state, the forecast and the last decision (operator).'),
  )
    .addHelpText('after', examples(['unidle nodes parking', 'UNIDLE_PARKING=unidle unidle serve   # turn the policy on (docs/energy.md)']))
    .action(async (_flags: object, cmd: Command) => {
      const s = await (await ctx.client(cmd)).parkingStatus();
      if (wantsJson(cmd)) return printJson(io, s);
      writeLine(
        io.stdout,
        renderFields([
          ['Policy', s.policy === 'off' ? 'off (set UNIDLE_PARKING=idle-timer or unidle to park idle nodes)' : s.policy],
          ['Driver', s.driver],
          ['Park after', `${Math.round(s.idleMs / 60_000)} min empty`],
          ['Wake timeout', `${Math.round(s.wakeTimeoutMs / 1000)} s`],
          ['Nodes', `${s.nodes.on} on, ${s.nodes.parking} parking, ${s.nodes.parked} parked, ${s.nodes.waking} waking`],
          ['Parked GPUs', String(s.parkedGpus)],
          ...(s.cycleBudget ? [['Park budget', `${s.cycleBudget.perDay} per node per day (center time), ${s.cycleBudget.per24h} in any 24 h`] as [string, string]] : []),
          ['Forecast', s.forecastUpperGpus === null ? '-' : `≤ ${s.forecastUpperGpus} busy GPUs next hour (95 %)`],
          // Each pool keeps its own rise awake, so an operator with several models sees each.
          ...(s.forecastByPool.length > 1 ? s.forecastByPool.map((p): [string, string] => [`  ${p.pool}`, `${p.busyGpus} busy now, ≤ ${p.upperGpus} next hour`]) : []),
          ['Last pass', s.lastTickAt === null ? 'never' : `${formatAge(s.lastTickAt)}${s.lastDecision ? ` — parked ${s.lastDecision.park.length}, woke ${s.lastDecision.wake.length}` : ''}`],
        ]),
      );
    });
}
