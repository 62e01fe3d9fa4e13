import type { Invoice } from '../control/billing-service.js';
import type { Money } from '../market/money.js';

/** A printable invoice page: self-contained HTML and CSS (no scripts), laid out for A4 paper. */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function amount(m: Money): string {
  const sign = m.amountMicros < 0 ? '−' : '';
  const abs = Math.abs(m.amountMicros);
  const units = Math.floor(abs / 1_000_000).toLocaleString('en-US');
  const cents = String(abs % 1_000_000).padStart(6, '0');
  // Micro-units are kept in full where they are not zero, so the page adds up to the micro-unit like the JSON.
  const fraction = cents.replace(/0+$/, '').padEnd(2, '0');
  return `${sign}${units}.${fraction}`;
}

function when(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace(/:\d\d\.\d+Z$/, ' UTC');
}

/** `1.234567` kWh with six decimals, grouped. */
function kwh(value: number): string {
  return value.toLocaleString('en-US', { minimumFractionDigits: 6, maximumFractionDigits: 6 });
}

function co2(grams: number): string {
  return grams >= 1000 ? `${(grams / 1000).toLocaleString('en-US', { minimumFractionDigits: 3, maximumFractionDigits: 3 })} kg` : `${grams.toFixed(3)} g`;
}

/** The energy line: what the jobs drew, for information (not added to the total). */
function energySection(invoice: Invoice): string {
  const e = invoice.energy;
  const jobs = e.jobs ?? [];
  const rows = jobs
    .map((j) => `<tr><td><code>${esc(j.jobId)}</code></td><td class="n">${kwh(j.kWh)}</td><td class="n">${co2(j.co2Grams)}</td><td class="n">${amount(j.cost)}</td><td>${esc(j.source)}${j.measuredShare < 1 ? ` (${(j.measuredShare * 100).toFixed(1)}% measured)` : ''}</td></tr>`)
    .join('\n');
  return `<h2>Energy (for information, not charged)</h2>
<table><thead><tr><th></th><th class="n">kWh</th><th class="n">CO₂</th><th class="n">Energy cost (${esc(e.cost.currency)})</th><th>Telemetry</th></tr></thead><tbody>
${rows}
<tr class="sum"><td>All jobs (PUE ${(e.pueMilli / 1000).toFixed(2)})</td><td class="n">${kwh(e.kWh)}</td><td class="n">${co2(e.co2Grams)}</td><td class="n">${amount(e.cost)}</td><td>${jobs.length > 0 ? `${(e.measuredShare * 100).toFixed(1)}% measured` : ''}</td></tr>
</tbody></table>
<p class="muted">${esc(e.note)}.</p>`;
}

export function invoiceHtml(invoice: Invoice): string {
  const c = esc(invoice.currency);
  const rows = invoice.lines
    .map(
      (l) => `<tr><td><code>${esc(l.jobId)}</code>${l.jobName ? `<br><small>${esc(l.jobName)}</small>` : ''}</td><td>${esc(l.model)}</td><td>${esc(l.tier)}</td><td class="n">${l.gpuMilli === 1000 || l.gpuMilli % 1000 === 0 ? `${l.gpuMilli / 1000} GPU` : `${l.gpuMilli} m`}</td><td>${when(l.from)}<br>${when(l.to)}</td><td class="n">${l.seconds.toFixed(3)}</td><td class="n">${amount(l.pricePerGpuHour)}</td><td class="n">${amount(l.amount)}</td></tr>`,
    )
    .join('\n');
  const reservations = invoice.reservations
    .map((r) => `<tr><td><code>${esc(r.reservationId)}</code></td><td>${esc(r.model)}</td><td class="n">${r.gpuMilli} m</td><td>${when(r.startAt)} → ${when(r.endAt)}</td><td class="n">${amount(r.pricePerGpuHour)}</td><td class="n">${amount(r.amount)}</td></tr>`)
    .join('\n');
  const refunds = invoice.refunds.map((r) => `<tr><td>${when(r.at)}</td><td>${esc(r.memo)}</td><td class="n">−${amount(r.amount)}</td></tr>`).join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Invoice ${esc(invoice.period)} — ${esc(invoice.tenantName)}</title>
<style>
  @page { size: A4; margin: 16mm; }
  body { font: 12px/1.45 system-ui, sans-serif; color: #111; max-width: 190mm; margin: 0 auto; }
  h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 14px; margin: 18px 0 6px; }
  table { width: 100%; border-collapse: collapse; } th, td { border-bottom: 1px solid #ddd; padding: 4px 6px; text-align: left; vertical-align: top; }
  th { background: #f4f4f4; } .n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
  .totals { width: 50%; margin-left: auto; margin-top: 12px; } .totals td { border: none; } .total td { font-weight: 700; border-top: 2px solid #111; }
  .muted { color: #666; } code { font-size: 11px; } .sum td { font-weight: 600; }
</style></head>
<body>
<h1>Invoice ${esc(invoice.period)}</h1>
<div>${esc(invoice.tenantName)} <span class="muted">(${esc(invoice.tenantId)})</span></div>
<div class="muted">Period ${when(invoice.periodStart)} – ${when(invoice.periodEnd)} · issued ${when(invoice.issuedAt)} · amounts in ${c}</div>
<h2>Compute (per lease, charged per second)</h2>
${invoice.lines.length === 0 ? '<p class="muted">No metered usage in this period.</p>' : `<table><thead><tr><th>Job</th><th>Model</th><th>Tier</th><th class="n">Share</th><th>From / to</th><th class="n">Seconds</th><th class="n">${c}/GPU-h</th><th class="n">Amount</th></tr></thead><tbody>
${rows}
</tbody></table>`}
${invoice.reservations.length > 0 ? `<h2>Reservations bought</h2><table><thead><tr><th>Reservation</th><th>Model</th><th class="n">Quota</th><th>Term</th><th class="n">${c}/GPU-h</th><th class="n">Amount</th></tr></thead><tbody>${reservations}</tbody></table>` : ''}
${invoice.refunds.length > 0 ? `<h2>Refunds</h2><table><tbody>${refunds}</tbody></table>` : ''}
<table class="totals">
<tr><td>Compute</td><td class="n">${amount(invoice.usageSubtotal)}</td></tr>
<tr><td>Reservations</td><td class="n">${amount(invoice.reservationSubtotal)}</td></tr>
<tr><td>Refunds</td><td class="n">−${amount(invoice.refundTotal)}</td></tr>
<tr><td>Subtotal</td><td class="n">${amount(invoice.subtotal)}</td></tr>
<tr><td>Tax (${(invoice.taxes.ratePermille / 10).toFixed(1)}%)</td><td class="n">${amount(invoice.taxes.amount)}</td></tr>
<tr class="total"><td>Total (${c})</td><td class="n">${amount(invoice.total)}</td></tr>
</table>
${energySection(invoice)}
</body></html>
`;
}
