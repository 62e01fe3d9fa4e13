/**
 * Slurm hostlist expressions: 'n[1-3,5]' → ['n1','n2','n3','n5']. Zero padding is kept ('gpu[08-10]' →
 * gpu08, gpu09, gpu10); several bracket groups multiply ('r[1-2]n[1-2]' → r1n1, r1n2, r2n1, r2n2).
 */

const MAX_HOSTS = 100_000;

/** Splits on commas that are not inside brackets. */
function splitTop(expr: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of expr) {
    if (ch === '[') depth++;
    else if (ch === ']') depth--;
    if (ch === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += ch;
  }
  parts.push(cur);
  return parts.map((p) => p.trim()).filter((p) => p !== '');
}

function expandRange(body: string, expr: string): string[] {
  const out: string[] = [];
  for (const piece of body.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(piece.trim());
    if (!m) throw new Error(`bad hostlist range "${piece}" in "${expr}"`);
    const lo = m[1]!;
    const hi = m[2] ?? lo;
    const width = lo.length;
    const a = Number(lo);
    const b = Number(hi);
    if (b < a || b - a > MAX_HOSTS) throw new Error(`bad hostlist range "${piece}" in "${expr}"`);
    for (let i = a; i <= b; i++) out.push(String(i).padStart(width, '0'));
  }
  return out;
}

function expandOne(term: string, expr: string): string[] {
  const open = term.indexOf('[');
  if (open < 0) return [term];
  const close = term.indexOf(']', open);
  if (close < 0) throw new Error(`unbalanced brackets in hostlist "${expr}"`);
  const prefix = term.slice(0, open);
  const rest = expandOne(term.slice(close + 1), expr);
  const out: string[] = [];
  for (const n of expandRange(term.slice(open + 1, close), expr)) for (const r of rest) out.push(`${prefix}${n}${r}`);
  return out;
}

/** Expands a hostlist. '', '(null)' and 'None assigned' (sacct's word for "no nodes") give []. */
export function expandHostlist(expr: string | null | undefined): string[] {
  if (expr === null || expr === undefined) return [];
  const s = expr.trim();
  if (s === '' || s === '(null)' || s === 'None assigned' || s === 'None') return [];
  return splitTop(s).flatMap((t) => expandOne(t, s));
}
