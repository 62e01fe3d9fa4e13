import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startText } from './commands/market.js';
import { UsageError } from './io.js';
import { buildQuoteRequest, buildReservationRequest, parseHours, parsePercentToPermille, parsePeriod, permilleText, type QuoteFlags, type ReserveFlags } from './market-args.js';
import { moneyText, parseCurrency, parseMicrosFlag, parseMoneyFlag } from './money-args.js';
import { buildSubmitRequest, type SubmitFlags } from './submit-args.js';
import { runCli } from './test-io.js';

describe('money flags', () => {
  it('parses decimal amounts into exact micro-units', () => {
    expect(parseMoneyFlag('--max-price', '3.5', 'CNY')).toEqual({ amountMicros: 3_500_000, currency: 'CNY' });
    expect(parseMoneyFlag('--max-price', '0.1', 'CNY').amountMicros).toBe(100_000); // not 100000.00000000001
    expect(parseMoneyFlag('--max-price', '0.000001', 'CNY').amountMicros).toBe(1);
    expect(parseMoneyFlag('--amount', '19.99', 'USD')).toEqual({ amountMicros: 19_990_000, currency: 'USD' });
    expect(parseMicrosFlag('--amount', '250000')).toBe(250_000_000_000);
    expect(parseMicrosFlag('--overhead', '0', { min: 0 })).toBe(0);
  });

  it.each([
    ['0', 'more than zero'],
    ['-1', 'more than zero'],
    ['1.0000001', 'at most 6 decimals'],
    ['3,5', 'amount like 3.5'],
    ['1e3', 'amount like 3.5'],
    ['', 'amount like 3.5'],
    ['abc', 'amount like 3.5'],
  ])('rejects amount %j', (raw, fragment) => {
    expect(() => parseMoneyFlag('--max-price', raw, 'CNY')).toThrowError(UsageError);
    expect(() => parseMoneyFlag('--max-price', raw, 'CNY')).toThrowError(fragment);
  });

  it('currencies are ISO codes; lower case is upper-cased', () => {
    expect(parseCurrency(undefined)).toBe('CNY');
    expect(parseCurrency('usd')).toBe('USD');
    expect(() => parseCurrency('yuan')).toThrowError('--currency');
  });

  it('formats money and per mille for people', () => {
    expect(moneyText({ amountMicros: 3_500_000, currency: 'CNY' })).toBe('CNY 3.50');
    expect(moneyText({ amountMicros: 125, currency: 'CNY' })).toBe('CNY 0.000125');
    expect(moneyText(null)).toBe('-');
    expect(permilleText(234)).toBe('23.4%');
    expect(permilleText(-94)).toBe('-9.4%');
  });
});

describe('buildQuoteRequest', () => {
  it('turns the example into a body with exact money', () => {
    expect(buildQuoteRequest({ gpuMilli: '500', model: ['H100'], tier: 'spot', hours: '2', maxPrice: '3.5' })).toEqual({
      gpuMilli: 500,
      model: 'H100',
      tier: 'spot',
      hours: 2,
      maxPricePerHour: { amountMicros: 3_500_000, currency: 'CNY' },
    });
  });

  it('several models become `models`; hours take decimals; the currency is chosen', () => {
    expect(buildQuoteRequest({ gpus: '2', model: ['H100,H800', 'H100'], hours: '0.5' })).toEqual({ gpus: 2, models: ['H100', 'H800'], hours: 0.5 });
    expect(buildQuoteRequest({ gpus: '1', tier: 'spot', hours: '1', maxPrice: '10', currency: 'usd' }).maxPricePerHour).toEqual({ amountMicros: 10_000_000, currency: 'USD' });
    expect(buildQuoteRequest({ gpus: '1', hours: '24' })).toEqual({ gpus: 1, hours: 24 });
  });

  it.each<[QuoteFlags, string]>([
    [{ gpuMilli: '500', hours: '-1' }, '--hours must be a positive number of hours'],
    [{ gpuMilli: '500', hours: '0' }, '--hours must be a positive number of hours'],
    [{ gpuMilli: '500', hours: 'two' }, '--hours must be a positive number of hours'],
    [{ gpuMilli: '500', hours: 'Infinity' }, '--hours'],
    [{ gpuMilli: '500' }, '--hours 2'],
    [{ hours: '1' }, '--gpu-milli 500'],
    [{ gpuMilli: '1000', hours: '1' }, '--gpu-milli'],
    [{ gpuMilli: '500', gpus: '1', hours: '1' }, 'not both'],
    [{ gpus: '1', tier: 'gold', hours: '1' }, '--tier'],
    [{ gpus: '1', hours: '1', maxPrice: '3.5' }, '--tier spot'],
    [{ gpus: '1', tier: 'on-demand', hours: '1', maxPrice: '3.5' }, '--tier spot'],
    [{ gpus: '1', tier: 'spot', hours: '1', maxPrice: '0' }, '--max-price must be more than zero'],
    [{ gpus: '1', tier: 'spot', hours: '1', maxPrice: '3.1234567' }, '--max-price'],
    [{ gpus: '1', tier: 'spot', hours: '1', maxPrice: '3', currency: 'yuan' }, '--currency'],
    [{ gpus: '1', hours: '1', model: [','] }, '--model'],
  ])('rejects %j', (flags, fragment) => {
    expect(() => buildQuoteRequest(flags)).toThrowError(UsageError);
    expect(() => buildQuoteRequest(flags)).toThrowError(fragment);
  });

  it('reports every problem at once', () => {
    expect(() => buildQuoteRequest({ gpus: '1.5', hours: '-2', maxPrice: 'x' })).toThrowError(/--gpus[\s\S]*--hours[\s\S]*--tier spot[\s\S]*--max-price/);
  });
});

