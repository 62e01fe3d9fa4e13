import { describe, expect, it } from 'vitest';
import { UnidleError } from '../domain/errors.js';
import {
  CHINA_UTC_OFFSET_MINUTES,
  defineTariff,
  energyCostMicros,
  energyCostOfIntervals,
  energyCostOverInterval,
  flatTariff,
  GUANGDONG_TOU_2021,
  guangdongTouTariff,
  localHour,
  tariffAt,
  tariffSegments,
} from './tariff.js';
import { MJ_PER_KWH } from './units.js';

const HOUR = 3_600_000;
const KWH = MJ_PER_KWH;
const CST = CHINA_UTC_OFFSET_MINUTES;
/** 2024-01-15 at local China time hh:mm (+ `days`), as UTC ms. */
function cst(hour: number, minute = 0, days = 0): number {
  return Date.UTC(2024, 0, 15 + days) - 8 * HOUR + hour * HOUR + minute * 60_000;
}

function validationProblems(fn: () => unknown): { field: string; message: string }[] {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(UnidleError);
    expect((e as UnidleError).code).toBe('validation_failed');
    return (e as UnidleError).problems;
  }
  throw new Error('expected a validation error');
}

describe('tariff definition', () => {
  it('resolves every local hour to a band; uncovered hours are flat; windows may wrap midnight', () => {
    const t = defineTariff({
      name: 'night',
      pricesMicrosPerKwh: { flat: 600_000, valley: 300_000, peak: 900_000 },
      windows: [
        { band: 'valley', startHour: 23, endHour: 7 },
        { band: 'peak', startHour: 18, endHour: 21 },
      ],
    });
    expect(t.hourBands).toEqual([
      ...Array(7).fill('valley'), // 0–6
      ...Array(11).fill('flat'), // 7–17
      ...Array(3).fill('peak'), // 18–20
      'flat', // 21
      'flat', // 22
      'valley', // 23
    ]);
    expect(t.hourPrices[23]).toBe(300_000);
    expect(t.currency).toBe('CNY');
  });

  it('treats a flat tariff as the tariff without windows', () => {
    const t = flatTariff(650_000);
    expect(new Set(t.hourBands)).toEqual(new Set(['flat']));
    expect(new Set(t.hourPrices)).toEqual(new Set([650_000]));
  });

  it('reports every problem at once, naming the field', () => {
    const problems = validationProblems(() =>
      defineTariff({
        pricesMicrosPerKwh: { peak: 1.5, valley: 200_000, shoulder: 1 },
        windows: [
          { band: 'valley', startHour: 22, endHour: 6 },
          { band: 'valley', startHour: 5, endHour: 8 },
          { band: 'superpeak', startHour: 9, endHour: 10 },
          { band: 'valley', startHour: 24, endHour: 3 },
          { band: 'valley', startHour: 12, endHour: 12 },
          { band: 'critical', startHour: 13, endHour: 14 },
        ],
        currency: 'yuan',
      }),
    );
    const fields = problems.map((p) => p.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        'currency',
        'pricesMicrosPerKwh.peak',
        'pricesMicrosPerKwh.shoulder',
        'windows[1]',
        'windows[2].band',
        'windows[3].startHour',
        'windows[4].endHour',
        'windows[5].band',
      ]),
    );
    expect(problems.find((p) => p.field === 'windows[1]')!.message).toMatch(/overlaps windows\[0\] at 05:00/);
    expect(problems.find((p) => p.field === 'windows[4].endHour')!.message).toMatch(/startHour 0, endHour 24/);
    expect(problems.find((p) => p.field === 'windows[5].band')!.message).toMatch(/"critical" has no price/);
  });

  it('needs a flat price when some hours are in no window, and says which', () => {
    const problems = validationProblems(() => defineTariff({ pricesMicrosPerKwh: { valley: 1 }, windows: [{ band: 'valley', startHour: 0, endHour: 22 }] }));
    expect(problems).toEqual([{ field: 'pricesMicrosPerKwh.flat', message: 'is needed: local hours 22, 23 are in no window and so are flat' }]);
    // Covering the whole day needs no flat price.
    expect(defineTariff({ pricesMicrosPerKwh: { valley: 1 }, windows: [{ band: 'valley', startHour: 0, endHour: 24 }] }).hourPrices[23]).toBe(1);
  });

  it('rejects input that is not a tariff, with the prefix', () => {
    expect(validationProblems(() => defineTariff(null, 'tariff.'))).toEqual([{ field: 'tariff', message: expect.stringMatching(/must be an object/) }]);
    expect(validationProblems(() => defineTariff({ pricesMicrosPerKwh: [] }, 'center.tariff.'))[0]!.field).toBe('center.tariff.pricesMicrosPerKwh');
  });
});

