import { Command } from 'commander';
import { PRICING_POLICY_NAMES } from '../../market/pricing-policy.js';
import type { MarketReport, ModelPriceInput, PriceList, Quote, Reservation, TrialBalance } from '../api-client.js';
import { examples, jsonOption, resolveTenantId, wantsJson, type CliContext } from '../context.js';
import { formatDurationMs, formatGpuMilli, formatNumber, formatTime, renderFields, renderTable } from '../format.js';
import { printJson, UsageError, writeLine } from '../io.js';
import { buildQuoteRequest, buildReservationRequest, parsePercentToPermille, parseWhole, permilleText, type QuoteFlags, type ReserveFlags } from '../market-args.js';
import { collect, moneyText, parseMicrosFlag } from '../money-args.js';
import { parseTimeFlag } from '../submit-args.js';

const repeatable = (value: string, previous: string[] = []) => [...previous, value];

/** `now`, `no estimate`, or the local time with how long until then. */
export function startText(at: number | null, quotedAt: number): string {
  if (at === null) return 'no estimate';
  if (at <= quotedAt) return 'now';
  return `${formatTime(at)} (in ${formatDurationMs(at - quotedAt)})`;
}

function shapeText(q: { gpuMilli: number | null; gpus: number | null }): string {
  if (q.gpuMilli !== null) return formatGpuMilli(q.gpuMilli);
  if (q.gpus !== null) return formatGpuMilli(q.gpus * 1000);
  return '-';
}

export function describeQuote(q: Quote): string {
  const lines: string[] = [];
  lines.push(`${q.model} ${q.tier}, ${shapeText(q)} for ${q.hours} h`);
  lines.push(
    renderFields([
      ['Price', `${moneyText(q.pricePerHour)}/h (${moneyText(q.pricePerGpuHour)} per GPU-hour; ${q.priceFixed ? 'fixed for the lease' : 'follows the spot clearing price'})`],
      ['Floor', `${moneyText(q.floorPerHour)}/h (margin ${permilleText(q.marginPermille)})`],
      ['Estimated start', startText(q.estimatedStartAt, q.quotedAt)],
      ['Estimated total', moneyText(q.estimatedTotal)],
    ]),
  );
  if (q.notes.length) lines.push('', 'Notes:', ...q.notes.map((n) => `  - ${n}`));
  lines.push('', 'Alternatives:');
  lines.push(
    q.alternatives.length
      ? renderTable(
          ['MODEL', 'TIER', 'PRICE/H', 'START', 'TOTAL', 'WHY'],
          q.alternatives.map((a) => [a.model, a.tier, moneyText(a.pricePerHour), startText(a.estimatedStartAt, q.quotedAt), moneyText(a.estimatedTotal), `${a.why.join(', ')}${a.note ? ` — ${a.note}` : ''}`]),
          { alignRight: [2, 4] },
        ).replace(/^/gm, '  ')
      : '  (none cheaper or sooner)',
  );
  return lines.join('\n');
}

export function pricesTable(list: PriceList, model?: string): string {
  const models = model ? list.models.filter((m) => m.model.toLowerCase() === model.toLowerCase()) : list.models;
  const rows = (models.length ? models : list.models).flatMap((m) =>
    m.prices.map((p) => [p.model, p.tier, moneyText(p.pricePerGpuHour), moneyText(p.floorPerGpuHour), permilleText(p.marginPermille), m.defaulted ? 'default' : 'set']),
  );
  return renderTable(['MODEL', 'TIER', 'PRICE/GPU-H', 'FLOOR/GPU-H', 'MARGIN', 'PRICE BOOK'], rows, { alignRight: [2, 3, 4] });
}

function capacityLine(list: PriceList): string {
  const parts = list.models.map((m) => `${formatNumber(m.capacityGpus)} ${m.model} (${permilleText(m.utilizationPermille)} in use)`);
  return `capacity: ${parts.join(', ') || 'none'}`;
}

