import { describe, expect, it } from 'vitest';
import { type CurveSeries, curvesToCsv, curvesToSvg, downsamplePoints } from './report-files.js';

function curve(policy: string, n: number, f: (x: number) => number): CurveSeries {
  const points = [];
  for (let i = 0; i < n; i++) {
    const arrivedPct = (130 * i) / (n - 1);
    points.push({ arrivedPct, unallocatedPct: f(arrivedPct) });
  }
  return { policy, points };
}

const SERIES: CurveSeries[] = [
  curve('fgd', 50, (x) => Math.max(0, x - 95)),
  curve('best-fit', 50, (x) => Math.max(0, x - 92.5)),
  curve('random', 50, (x) => Math.max(0, x - 86.3)),
];

describe('curvesToCsv', () => {
  it('writes long format with two decimals', () => {
    const csv = curvesToCsv([
      { policy: 'fgd', points: [{ arrivedPct: 0, unallocatedPct: 0 }, { arrivedPct: 100, unallocatedPct: 4.7712 }] },
      { policy: 'a,"b"', points: [{ arrivedPct: 99.999, unallocatedPct: -0.001 }] },
    ]);
    expect(csv).toBe(
      'policy,arrived_pct,unallocated_pct\n' +
        'fgd,0.00,0.00\n' +
        'fgd,100.00,4.77\n' +
        '"a,""b""",100.00,0.00\n',
    );
  });

  it('is just the header for no series', () => {
    expect(curvesToCsv([])).toBe('policy,arrived_pct,unallocated_pct\n');
  });
});

describe('curvesToSvg', () => {
  it('draws one polyline per series, a legend, a title and the 100% line', () => {
    const svg = curvesToSvg(SERIES, { title: 'openb default' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    expect(svg.match(/<polyline /g)).toHaveLength(3);
    for (const s of SERIES) expect(svg).toContain(`>${s.policy}</text>`);
    expect(svg).toContain('>openb default</text>');
    expect(svg).toContain('stroke-dasharray="5 4"');
    // Distinct colours.
    const colours = [...svg.matchAll(/<polyline [^>]*stroke="(#[0-9A-Fa-f]{6})"/g)].map((m) => m[1]);
    expect(new Set(colours).size).toBe(3);
    // Every opened element is closed or self-closing.
    const opened = (svg.match(/<[a-z]+[ >]/g) ?? []).length;
    const closed = (svg.match(/<\/[a-z]+>/g) ?? []).length + (svg.match(/\/>/g) ?? []).length;
    expect(closed).toBe(opened);
  });

  it('escapes names, title and labels', () => {
    const svg = curvesToSvg([{ policy: 'a<b&c', points: [{ arrivedPct: 0, unallocatedPct: 1 }] }], {
      title: 'T <&> "q"',
      xLabel: 'x & y',
    });
    expect(svg).toContain('a&lt;b&amp;c');
    expect(svg).toContain('T &lt;&amp;&gt; &quot;q&quot;');
    expect(svg).toContain('x &amp; y');
    expect(svg).not.toContain('a<b');
    expect(svg).not.toMatch(/&(?!amp;|lt;|gt;|quot;|apos;)/);
  });

  it('is deterministic', () => {
    const a = curvesToSvg(SERIES, { title: 't' });
    const b = curvesToSvg(structuredClone(SERIES), { title: 't' });
    expect(a).toBe(b);
  });

  it('rounds the y axis up to a nice number', () => {
    const svg = curvesToSvg(SERIES, { title: 't' }); // max unallocated 43.7, max arrived 130
    const labels = (anchor: string): string[] => {
      const group = svg.split(`<g text-anchor="${anchor}">`)[1]!.split('</g>')[0]!;
      return [...group.matchAll(/>([^<]+)<\/text>/g)].map((m) => m[1]!);
    };
    expect(labels('end')).toEqual(['0', '5', '10', '15', '20', '25', '30', '35', '40', '45']);
    expect(labels('middle').at(-1)).toBe('130');
    expect(labels('middle')).toHaveLength(14);
  });

  it('caps the points per series', () => {
    const big = curve('dense', 10_000, (x) => 20 + Math.sin(x));
    const svg = curvesToSvg([big], { title: 'dense' });
    const pts = /<polyline points="([^"]*)"/.exec(svg)![1]!.split(' ');
    expect(pts.length).toBeLessThanOrEqual(600);
    expect(pts.length).toBeGreaterThan(300);
    expect(svg.length).toBeLessThan(40_000);
  });

  it('handles no series and empty series', () => {
    expect(curvesToSvg([], { title: 'empty' })).toContain('</svg>');
    const svg = curvesToSvg([{ policy: 'none', points: [] }], { title: 'e' });
    expect(svg.match(/<polyline /g)).toHaveLength(1);
  });
});

describe('downsamplePoints', () => {
  it('keeps first, last and the extremes, and at most maxPoints', () => {
    const pts = curve('x', 5000, (x) => (Math.abs(x - 77) < 1e-9 ? 0 : 10)).points;
    pts[1234] = { arrivedPct: pts[1234]!.arrivedPct, unallocatedPct: 99 };
    pts[4321] = { arrivedPct: pts[4321]!.arrivedPct, unallocatedPct: -5 };
    const out = downsamplePoints(pts, 100);
    expect(out.length).toBeLessThanOrEqual(100);
    expect(out[0]).toBe(pts[0]);
    expect(out[out.length - 1]).toBe(pts[pts.length - 1]);
    expect(out).toContain(pts[1234]);
    expect(out).toContain(pts[4321]);
    for (let i = 1; i < out.length; i++) expect(out[i]!.arrivedPct).toBeGreaterThan(out[i - 1]!.arrivedPct);
  });

  it('returns small inputs unchanged and drops non-finite points', () => {
    const pts = [
      { arrivedPct: 0, unallocatedPct: 0 },
      { arrivedPct: 1, unallocatedPct: Number.NaN },
      { arrivedPct: 2, unallocatedPct: 1 },
    ];
    expect(downsamplePoints(pts, 600)).toEqual([pts[0], pts[2]]);
  });
});

describe('zoomed chart', () => {
  it('starts the x axis at arrivedFromPct and leaves earlier points out', () => {
    const points = Array.from({ length: 131 }, (_, i) => ({ arrivedPct: i, unallocatedPct: Math.max(100 - i, 3) }));
    const svg = curvesToSvg([{ policy: 'p', points }], { title: 't', arrivedFromPct: 80 });
    const coords = /<polyline[^>]*points="([^"]+)"/.exec(svg)![1]!.trim().split(/\s+/);
    expect(coords.length).toBe(51);
    expect(svg).toContain('>80<');
    expect(Number(coords[0]!.split(',')[0])).toBe(64); // the first kept point (80%) sits on the y axis
  });
});