describe('the Guangdong 2021 preset', () => {
  it('has peak 10–12 and 14–19, valley 0–8, flat otherwise, at 1.7 : 1 : 0.38', () => {
    const t = GUANGDONG_TOU_2021;
    const bandAt = (h: number) => t.hourBands[h];
    expect([0, 7].map(bandAt)).toEqual(['valley', 'valley']);
    expect([8, 9, 12, 13, 19, 23].map(bandAt)).toEqual(['flat', 'flat', 'flat', 'flat', 'flat', 'flat']);
    expect([10, 11, 14, 18].map(bandAt)).toEqual(['peak', 'peak', 'peak', 'peak']);
    expect(t.pricesMicrosPerKwh).toEqual({ peak: 1_105_000, flat: 650_000, valley: 247_000 });
  });

  it('adds the summer critical peak, 11–12 and 15–17, at peak + 25 %', () => {
    const t = guangdongTouTariff(650_000, { summer: true });
    expect([10, 11, 14, 15, 16, 17].map((h) => t.hourBands[h])).toEqual(['peak', 'critical', 'peak', 'critical', 'critical', 'peak']);
    expect(t.pricesMicrosPerKwh.critical).toBe(1_381_250);
    expect(guangdongTouTariff(500_000).pricesMicrosPerKwh).toEqual({ peak: 850_000, flat: 500_000, valley: 190_000 });
  });

  it('applies local China time', () => {
    expect(localHour(cst(10, 30), CST)).toBe(10);
    expect(tariffAt(GUANGDONG_TOU_2021, cst(10, 30), CST)).toEqual({ band: 'peak', priceMicrosPerKwh: 1_105_000 });
    expect(tariffAt(GUANGDONG_TOU_2021, cst(10, 30), 0).band).toBe('valley'); // 02:30 UTC
    // Negative offsets wrap the day too: 02:30 UTC is 21:30 the day before at UTC−5.
    expect(localHour(cst(10, 30), -300)).toBe(21);
  });
});

describe('energy cost', () => {
  it('prices 1 kWh at PUE 1.3 and ¥0.65/kWh at ¥0.845', () => {
    expect(energyCostMicros(KWH, 1300, flatTariff(650_000), cst(12), CST)).toBe(845_000);
    expect(energyCostMicros(KWH, 1300, GUANGDONG_TOU_2021, cst(3), CST)).toBe(321_100); // valley
    expect(energyCostMicros(KWH, 1300, GUANGDONG_TOU_2021, cst(15), CST)).toBe(1_436_500); // peak
  });

  it('rounds once, half away from zero, to a whole micro-unit', () => {
    const yuanPerKwh = flatTariff(1_000_000); // 1 micro per 3,600 mJ at PUE 1.0
    expect(energyCostMicros(1799, 1000, yuanPerKwh, 0, 0)).toBe(0); // 0.4997
    expect(energyCostMicros(1800, 1000, yuanPerKwh, 0, 0)).toBe(1); // 0.5 → 1
    expect(energyCostMicros(5400, 1000, yuanPerKwh, 0, 0)).toBe(2); // 1.5 → 2
    expect(energyCostMicros(0, 1000, yuanPerKwh, 0, 0)).toBe(0);
    // Two intervals of 0.5 micro each: priced together they cost 1, not 1 + 1.
    const both = energyCostOfIntervals(
      [
        { fromMs: 0, toMs: 1000, energyMj: 1800 },
        { fromMs: 1000, toMs: 2000, energyMj: 1800 },
      ],
      1000,
      yuanPerKwh,
      0,
    );
    expect(both.costMicros).toBe(1);
    expect(both.energyMj).toBe(3600);
  });

  it('rejects negative or fractional energy and PUE out of range', () => {
    expect(() => energyCostMicros(-1, 1300, GUANGDONG_TOU_2021, 0, CST)).toThrow(/energy \(mJ\) must be a whole number/);
    expect(() => energyCostMicros(1.5, 1300, GUANGDONG_TOU_2021, 0, CST)).toThrow(/energy/);
    expect(() => energyCostMicros(1, 900, GUANGDONG_TOU_2021, 0, CST)).toThrow(/pueMilli must be a whole number from 1000 to 5000/);
    expect(() => energyCostMicros(1, 1300, GUANGDONG_TOU_2021, 0, 900)).toThrow(/utcOffsetMinutes/);
  });
});

