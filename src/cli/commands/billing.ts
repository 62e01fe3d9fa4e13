import { writeFile } from 'node:fs/promises';
import { Command } from 'commander';
import type { ApiClient, Invoice, TenantBilling } from '../api-client.js';
import { examples, jsonOption, resolveTenantId, wantsJson, type CliContext } from '../context.js';
import { formatDurationMs, formatGpuMilli, formatNumber, formatTime, renderFields, renderTable } from '../format.js';
import { CliError, printJson, UsageError, writeLine } from '../io.js';
import { parsePeriod, permilleText } from '../market-args.js';
import { moneyText, parseCurrency, parseMoneyFlag } from '../money-args.js';

/**
 * The tenant a billing command acts on: --tenant (name or id), else the key's own tenant. Operators
 * belong to no tenant, so they name one.
 */
export async function billingTenantId(client: ApiClient, tenant: string | undefined): Promise<string> {
  const named = await resolveTenantId(client, tenant);
  if (named) return named;
  const me = await client.me();
  if (me.tenantId) return me.tenantId;
  throw new UsageError('this key belongs to no tenant (an operator key): name one with --tenant NAME');
}

export function describeBilling(b: TenantBilling): string {
  const fields: [string, string][] = [
    ['Tenant', b.tenantId],
    ['Payment mode', b.paymentMode],
    ['Balance', moneyText(b.balance)],
    ['Reservations prepaid', moneyText(b.reservationsPrepaid)],
    ['Spent this month', moneyText(b.spentThisMonth)],
  ];
  if (b.budgetLimit) {
    const left = { amountMicros: b.budgetLimit.amountMicros - b.spentThisMonth.amountMicros, currency: b.budgetLimit.currency };
    fields.push(['Budget', `${moneyText(b.budgetLimit)} a month (${left.amountMicros > 0 ? `${moneyText(left)} left` : 'spent: new work is refused'})`]);
  } else fields.push(['Budget', 'none']);
  let burn = `${moneyText(b.burnPerHour)}/h`;
  if (b.paymentMode === 'prepaid' && b.burnPerHour.amountMicros > 0 && b.balance.amountMicros > 0)
    burn += ` (the balance lasts about ${formatDurationMs((b.balance.amountMicros / b.burnPerHour.amountMicros) * 3_600_000)})`;
  fields.push(['Burn rate', burn]);
  fields.push(['Fair-share weight', String(b.fairShareWeightMilli / 1000)]);
  if (b.warnedAt !== null) fields.push(['Low balance since', formatTime(b.warnedAt)]);
  if (b.exhaustedAt !== null) fields.push(['Exhausted since', formatTime(b.exhaustedAt)]);
  return renderFields(fields);
}

export function describeInvoice(inv: Invoice): string {
  const lines: string[] = [];
  lines.push(
    renderFields([
      ['Invoice', `${inv.tenantName} (${inv.tenantId}), ${inv.period}`],
      ['Period', `${formatTime(inv.periodStart)} – ${formatTime(inv.periodEnd)}`],
      ['Issued', formatTime(inv.issuedAt)],
    ]),
  );
  lines.push('', 'Usage:');
  lines.push(
    inv.lines.length
      ? renderTable(
          ['JOB', 'NAME', 'MODEL', 'TIER', 'SHARE', 'SECONDS', 'PRICE/GPU-H', 'AMOUNT'],
          inv.lines.map((l) => [l.jobId, l.jobName ?? '-', l.model, l.tier, formatGpuMilli(l.gpuMilli), formatNumber(Math.round(l.seconds)), moneyText(l.pricePerGpuHour), moneyText(l.amount)]),
          { alignRight: [5, 6, 7] },
        ).replace(/^/gm, '  ')
      : '  (none)',
  );
  if (inv.reservations.length) {
    lines.push('', 'Reservations:');
    lines.push(
      renderTable(
        ['RESERVATION', 'MODEL', 'QUOTA', 'START', 'END', 'PRICE/GPU-H', 'AMOUNT'],
        inv.reservations.map((r) => [r.reservationId, r.model, formatGpuMilli(r.gpuMilli), formatTime(r.startAt), formatTime(r.endAt), moneyText(r.pricePerGpuHour), moneyText(r.amount)]),
        { alignRight: [5, 6] },
      ).replace(/^/gm, '  '),
    );
  }
  if (inv.refunds.length) {
    lines.push('', 'Refunds:');
    lines.push(renderTable(['TIME', 'MEMO', 'AMOUNT'], inv.refunds.map((r) => [formatTime(r.at), r.memo, moneyText(r.amount)]), { alignRight: [2] }).replace(/^/gm, '  '));
  }
  lines.push('');
  lines.push(
    renderFields([
      ['Usage', moneyText(inv.usageSubtotal)],
      ['Reservations', moneyText(inv.reservationSubtotal)],
      ['Refunds', moneyText({ amountMicros: -inv.refundTotal.amountMicros, currency: inv.refundTotal.currency })],
      ['Subtotal', moneyText(inv.subtotal)],
      [`Tax (${permilleText(inv.taxes.ratePermille)})`, moneyText(inv.taxes.amount)],
      ['Total', moneyText(inv.total)],
    ]),
  );
  const e = inv.energy;
  const co2 = e.co2Grams >= 1000 ? `${(e.co2Grams / 1000).toFixed(3)} kg` : `${e.co2Grams.toFixed(3)} g`;
  lines.push('', `Energy (not charged): ${e.kWh.toFixed(6)} kWh, ${co2} CO₂, ${moneyText(e.cost)} at PUE ${(e.pueMilli / 1000).toFixed(2)}`);
  lines.push(`  ${e.note}`);
  return lines.join('\n');
}