function reservationsTable(items: Reservation[]): string {
  return renderTable(
    ['ID', 'MODEL', 'QUOTA', 'IN USE', 'LENDABLE', 'START', 'END', 'PRICE/GPU-H', 'TOTAL', 'STATUS'],
    items.map((r) => [
      r.id,
      r.model,
      formatGpuMilli(r.gpuMilli),
      formatGpuMilli(r.usedMilli),
      formatGpuMilli(r.lendingLimitMilli),
      formatTime(r.startAt),
      formatTime(r.endAt),
      moneyText(r.pricePerGpuHour),
      moneyText(r.total),
      r.status,
    ]),
    { alignRight: [7, 8] },
  );
}

const hoursText = (h: number) => h.toFixed(2);

export function marketReportTable(report: MarketReport): string {
  const rows: (string | number)[][] = report.models.map((m) => [
    m.model,
    hoursText(m.capacityGpuHours),
    hoursText(m.soldGpuHours),
    hoursText(m.idleGpuHours),
    permilleText(m.utilizationPermille),
    moneyText(m.revenue),
    moneyText(m.effectivePricePerGpuHour),
    moneyText(m.floorPerGpuHour),
    moneyText(m.idleCost),
  ]);
  const t = report.totals;
  const util = t.capacityGpuHours > 0 ? permilleText(Math.round((t.soldGpuHours * 1000) / t.capacityGpuHours)) : '-';
  rows.push(['TOTAL', hoursText(t.capacityGpuHours), hoursText(t.soldGpuHours), hoursText(t.idleGpuHours), util, moneyText(t.revenue), '', '', moneyText(t.idleCost)]);
  return renderTable(['MODEL', 'CAPACITY GPU-H', 'SOLD GPU-H', 'IDLE GPU-H', 'UTILIZATION', 'REVENUE', 'EFFECTIVE/GPU-H', 'FLOOR/GPU-H', 'IDLE COST'], rows, {
    alignRight: [1, 2, 3, 4, 5, 6, 7, 8],
  });
}

export function trialBalanceText(tb: TrialBalance): string {
  const lines = [tb.balanced ? 'balanced' : 'NOT balanced: debits and credits differ', `${formatNumber(tb.transactions)} transactions, ${formatNumber(tb.postings)} postings`];
  if (tb.totals.length) {
    lines.push('', 'Totals:');
    lines.push(
      renderTable(
        ['CURRENCY', 'DEBITS', 'CREDITS', 'DIFFERENCE'],
        tb.totals.map((t) => [t.currency, moneyText({ amountMicros: t.debitsMicros, currency: t.currency }), moneyText({ amountMicros: t.creditsMicros, currency: t.currency }), moneyText({ amountMicros: t.debitsMicros - t.creditsMicros, currency: t.currency })]),
        { alignRight: [1, 2, 3] },
      ).replace(/^/gm, '  '),
    );
  }
  if (tb.accounts.length) {
    lines.push('', 'Accounts (debit positive):');
    lines.push(renderTable(['ACCOUNT', 'BALANCE'], tb.accounts.map((a) => [a.account, moneyText({ amountMicros: a.balanceMicros, currency: a.currency })]), { alignRight: [1] }).replace(/^/gm, '  '));
  }
  return lines.join('\n');
}

