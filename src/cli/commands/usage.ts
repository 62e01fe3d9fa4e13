import { Command } from 'commander';
import type { UsageReport } from '../api-client.js';
import { examples, jsonOption, resolveTenantId, type CliContext } from '../context.js';
import { formatNumber, formatTime, renderTable } from '../format.js';
import { printJson, UsageError, writeLine } from '../io.js';
import { parseTimeFlag } from '../submit-args.js';

const GROUPS = ['tenant', 'model', 'job', 'period'];
const PERIODS = ['hour', 'day', 'month'];

export function usageTable(report: UsageReport): string {
  const groups = report.groupBy.length ? report.groupBy : ['scope'];
  const headers = [...groups.map((g) => g.toUpperCase()), 'JOBS', 'MILLI-GPU-SECONDS', 'GPU-HOURS', 'CPU-CORE-HOURS', 'GIB-HOURS'];
  const numbers = (r: UsageReport['total']) => [
    r.jobs,
    formatNumber(r.gpuMilliSeconds),
    (r.gpuMilliSeconds / 3_600_000).toFixed(4),
    (r.cpuMilliSeconds / 3_600_000).toFixed(4),
    (r.memoryMibSeconds / 1024 / 3600).toFixed(4),
  ];
  const label = (r: UsageReport['rows'][number], g: string) =>
    g === 'tenant' ? (r.tenantName ?? r.tenantId ?? '-') : g === 'model' ? (r.model ?? '-') : g === 'job' ? (r.jobId ?? '-') : g === 'period' ? (r.period ?? '-') : 'all';
  const rows = report.rows.map((r) => [...groups.map((g) => label(r, g)), ...numbers(r)]);
  if (report.rows.length !== 1 || report.groupBy.length > 0) rows.push([...groups.map((_, i) => (i === 0 ? 'TOTAL' : '')), ...numbers(report.total)]);
  const first = groups.length;
  return renderTable(headers, rows, { alignRight: [first, first + 1, first + 2, first + 3, first + 4] });
}

export function registerUsageCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  jsonOption(
    program
      .command('usage')
      .summary('metered usage totals')
      .description('Metered usage: milli-GPU-seconds (1000 = one GPU for one second) and GPU-hours, CPU and memory, grouped as you ask.')
      .option('--tenant <tenant>', 'tenant name or id (operators)')
      .option('--job <id>', 'one job')
      .option('--from <time>', 'from this time (ISO 8601 or ms since the epoch)')
      .option('--to <time>', 'until this time (ISO 8601 or ms since the epoch)')
      .option('--by <groups>', `comma list of ${GROUPS.join(', ')} (default tenant,model)`)
      .option('--period <period>', `period length for --by period: ${PERIODS.join(', ')} (default day)`),
  )
    .addHelpText('after', examples(['unidle usage', 'unidle usage --by tenant,model,period --period hour --from 2025-03-01', 'unidle usage --job job_01J… --json']))
    .action(async (flags: { tenant?: string; job?: string; from?: string; to?: string; by?: string; period?: string; json?: boolean }, cmd: Command) => {
      const from = flags.from !== undefined ? parseTimeFlag('--from', flags.from) : undefined;
      const to = flags.to !== undefined ? parseTimeFlag('--to', flags.to) : undefined;
      if (from !== undefined && to !== undefined && to <= from) throw new UsageError('--to must be after --from');
      let groupBy: string | undefined;
      if (flags.by !== undefined) {
        const groups = flags.by.split(',').map((g) => g.trim()).filter(Boolean);
        const bad = groups.filter((g) => !GROUPS.includes(g));
        if (bad.length) throw new UsageError(`--by takes a comma list of ${GROUPS.join(', ')} (unknown: ${bad.join(', ')})`);
        groupBy = groups.join(',');
      }
      if (flags.period !== undefined && !PERIODS.includes(flags.period)) throw new UsageError(`--period must be one of ${PERIODS.join(', ')} (got "${flags.period}")`);
      const client = await ctx.client(cmd);
      const report = await client.usage({ tenantId: await resolveTenantId(client, flags.tenant), jobId: flags.job, from, to, groupBy, period: flags.period });
      if (flags.json) return printJson(io, report);
      const window = `${report.from !== null ? formatTime(report.from) : 'the beginning'} – ${report.to !== null ? formatTime(report.to) : 'now'}`;
      writeLine(io.stderr, `usage from ${window}`);
      if (report.rows.length === 0) return writeLine(io.stdout, 'no usage recorded yet');
      writeLine(io.stdout, usageTable(report));
    });
}