export function registerBillingCommands(program: Command, ctx: CliContext): void {
  const { io } = ctx;
  const tenantOption = '--tenant <tenant>';
  const tenantHelp = "tenant name or id (default: the key's own tenant)";

  jsonOption(program.command('balance').summary("a tenant's balance, spend, budget and burn rate").description("A tenant's balance, month-to-date spend, budget and burn rate.").option(tenantOption, tenantHelp))
    .addHelpText('after', examples(['unidle balance', 'unidle balance --tenant acme --json']))
    .action(async (flags: { tenant?: string; json?: boolean }, cmd: Command) => {
      const client = await ctx.client(cmd);
      const billing = await client.tenantBilling(await billingTenantId(client, flags.tenant));
      if (flags.json) return printJson(io, billing);
      writeLine(io.stdout, describeBilling(billing));
    });

  jsonOption(
    program
      .command('budget')
      .summary("set or remove a tenant's monthly budget")
      .description('Set a monthly budget: a hard limit on spend; new work that would pass it is refused. Tenant admins may lower their own; operators set anything.')
      .option('--limit <amount>', 'the monthly limit, e.g. 500')
      .option('--none', 'remove the budget (operators)')
      .option('--currency <code>', 'currency of --limit (default CNY)')
      .option(tenantOption, tenantHelp),
  )
    .addHelpText('after', examples(['unidle budget --limit 500', 'unidle budget --tenant acme --limit 2000.50', 'unidle budget --tenant acme --none']))
    .action(async (flags: { limit?: string; none?: boolean; currency?: string; tenant?: string; json?: boolean }, cmd: Command) => {
      if (flags.limit !== undefined && flags.none) throw new UsageError('give either --limit AMOUNT or --none, not both');
      if (flags.limit === undefined && !flags.none) throw new UsageError('say the budget: --limit 500 (a monthly limit) or --none (no limit)');
      const budgetLimit = flags.none ? null : parseMoneyFlag('--limit', flags.limit!, parseCurrency(flags.currency), { min: 0 });
      const client = await ctx.client(cmd);
      const billing = await client.updateTenantBilling(await billingTenantId(client, flags.tenant), { budgetLimit });
      if (flags.json) return printJson(io, billing);
      writeLine(io.stdout, billing.budgetLimit ? `${billing.tenantId}: budget ${moneyText(billing.budgetLimit)} a month (${moneyText(billing.spentThisMonth)} spent so far)` : `${billing.tenantId}: no budget`);
    });

  jsonOption(
    program
      .command('billing-mode')
      .summary('prepaid or postpaid (operator)')
      .description('How a tenant pays (operator): prepaid (work stops when the balance runs out; top up with `unidle top-up`) or postpaid (invoiced monthly).')
      .argument('<mode>', 'prepaid | postpaid')
      .option(tenantOption, tenantHelp),
  )
    .addHelpText('after', examples(['unidle billing-mode --tenant acme prepaid', 'unidle billing-mode --tenant acme postpaid']))
    .action(async (mode: string, flags: { tenant?: string; json?: boolean }, cmd: Command) => {
      if (mode !== 'prepaid' && mode !== 'postpaid') throw new UsageError(`the mode is prepaid or postpaid (got "${mode}")`);
      const client = await ctx.client(cmd);
      const billing = await client.updateTenantBilling(await billingTenantId(client, flags.tenant), { paymentMode: mode });
      if (flags.json) return printJson(io, billing);
      writeLine(io.stdout, `${billing.tenantId} pays ${billing.paymentMode}; balance ${moneyText(billing.balance)}`);
    });

  jsonOption(
    program
      .command('top-up')
      .summary('record money paid in by a tenant (operator)')
      .description('Record money a tenant paid in (operator). Safe to retry: a key is sent with each top-up.')
      .option(tenantOption, 'tenant name or id')
      .option('--amount <amount>', 'how much, e.g. 100 or 99.5')
      .option('--currency <code>', 'currency of --amount (default CNY)')
      .option('--reference <text>', 'a payment reference, kept in the ledger memo')
      .option('--idempotency-key <key>', 'makes retries safe across invocations (default: a fresh UUID per invocation)'),
  )
    .addHelpText('after', examples(['unidle top-up --tenant acme --amount 100', 'unidle top-up --tenant acme --amount 5000 --reference "wire 2026-03-02" --idempotency-key wire-0302']))
    .action(async (flags: { tenant?: string; amount?: string; currency?: string; reference?: string; idempotencyKey?: string; json?: boolean }, cmd: Command) => {
      if (flags.amount === undefined) throw new UsageError('say how much was paid: --amount 100');
      const amount = parseMoneyFlag('--amount', flags.amount, parseCurrency(flags.currency));
      if (flags.reference !== undefined && (flags.reference === '' || flags.reference.length > 200)) throw new UsageError('--reference must be 1–200 characters');
      if (flags.idempotencyKey !== undefined && (flags.idempotencyKey === '' || flags.idempotencyKey.length > 255)) throw new UsageError('--idempotency-key must be 1–255 characters');
      const client = await ctx.client(cmd);
      const billing = await client.topUp(await billingTenantId(client, flags.tenant), { amount, ...(flags.reference !== undefined ? { reference: flags.reference } : {}) }, flags.idempotencyKey);
      if (flags.json) return printJson(io, billing);
      writeLine(io.stdout, `${billing.tenantId}: topped up ${moneyText(amount)}; balance ${moneyText(billing.balance)}`);
    });

  jsonOption(
    program
      .command('refund')
      .summary('give charged money back to a tenant (operator)')
      .description('Give back money a tenant was charged (operator): never more than was charged (for the job, with --job) and not yet refunded. The reason is printed on the invoice.')
      .option(tenantOption, 'tenant name or id')
      .option('--amount <amount>', 'how much, e.g. 1.5')
      .option('--currency <code>', 'currency of --amount (default CNY)')
      .option('--reason <text>', 'why (printed on the invoice)')
      .option('--job <id>', 'the job the refund is for'),
  )
    .addHelpText('after', examples(['unidle refund --tenant acme --amount 1.5 --reason "node failure" --job job_01J…', 'unidle refund --tenant acme --amount 20 --reason goodwill']))
    .action(async (flags: { tenant?: string; amount?: string; currency?: string; reason?: string; job?: string; json?: boolean }, cmd: Command) => {
      const problems: string[] = [];
      if (flags.amount === undefined) problems.push('say how much to give back: --amount 1.5');
      if (flags.reason === undefined || flags.reason.trim() === '') problems.push('say why: --reason TEXT (it is printed on the invoice)');
      else if (flags.reason.length > 200) problems.push('--reason must be at most 200 characters');
      if (problems.length) throw new UsageError(problems.length === 1 ? problems[0]! : `fix these and try again:\n  - ${problems.join('\n  - ')}`);
      const amount = parseMoneyFlag('--amount', flags.amount!, parseCurrency(flags.currency));
      const client = await ctx.client(cmd);
      const billing = await client.refund(await billingTenantId(client, flags.tenant), { amount, reason: flags.reason!, ...(flags.job ? { jobId: flags.job } : {}) });
      if (flags.json) return printJson(io, billing);
      writeLine(io.stdout, `${billing.tenantId}: refunded ${moneyText(amount)}; balance ${moneyText(billing.balance)}`);
    });

  program
    .command('invoice')
    .summary("a tenant's monthly invoice")
    .description("A tenant's invoice for a calendar month (UTC): usage by lease, reservations bought, refunds, tax and total. --html writes the printable version.")
    .argument('<period>', 'the month, YYYY-MM')
    .option(tenantOption, tenantHelp)
    .option('--json', 'print the raw JSON response (for scripts)')
    .option('--html <file>', 'write the printable HTML invoice to this file (- for stdout)')
    .addHelpText('after', examples(['unidle invoice 2026-03', 'unidle invoice 2026-03 --tenant acme --html acme-2026-03.html', 'unidle invoice 2026-03 --json | jq .total']))
    .action(async (period: string, flags: { tenant?: string; json?: boolean; html?: string }, cmd: Command) => {
      const month = parsePeriod(period);
      if (flags.json && flags.html !== undefined) throw new UsageError('give either --json or --html FILE, not both');
      if (flags.html === '') throw new UsageError('--html needs a file name (or - for stdout)');
      const client = await ctx.client(cmd);
      const tenantId = await billingTenantId(client, flags.tenant);
      if (flags.html !== undefined) {
        const html = await client.invoiceHtml(tenantId, month);
        if (flags.html === '-') return void io.stdout.write(html);
        try {
          await writeFile(flags.html, html);
        } catch (err) {
          throw new CliError(`cannot write ${flags.html}: ${(err as Error).message}`, 1);
        }
        return writeLine(io.stdout, `wrote the ${month} invoice to ${flags.html}`);
      }
      const invoice = await client.invoice(tenantId, month);
      if (wantsJson(cmd)) return printJson(io, invoice);
      writeLine(io.stdout, describeInvoice(invoice));
    });
}