export function registerMarketCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;

  jsonOption(
    program
      .command('quote')
      .summary('price, estimated start and total for a job shape')
      .description(
        'Quote a job shape: the price per hour, the cost floor and margin, when it could start and what it would cost in all, with cheaper or sooner alternatives. Commits to nothing.',
      )
      .option('--gpu-milli <n>', 'a share of one GPU in milli-GPU, 1–999 (500 = half a GPU)')
      .option('--gpus <n>', 'whole GPUs on one node')
      .option('--model <model>', 'allowed GPU model(s); repeat or give a comma list (default: any model here)', repeatable)
      .option('--tier <tier>', 'on-demand (default), spot or reserved')
      .option('--hours <hours>', 'how long the work runs, e.g. 2 or 0.5')
      .option('--max-price <amount>', 'spot bid: the most to pay per hour for the whole shape, e.g. 3.5 (needs --tier spot)')
      .option('--currency <code>', 'currency of --max-price (default CNY)'),
  )
    .addHelpText(
      'after',
      examples([
        'unidle quote --gpu-milli 500 --model H100 --tier spot --hours 2',
        'unidle quote --gpus 2 --model H100,H800 --hours 0.5',
        'unidle quote --gpus 1 --tier spot --max-price 3.5 --hours 8 --json | jq .estimatedStartAt',
      ]),
    )
    .action(async (flags: QuoteFlags & { json?: boolean }, cmd: Command) => {
      const body = buildQuoteRequest(flags);
      const quote = await (await ctx.client(cmd)).quote(body);
      if (flags.json) return printJson(io, quote);
      writeLine(io.stdout, describeQuote(quote));
    });

  const prices = jsonOption(
    program
      .command('prices')
      .summary("the center's prices per model and tier; set them (operator)")
      .description('Prices per GPU-hour for each model and tier, with the cost floor beside each and the margin over it, the pricing policy and the capacity.'),
  )
    .addHelpText(
      'after',
      examples(['unidle prices', 'unidle prices set H100 --list 19.6 --purchase 250000 --depreciation-months 48 --overhead 1.5 --utilization 60', 'unidle prices policy utilization', 'unidle prices --json | jq ".models[].prices"']),
    )
    .action(async (_flags: { json?: boolean }, cmd: Command) => {
      const list = await (await ctx.client(cmd)).listPrices();
      if (wantsJson(cmd)) return printJson(io, list);
      writeLine(io.stdout, `policy: ${list.policy.name} — ${list.policy.description}`);
      writeLine(io.stdout, capacityLine(list));
      if (list.models.length === 0) return writeLine(io.stderr, 'no GPU models priced or present yet');
      writeLine(io.stdout, pricesTable(list));
    });

  prices
    .command('set')
    .description("Set a model's on-demand list price and the cost inputs its floor comes from (operator). New leases use them; running leases keep their price. Amounts are in the center's currency.")
    .argument('<model>', 'GPU model, e.g. H100')
    .option('--list <amount>', 'on-demand list price per GPU-hour, e.g. 19.6')
    .option('--purchase <amount>', 'purchase price per GPU including its share of the server, e.g. 250000')
    .option('--depreciation-months <n>', 'months the purchase is written off over, e.g. 48')
    .option('--overhead <amount>', 'overhead per GPU-hour (space, staff, network), e.g. 1.5')
    .option('--utilization <percent>', 'share of hours the floor assumes are sold, in percent, e.g. 60')
    .addHelpText('after', examples(['unidle prices set H100 --list 19.6', 'unidle prices set H100 --purchase 250000 --depreciation-months 48 --overhead 1.5 --utilization 60']))
    .action(async (model: string, flags: { list?: string; purchase?: string; depreciationMonths?: string; overhead?: string; utilization?: string }, cmd: Command) => {
      const problems: string[] = [];
      const body: ModelPriceInput = {};
      if (flags.list !== undefined) body.listMicros = collect(problems, () => parseMicrosFlag('--list', flags.list!));
      if (flags.purchase !== undefined) body.purchasePriceMicros = collect(problems, () => parseMicrosFlag('--purchase', flags.purchase!, { min: 0 }));
      if (flags.depreciationMonths !== undefined) body.depreciationMonths = collect(problems, () => parseWhole('--depreciation-months', flags.depreciationMonths!, 1));
      if (flags.overhead !== undefined) body.overheadMicrosPerGpuHour = collect(problems, () => parseMicrosFlag('--overhead', flags.overhead!, { min: 0 }));
      if (flags.utilization !== undefined) body.expectedUtilizationPermille = collect(problems, () => parsePercentToPermille('--utilization', flags.utilization!));
      if (problems.length > 0) throw new UsageError(problems.length === 1 ? problems[0]! : `fix these and try again:\n  - ${problems.join('\n  - ')}`);
      if (Object.keys(body).length === 0) throw new UsageError('nothing to set: give at least one of --list, --purchase, --depreciation-months, --overhead, --utilization');
      const list = await (await ctx.client(cmd)).setModelPrice(model, body);
      if (wantsJson(cmd)) return printJson(io, list);
      const row = list.models.find((m) => m.model.toLowerCase() === model.toLowerCase());
      if (row) writeLine(io.stdout, `${row.model}: list ${moneyText(row.list)}/GPU-h, cost floor ${moneyText(row.floor)}/GPU-h`);
      writeLine(io.stdout, pricesTable(list, model));
    });

  prices
    .command('policy')
    .description('Choose how on-demand prices move (operator): fixed (the list price), utilization (up when busy, down when idle) or time-of-use (by hour of day). Never below the cost floor.')
    .argument('<policy>', PRICING_POLICY_NAMES.join(' | '))
    .option('--params <json>', 'the policy\'s parameters as a JSON object, e.g. \'{"windows":[{"startHour":22,"hours":8,"multiplierPermille":700}]}\'')
    .addHelpText('after', examples(['unidle prices policy fixed', 'unidle prices policy utilization', 'unidle prices policy time-of-use --params \'{"windows":[{"startHour":22,"hours":8,"multiplierPermille":700}]}\'']))
    .action(async (policy: string, flags: { params?: string }, cmd: Command) => {
      if (!(PRICING_POLICY_NAMES as readonly string[]).includes(policy)) throw new UsageError(`the policy is one of ${PRICING_POLICY_NAMES.join(', ')} (got "${policy}")`);
      let params: Record<string, unknown> | undefined;
      if (flags.params !== undefined) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(flags.params);
        } catch {
          parsed = undefined;
        }
        if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new UsageError(`--params must be a JSON object, e.g. '{"windows":[…]}' (got ${JSON.stringify(flags.params)})`);
        params = parsed as Record<string, unknown>;
      }
      const list = await (await ctx.client(cmd)).updateMarketSettings({ pricingPolicy: policy, ...(params ? { pricingParams: params } : {}) });
      if (wantsJson(cmd)) return printJson(io, list);
      writeLine(io.stdout, `pricing policy: ${list.policy.name} — ${list.policy.description}`);
      if (list.models.length) writeLine(io.stdout, pricesTable(list));
    });

  jsonOption(
    program
      .command('reserve')
      .summary('buy a reservation: guaranteed GPUs of one model for a term, prepaid')
      .description(
        "Buy a reservation: a guaranteed quota of one model for a term, prepaid at the reserved price. Jobs submitted with --tier reserved then run on it at no extra cost. Unused quota is lent out as spot up to --lending-limit-milli. Uses the key's tenant.",
      )
      .option('--model <model>', 'GPU model, e.g. H100')
      .option('--gpus <n>', 'whole GPUs of quota')
      .option('--gpu-milli <n>', 'quota in milli-GPU (1000 = one GPU)')
      .option('--hours <hours>', 'the term in hours, e.g. 720 (30 days)')
      .option('--lending-limit-milli <n>', 'milli-GPU of unused quota others may borrow as spot (default: all of it)')
      .option('--start <time>', 'when the term starts (ISO 8601 or ms since the epoch; default now)')
      .option('--idempotency-key <key>', 'makes retries safe across invocations (default: a fresh UUID per invocation)'),
  )
    .addHelpText('after', examples(['unidle reserve --model H100 --gpus 2 --hours 720', 'unidle reserve --model H100 --gpu-milli 500 --hours 168 --lending-limit-milli 0 --start 2026-04-01T00:00:00Z']))
    .action(async (flags: ReserveFlags & { json?: boolean }, cmd: Command) => {
      const { body, idempotencyKey } = buildReservationRequest(flags);
      const r = await (await ctx.client(cmd)).createReservation(body, idempotencyKey);
      if (flags.json) return printJson(io, r);
      writeLine(
        io.stdout,
        `reserved ${r.id}: ${formatGpuMilli(r.gpuMilli)} of ${r.model} from ${formatTime(r.startAt)} until ${formatTime(r.endAt)} at ${moneyText(r.pricePerGpuHour)}/GPU-h, ${moneyText(r.total)} prepaid (${formatGpuMilli(r.lendingLimitMilli)} lendable as spot)`,
      );
      writeLine(io.stderr, `run on it with: unidle submit --tier reserved --model ${r.model} …`);
    });

  jsonOption(program.command('reservations').summary('list reservations').description('Reservations, newest first, with the quota in use now. Tenants see their own; operators see all and may filter by tenant.').option('--tenant <tenant>', 'tenant name or id (operators)'))
    .addHelpText('after', examples(['unidle reservations', 'unidle reservations --tenant demo --json']))
    .action(async (flags: { tenant?: string; json?: boolean }, cmd: Command) => {
      const client = await ctx.client(cmd);
      const result = await client.listReservations({ tenantId: await resolveTenantId(client, flags.tenant) });
      if (flags.json) return printJson(io, result);
      if (result.items.length === 0) return writeLine(io.stderr, 'no reservations');
      writeLine(io.stdout, reservationsTable(result.items));
    });

  jsonOption(
    program
      .command('report')
      .summary('market report: revenue, sold vs idle GPU-hours, idle cost (operator)')
      .description('The market over a window (default the last 30 days): per model the capacity, sold and idle GPU-hours, utilization, revenue, effective price against the floor, and what idle hours cost (operator).')
      .option('--from <time>', 'from this time (ISO 8601 or ms since the epoch)')
      .option('--to <time>', 'until this time (ISO 8601 or ms since the epoch; default now)'),
  )
    .addHelpText('after', examples(['unidle report', 'unidle report --from 2026-03-01 --to 2026-04-01', 'unidle report --json | jq .totals']))
    .action(async (flags: { from?: string; to?: string; json?: boolean }, cmd: Command) => {
      const from = flags.from !== undefined ? parseTimeFlag('--from', flags.from) : undefined;
      const to = flags.to !== undefined ? parseTimeFlag('--to', flags.to) : undefined;
      if (from !== undefined && to !== undefined && to <= from) throw new UsageError('--to must be after --from');
      const report = await (await ctx.client(cmd)).marketReport({ from, to });
      if (flags.json) return printJson(io, report);
      writeLine(io.stderr, `market from ${formatTime(report.from)} – ${formatTime(report.to)}`);
      if (report.models.length === 0) return writeLine(io.stdout, 'no capacity or sales in this window');
      writeLine(io.stdout, marketReportTable(report));
      const tiers = Object.entries(report.revenueByTier);
      if (tiers.length) writeLine(io.stdout, `\nrevenue by tier: ${tiers.map(([tier, m]) => `${tier} ${moneyText(m)}`).join(', ')}`);
    });

  jsonOption(program.command('trial-balance').summary('check the ledger balances (operator)').description('The trial balance of the whole ledger: debits equal credits per currency. Exits 1 when they do not (operator).'))
    .addHelpText('after', examples(['unidle trial-balance', 'unidle trial-balance --json | jq .balanced']))
    .action(async (flags: { json?: boolean }, cmd: Command) => {
      const tb = await (await ctx.client(cmd)).trialBalance();
      if (!tb.balanced) ctx.exitCode = 1;
      if (flags.json) return printJson(io, tb);
      writeLine(io.stdout, trialBalanceText(tb));
    });
}