describe('submit money flags', () => {
  it('--max-price with --tier spot is a bid per hour in exact micro-units; --no-requeue turns requeueing off', () => {
    const { body } = buildSubmitRequest({ gpuMilli: '500', tier: 'spot', maxPrice: '3.5', requeue: false }, ['x']);
    expect(body).toMatchObject({ tier: 'spot', maxPricePerHour: { amountMicros: 3_500_000, currency: 'CNY' }, requeueOnPreemption: false });
    expect(buildSubmitRequest({ gpus: '1', tier: 'spot', maxPrice: '0.3', currency: 'usd' }, ['x']).body.maxPricePerHour).toEqual({ amountMicros: 300_000, currency: 'USD' });
    // commander's default for --no-requeue is true: nothing is sent, the server's default applies
    const plain = buildSubmitRequest({ gpus: '1', requeue: true }, ['x']).body;
    expect(plain).not.toHaveProperty('requeueOnPreemption');
    expect(plain).not.toHaveProperty('maxPricePerHour');
  });

  it.each<[SubmitFlags, string]>([
    [{ gpus: '1', maxPrice: '3.5' }, '--tier spot'],
    [{ gpus: '1', tier: 'reserved', maxPrice: '3.5' }, '--tier spot'],
    [{ gpus: '1', tier: 'spot', maxPrice: '-3.5' }, '--max-price must be more than zero'],
    [{ gpus: '1', tier: 'spot', maxPrice: 'cheap' }, '--max-price'],
    [{ gpus: '1', tier: 'spot', maxPrice: '3', currency: 'RMB1' }, '--currency'],
  ])('rejects %j', (flags, fragment) => {
    expect(() => buildSubmitRequest(flags, ['x'])).toThrowError(UsageError);
    expect(() => buildSubmitRequest(flags, ['x'])).toThrowError(fragment);
  });
});

