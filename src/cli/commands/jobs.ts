import { Command } from 'commander';
import { shellQuote } from '../../domain/shell-quote.js';
import { isTerminalState, type ApiClient, type Job, type JobDetail, type JobPage } from '../api-client.js';
import { examples, jsonOption, parsePositiveInt, resolveTenantId, type CliContext } from '../context.js';
import { formatAge, formatCpuMilli, formatDurationMs, formatMib, formatNumber, formatTime, jobGpuText, renderFields, renderTable } from '../format.js';
import { printJson, sleep, UsageError, writeLine, type CliIo } from '../io.js';
import { moneyText } from '../money-args.js';
import { buildSubmitRequest, type SubmitFlags } from '../submit-args.js';

const POLL_MS = 500;
const STATES = ['queued', 'scheduled', 'running', 'succeeded', 'failed', 'cancelled', 'lost', 'preempted'];

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The exit code `submit --wait` ends with: the job's own, or 1 when it did not finish by itself. */
export function jobExitCode(job: Pick<Job, 'state' | 'exitCode'>): number {
  if (job.state === 'succeeded') return job.exitCode ?? 0;
  if (job.state === 'failed' && job.exitCode !== null && job.exitCode !== 0) return job.exitCode;
  return 1;
}

function runtime(job: Job, now = Date.now()): string {
  if (job.startedAt === null) return '-';
  return formatDurationMs((job.endedAt ?? now) - job.startedAt);
}

function outcome(job: Job): string {
  if (job.state === 'succeeded' || job.state === 'failed') {
    if (job.signal) return `signal ${job.signal}`;
    if (job.exitCode !== null) return `exit ${job.exitCode}`;
  }
  return job.stateReason;
}

function jobsTable(jobs: Job[]): string {
  return renderTable(
    ['ID', 'NAME', 'STATE', 'GPU', 'MODELS', 'CREATED', 'RUNTIME', 'DETAIL'],
    jobs.map((j) => [j.id, j.name ?? '-', j.state, jobGpuText(j), j.models.join(',') || 'any', formatAge(j.createdAt), runtime(j), truncate(outcome(j), 60)]),
  );
}