describe('cost over an interval that crosses tariff windows', () => {
  it('splits across midnight: 23:00–01:00 is an hour flat and an hour valley', () => {
    const from = cst(23);
    const to = cst(1, 0, 1);
    expect(tariffSegments(GUANGDONG_TOU_2021, from, to, CST)).toEqual([
      { fromMs: from, toMs: cst(0, 0, 1), band: 'flat', priceMicrosPerKwh: 650_000 },
      { fromMs: cst(0, 0, 1), toMs: to, band: 'valley', priceMicrosPerKwh: 247_000 },
    ]);
    const cost = energyCostOverInterval(2 * KWH, 1300, GUANGDONG_TOU_2021, from, to, CST);
    expect(cost.costMicros).toBe(845_000 + 321_100);
    expect(cost.byBand).toEqual([
      { band: 'flat', priceMicrosPerKwh: 650_000, energyMj: KWH, costMicros: 845_000 },
      { band: 'valley', priceMicrosPerKwh: 247_000, energyMj: KWH, costMicros: 321_100 },
    ]);
  });

  it('splits a wrapping valley window across midnight the same way (23:00–07:00 valley)', () => {
    const t = defineTariff({ pricesMicrosPerKwh: { flat: 600_000, valley: 300_000 }, windows: [{ band: 'valley', startHour: 23, endHour: 7 }] });
    // 22:30 to 23:30 local: half flat, half valley; then the valley runs through midnight to 07:00.
    expect(energyCostOverInterval(KWH, 1000, t, cst(22, 30), cst(23, 30), CST).costMicros).toBe(450_000);
    expect(tariffSegments(t, cst(22, 30), cst(8, 0, 1), CST).map((s) => s.band)).toEqual(['flat', 'valley', 'flat']);
    // 8 h of valley 23:00–07:00 in one piece, although it spans two dates.
    const segments = tariffSegments(t, cst(22, 30), cst(8, 0, 1), CST);
    expect(segments[1]!.toMs - segments[1]!.fromMs).toBe(8 * HOUR);
  });

  it('splits across a peak boundary: 09:30–10:30 is half flat, half peak', () => {
    const cost = energyCostOverInterval(KWH, 1000, GUANGDONG_TOU_2021, cst(9, 30), cst(10, 30), CST);
    expect(cost.byBand.map((b) => [b.band, b.energyMj])).toEqual([
      ['peak', KWH / 2],
      ['flat', KWH / 2],
    ]);
    expect(cost.costMicros).toBe((650_000 + 1_105_000) / 2);
  });

  it('splits unevenly by duration, and the breakdown adds up to the totals exactly', () => {
    // 09:59:59.999 to 10:00:00.002: 1 ms flat, 2 ms peak; 1,000,001 mJ.
    const from = cst(10) - 1;
    const cost = energyCostOverInterval(1_000_001, 1300, GUANGDONG_TOU_2021, from, from + 3, CST);
    expect(cost.byBand.map((b) => [b.band, b.energyMj])).toEqual([
      ['peak', 666_667],
      ['flat', 333_334],
    ]);
    expect(cost.byBand.reduce((s, b) => s + b.energyMj, 0)).toBe(cost.energyMj);
    expect(cost.byBand.reduce((s, b) => s + b.costMicros, 0)).toBe(cost.costMicros);
    // exact: (666,667.33 × 1,105,000 + 333,333.67 × 650,000) × 1.3 / 3.6e9 = 344.26 → 344
    expect(cost.costMicros).toBe(344);
  });

  it('prices a whole day at the Guangdong daily mix', () => {
    // 24 kWh evenly over a day: 8 h valley, 7 h peak, 9 h flat.
    const cost = energyCostOverInterval(24 * KWH, 1000, GUANGDONG_TOU_2021, cst(0), cst(0, 0, 1), CST);
    expect(cost.costMicros).toBe(8 * 247_000 + 7 * 1_105_000 + 9 * 650_000);
    expect(cost.byBand.map((b) => b.band)).toEqual(['peak', 'flat', 'valley']);
  });

  it('prices per-interval energies, each spread over its own interval', () => {
    const cost = energyCostOfIntervals(
      [
        { fromMs: cst(7), toMs: cst(8), energyMj: KWH }, // valley
        { fromMs: cst(8), toMs: cst(10), energyMj: 3 * KWH }, // flat
        { fromMs: cst(10), toMs: cst(10), energyMj: KWH }, // a point: priced at 10:00, peak
      ],
      1300,
      GUANGDONG_TOU_2021,
      CST,
    );
    expect(cost.costMicros).toBe(321_100 + 3 * 845_000 + 1_436_500);
    expect(cost.energyMj).toBe(5 * KWH);
    expect(cost.currency).toBe('CNY');
  });
});