describe('other selling and billing flags', () => {
  it('reservations: shape, term, lending and start', () => {
    expect(buildReservationRequest({ model: 'H100', gpus: '2', hours: '720' })).toEqual({ body: { model: 'H100', gpus: 2, hours: 720 }, idempotencyKey: undefined });
    expect(buildReservationRequest({ model: 'H100', gpuMilli: '1500', hours: '0.5', lendingLimitMilli: '0', start: '2030-01-01T00:00:00Z', idempotencyKey: 'k' })).toEqual({
      body: { model: 'H100', gpuMilli: 1500, hours: 0.5, lendingLimitMilli: 0, startAt: Date.UTC(2030, 0, 1) },
      idempotencyKey: 'k',
    });
  });

  it.each<[ReserveFlags, string]>([
    [{ gpus: '1', hours: '1' }, '--model H100'],
    [{ model: 'H100,H800', gpus: '1', hours: '1' }, 'one model'],
    [{ model: 'H100', hours: '1' }, '--gpus 2'],
    [{ model: 'H100', gpus: '1', gpuMilli: '500', hours: '1' }, 'not both'],
    [{ model: 'H100', gpus: '0', hours: '1' }, '--gpus'],
    [{ model: 'H100', gpus: '1' }, '--hours 720'],
    [{ model: 'H100', gpus: '1', hours: '-5' }, '--hours must be a positive number of hours'],
    [{ model: 'H100', gpus: '1', hours: '1', lendingLimitMilli: '-1' }, '--lending-limit-milli'],
    [{ model: 'H100', gpus: '1', hours: '1', start: 'tomorrow' }, '--start'],
  ])('rejects reservation %j', (flags, fragment) => {
    expect(() => buildReservationRequest(flags)).toThrowError(UsageError);
    expect(() => buildReservationRequest(flags)).toThrowError(fragment);
  });

  it('hours, percentages, invoice periods and start times', () => {
    expect(parseHours('0.25')).toBe(0.25);
    expect(parseHours('720')).toBe(720);
    expect(parsePercentToPermille('--utilization', '60')).toBe(600);
    expect(parsePercentToPermille('--utilization', '62.5')).toBe(625);
    expect(parsePercentToPermille('--utilization', '100')).toBe(1000);
    for (const bad of ['0', '101', '60%', '0.05', 'x']) expect(() => parsePercentToPermille('--utilization', bad)).toThrowError('--utilization');
    expect(parsePeriod('2026-03')).toBe('2026-03');
    for (const bad of ['2026-13', '2026-3', 'March']) expect(() => parsePeriod(bad)).toThrowError('YYYY-MM');
    expect(startText(null, 1000)).toBe('no estimate');
    expect(startText(1000, 1000)).toBe('now');
    expect(startText(1000 + 90 * 60_000, 1000)).toMatch(/\(in 1h30m\)$/);
  });
});

describe('bad selling and billing flags never reach the server', () => {
  let server: Server;
  let requests = 0;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    server = createServer((_req, res) => {
      requests++;
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    env = { UNIDLE_SERVER: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, UNIDLE_API_KEY: 'unk_000000000000_aaaaaaaaaaaaaaaaaaaa', XDG_CONFIG_HOME: '/nonexistent' };
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it.each([
    ['quote', '--gpu-milli', '500', '--model', 'H100', '--hours', '-1'],
    ['quote', '--gpus', '1', '--hours', '2', '--max-price', '3.5'],
    ['quote', '--gpus', '1', '--tier', 'spot', '--hours', '2', '--max-price', '1.2.3'],
    ['submit', '--gpus', '1', '--max-price', '3.5', '--', 'x'],
    ['submit', '--gpus', '1', '--tier', 'spot', '--max-price', '0', '--', 'x'],
    ['prices', 'set', 'H100', '--list', 'free'],
    ['prices', 'set', 'H100', '--utilization', '150'],
    ['prices', 'set', 'H100'],
    ['prices', 'policy', 'auction'],
    ['prices', 'policy', 'time-of-use', '--params', 'not json'],
    ['reserve', '--model', 'H100', '--gpus', '1'],
    ['reserve', '--model', 'H100', '--gpus', '1', '--hours', '0'],
    ['budget'],
    ['budget', '--limit', '5', '--none'],
    ['budget', '--limit', 'lots'],
    ['top-up', '--tenant', 'ten_01J0000000000000000000000A'],
    ['top-up', '--tenant', 'ten_01J0000000000000000000000A', '--amount', '-5'],
    ['refund', '--tenant', 'ten_01J0000000000000000000000A', '--amount', '1'],
    ['refund', '--tenant', 'ten_01J0000000000000000000000A', '--reason', 'x'],
    ['billing-mode', 'credit'],
    ['invoice', 'March'],
    ['invoice', '2026-03', '--json', '--html', 'x.html'],
    ['report', '--from', 'yesterday'],
    ['report', '--from', '2026-03-02', '--to', '2026-03-01'],
  ])('%s %s %s … → exit 2', async (...argv) => {
    const run = await runCli(argv, env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/error/);
    expect(requests).toBe(0);
  });

  it('--help works for every new command and exits 0', async () => {
    for (const argv of [['quote'], ['prices'], ['prices', 'set'], ['prices', 'policy'], ['reserve'], ['reservations'], ['balance'], ['budget'], ['billing-mode'], ['top-up'], ['refund'], ['invoice'], ['report'], ['trial-balance']]) {
      const run = await runCli([...argv, '--help'], env);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Examples:');
    }
    expect(requests).toBe(0);
  });
});