function truncate(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function describeJob(job: JobDetail): string {
  const lines: string[] = [];
  const fields: [string, string][] = [
    ['ID', job.id],
    ['Name', job.name ?? '-'],
    ['State', `${job.state} — ${job.stateReason}`],
    ['Tenant', job.tenantId],
    ['GPU', `${jobGpuText(job)}${job.models.length ? ` (${job.models.join(', ')})` : ' (any model)'}${job.minGpuMemoryMib ? `, ≥ ${formatMib(job.minGpuMemoryMib)} GPU memory` : ''}`],
    ['CPU', formatCpuMilli(job.cpuMilli)],
    ['Memory', formatMib(job.memoryMib)],
    ['Max duration', formatDurationMs(job.maxDurationMs)],
    ['Tier', tierText(job)],
    ['Price', priceText(job)],
    ['Command', job.command.map(shellQuote).join(' ')],
  ];
  if (job.workingDir) fields.push(['Working dir', job.workingDir]);
  if (Object.keys(job.env).length) fields.push(['Env', Object.entries(job.env).map(([k, v]) => `${k}=${v}`).join(' ')]);
  fields.push(['Node', job.nodeName ?? job.nodeId ?? '-']);
  fields.push(['Created', formatTime(job.createdAt)]);
  if (job.startedAt !== null) fields.push(['Started', formatTime(job.startedAt)]);
  if (job.endedAt !== null) fields.push(['Ended', formatTime(job.endedAt)]);
  if (job.startedAt !== null) fields.push(['Runtime', runtime(job)]);
  if (job.exitCode !== null) fields.push(['Exit code', String(job.exitCode)]);
  if (job.signal) fields.push(['Signal', job.signal]);
  if (job.cancelRequestedAt !== null) fields.push(['Cancel asked', formatTime(job.cancelRequestedAt)]);
  if (job.preemptRequestedAt !== null) fields.push(['Preempting', `since ${formatTime(job.preemptRequestedAt)}${job.preemptReason ? ` — ${job.preemptReason}` : ''}`]);
  if (job.preemptions > 0 || job.preemptReason)
    fields.push(['Preemptions', `${job.preemptions}${job.preemptReason && job.preemptRequestedAt === null ? ` (last: ${job.preemptReason})` : ''}`]);
  lines.push(renderFields(fields));

  lines.push('', 'Devices:');
  lines.push(
    job.allocations.length
      ? indent(renderTable(['NODE', 'DEVICE', 'MODEL', 'SHARE'], job.allocations.map((a) => [a.nodeName, a.deviceIndex, a.model, jobGpuText({ gpuMilli: a.gpuMilli, gpus: null })])))
      : '  (none)',
  );
  lines.push('', 'Transitions:');
  lines.push(indent(renderTable(['TIME', 'FROM', 'TO', 'REASON'], job.transitions.map((t) => [formatTime(t.at), t.from ?? '-', t.to, t.reason]))) || '  (none)');
  const u = job.usage;
  lines.push('', 'Usage so far:');
  lines.push(
    indent(
      renderFields([
        ['GPU', `${formatNumber(Math.round(u.gpuMilliSeconds))} milli-GPU-seconds (${(u.gpuMilliSeconds / 3_600_000).toFixed(4)} GPU-hours)`],
        ['CPU', `${formatNumber(u.cpuMilliSeconds)} milli-core-seconds`],
        ['Memory', `${formatNumber(u.memoryMibSeconds)} MiB-seconds`],
        ['Metered until', formatTime(u.meteredUntil)],
      ]),
    ),
  );
  lines.push('', `Cost so far: ${moneyText(job.cost.charged)}`);
  if (job.cost.leases.length)
    lines.push(
      indent(
        renderTable(
          ['LEASE', 'MODEL', 'TIER', 'SHARE', 'PRICE/GPU-H', 'FROM', 'TO', 'CHARGED'],
          job.cost.leases.map((l) => [l.id, l.model, l.tier, jobGpuText({ gpuMilli: l.gpuMilli, gpus: null }), moneyText(l.pricePerGpuHour), formatTime(l.startAt), l.endAt === null ? 'running' : formatTime(l.endAt), moneyText(l.charged)]),
          { alignRight: [4, 7] },
        ),
      ),
    );
  if (job.energy) lines.push('', `Energy: ${energyText(job.energy)}`);
  return lines.join('\n');
}

/** `0.123456 kWh, 85.160 g CO₂, ¥0.10 at PUE 1.30 (raw telemetry, 99.8% measured; informational, …)`. */
function energyText(e: NonNullable<JobDetail['energy']>): string {
  if (e.source === 'none') return 'no telemetry for this job (no energy measured)';
  const co2 = e.co2Grams >= 1000 ? `${(e.co2Grams / 1000).toFixed(3)} kg` : `${e.co2Grams.toFixed(3)} g`;
  const measured = e.measuredShare < 1 ? `, ${(e.measuredShare * 100).toFixed(1)}% measured` : '';
  return `${e.kWh.toFixed(6)} kWh, ${co2} CO₂, ${moneyText(e.cost)} at PUE ${(e.pueMilli / 1000).toFixed(2)} (${e.source === '1m' ? 'one-minute' : 'raw'} telemetry${measured}; informational, included in the price)`;
}

function tierText(job: JobDetail): string {
  const parts = [job.tier];
  if (job.maxPricePerHour) parts.push(`bid up to ${moneyText(job.maxPricePerHour)}/h`);
  if (!job.requeueOnPreemption) parts.push('not requeued when preempted');
  return parts.join(', ');
}

function priceText(job: JobDetail): string {
  if (!job.pricePerHour) return '- (set when the job is placed)';
  return `${moneyText(job.pricePerHour)}/h${job.tier === 'spot' ? ' (follows the spot clearing price)' : ''}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
}

/**
 * Writes a job's output (stdout entries to stdout, stderr entries to stderr) from `after` on. With
 * `follow`, polls until the job is terminal and nothing more arrives. Returns the last `next`.
 */
export async function streamLogs(
  client: ApiClient,
  io: CliIo,
  jobId: string,
  options: { follow: boolean; stream?: 'stdout' | 'stderr'; after?: number; pollMs?: number },
): Promise<number> {
  let after = options.after ?? 0;
  const limit = 1000;
  for (;;) {
    const page = await client.jobLogs(jobId, { after, limit, stream: options.stream });
    for (const e of page.entries) (e.stream === 'stderr' ? io.stderr : io.stdout).write(e.text);
    after = page.next;
    if (page.entries.length >= limit) continue;
    if (!options.follow || io.signal?.aborted) return after;
    if (page.entries.length === 0 && isTerminalState(page.state)) return after;
    if (page.entries.length === 0) await sleep(options.pollMs ?? POLL_MS, io.signal);
  }
}

async function waitForEnd(client: ApiClient, io: CliIo, jobId: string, follow: boolean): Promise<JobDetail> {
  if (follow) await streamLogs(client, io, jobId, { follow: true });
  for (;;) {
    const job = await client.getJob(jobId);
    if (isTerminalState(job.state) || io.signal?.aborted) return job;
    await sleep(POLL_MS, io.signal);
  }
}

export function registerJobCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;

  jsonOption(
    program
      .command('submit')
      .summary('submit a job')
      .description('Submit a job. Everything after -- is the command and its arguments, run without a shell (use sh -c "…" for one).')
      .argument('[command...]', 'program and arguments, after --')
      .option('--gpu-milli <n>', 'a share of one GPU in milli-GPU, 1–999 (500 = half a GPU)')
      .option('--gpus <n>', 'whole GPUs on one node (per node with --nodes)')
      .option('--nodes <n>', 'a gang job on N nodes at once (Slurm nodes; the command runs once per node via srun)')
      .option('--model <model>', 'allowed GPU model(s); repeat or give a comma list (H100,H800)', collect)
      .option('--min-gpu-memory <size>', 'minimum GPU memory, e.g. 40Gi')
      .option('--cpu <cores>', 'CPU cores, e.g. 2 or 0.5 (default 1)')
      .option('--cpu-milli <n>', 'CPU in milli-cores (1000 = one core)')
      .option('--memory <size>', 'memory, e.g. 8Gi or 512Mi (default 2Gi)')
      .option('--max-duration <duration>', 'killed when it runs this long: 90s, 15m, 2h, 1d (default 24h)')
      .option('--env <NAME=VALUE>', 'environment variable; repeatable', collect)
      .option('--workdir <dir>', 'working directory on the node (absolute path)')
      .option('--name <name>', 'a name for the job')
      .option('--tier <tier>', 'on-demand (default), spot or reserved')
      .option('--max-price <amount>', 'spot bid: the most to pay per hour for the whole shape, e.g. 3.5 (needs --tier spot; see `unidle quote`)')
      .option('--currency <code>', 'currency of --max-price (default CNY)')
      .option('--no-requeue', 'when preempted, end as `preempted` instead of going back to the queue')
      .option('--idempotency-key <key>', 'makes retries safe across invocations (default: a fresh UUID per invocation)')
      .option('--wait', 'wait until the job ends and exit with its exit code (1 if it failed without one, was cancelled or lost)')
      .option('--follow', 'stream the job\'s output while waiting (implies --wait)'),
  )
    .addHelpText(
      'after',
      examples([
        'unidle submit --gpu-milli 500 --model H100 -- python train.py',
        "unidle submit --gpu-milli 500 --follow -- sh -c 'echo hello; sleep 2'",
        'unidle submit --gpus 2 --model H100,H800 --cpu 8 --memory 64Gi --max-duration 6h --env EPOCHS=3 -- python train.py --lr 3e-4',
        'unidle submit --gpu-milli 500 --model H100 --tier spot --max-price 3.5 -- python train.py',
        'unidle submit --gpus 1 --tier spot --no-requeue -- python eval.py',
        'unidle submit --json --gpus 1 -- nvidia-smi | jq -r .id',
      ]),
    )
    .action(async (command: string[], flags: SubmitFlags & { json?: boolean; wait?: boolean; follow?: boolean }, cmd: Command) => {
      const { body, idempotencyKey } = buildSubmitRequest(flags, command);
      const client = await ctx.client(cmd);
      const job = await client.submitJob(body, idempotencyKey);
      if (!flags.wait && !flags.follow) {
        if (flags.json) printJson(io, job);
        else writeLine(io.stdout, job.id);
        return;
      }
      if (!flags.json) writeLine(io.stderr, `submitted ${job.id} (${job.state}: ${job.stateReason})`);
      // With --json the output goes to stderr so stdout stays one JSON document.
      const end = await waitForEnd(client, flags.json ? { ...io, stdout: io.stderr } : io, job.id, !!flags.follow);
      if (flags.json) printJson(io, end);
      else writeLine(io.stderr, `${end.id} ${end.state}${end.exitCode !== null ? ` (exit ${end.exitCode})` : ''}: ${end.stateReason}`);
      ctx.exitCode = isTerminalState(end.state) ? jobExitCode(end) : 130;
    });

  jsonOption(
    program
      .command('jobs')
      .summary('list jobs, newest first')
      .description('List jobs, newest first. Tenants see their own; operators see all and may filter by tenant.')
      .option('--state <states>', `comma list of states: ${STATES.join(', ')}`)
      .option('--tenant <tenant>', 'tenant name or id (operators)')
      .option('--node <node>', 'node id')
      .option('--limit <n>', 'at most this many (per page with --all; default 50)')
      .option('--all', 'follow the cursor through every page'),
  )
    .addHelpText('after', examples(['unidle jobs', 'unidle jobs --state queued,running', 'unidle jobs --all --json | jq ".items | length"']))
    .action(async (flags: { state?: string; tenant?: string; node?: string; limit?: string; all?: boolean; json?: boolean }, cmd: Command) => {
      const limit = flags.limit !== undefined ? parsePositiveInt('--limit', flags.limit, 500) : undefined;
      let state: string | undefined;
      if (flags.state !== undefined) {
        const states = flags.state.split(',').map((s) => s.trim()).filter(Boolean);
        const unknown = states.filter((s) => !STATES.includes(s));
        if (unknown.length || states.length === 0) throw new UsageError(`--state takes a comma list of ${STATES.join(', ')} (got "${flags.state}")`);
        state = states.join(',');
      }
      const client = await ctx.client(cmd);
      const tenantId = await resolveTenantId(client, flags.tenant);
      const query = { state, tenantId, nodeId: flags.node, limit };
      let page: JobPage = await client.listJobs(query);
      const items = [...page.items];
      while (flags.all && page.nextCursor) {
        page = await client.listJobs({ ...query, cursor: page.nextCursor });
        items.push(...page.items);
      }
      const result: JobPage = { items, nextCursor: page.nextCursor };
      if (flags.json) return printJson(io, result);
      if (items.length === 0) return writeLine(io.stderr, 'no jobs');
      writeLine(io.stdout, jobsTable(items));
      if (result.nextCursor) writeLine(io.stderr, `(more: add --all, or --limit N)`);
    });

  jsonOption(program.command('job').summary('show one job').description("Show a job: its shape, tier and price, devices, transitions with reasons and times, and usage and cost so far. For a queued job the state line says why it is pending.").argument('<id>', 'job id'))
    .addHelpText('after', examples(['unidle job job_01J…', 'unidle job job_01J… --json | jq .transitions']))
    .action(async (id: string, flags: { json?: boolean }, cmd: Command) => {
      const job = await (await ctx.client(cmd)).getJob(id);
      if (flags.json) return printJson(io, job);
      writeLine(io.stdout, describeJob(job));
    });

  program
    .command('logs')
    .summary("print a job's output")
    .description("Print a job's output: stdout entries to stdout, stderr entries to stderr. --follow keeps polling until the job has ended and everything is printed.")
    .argument('<id>', 'job id')
    .option('-f, --follow', 'keep printing new output until the job ends')
    .option('--stream <stream>', 'only stdout or stderr')
    .option('--json', 'print the raw log page(s) as JSON instead of the text')
    .addHelpText('after', examples(['unidle logs job_01J…', 'unidle logs job_01J… --follow', 'unidle logs job_01J… --stream stderr']))
    .action(async (id: string, flags: { follow?: boolean; stream?: string; json?: boolean }, cmd: Command) => {
      if (flags.stream !== undefined && flags.stream !== 'stdout' && flags.stream !== 'stderr') throw new UsageError(`--stream must be stdout or stderr (got "${flags.stream}")`);
      const stream = flags.stream as 'stdout' | 'stderr' | undefined;
      const client = await ctx.client(cmd);
      if (flags.json) {
        const entries = [];
        let after = 0;
        for (;;) {
          const page = await client.jobLogs(id, { after, limit: 1000, stream });
          entries.push(...page.entries);
          after = page.next;
          if (page.entries.length < 1000) return printJson(io, { entries, next: page.next, state: page.state });
        }
      }
      await streamLogs(client, io, id, { follow: !!flags.follow, stream });
    });

  jsonOption(program.command('cancel').summary('cancel a job').description('Cancel a job. Queued jobs end at once; running ones get SIGTERM, a grace period, then SIGKILL.').argument('<id>', 'job id').option('--reason <text>', 'why (kept in the job\'s transitions)'))
    .addHelpText('after', examples(['unidle cancel job_01J…', 'unidle cancel job_01J… --reason "wrong dataset"']))
    .action(async (id: string, flags: { reason?: string; json?: boolean }, cmd: Command) => {
      const job = await (await ctx.client(cmd)).cancelJob(id, flags.reason);
      if (flags.json) return printJson(io, job);
      writeLine(io.stdout, job.state === 'cancelled' ? `${job.id} cancelled` : `${job.id}: cancel requested (${job.state}: ${job.stateReason})`);
    });
}
