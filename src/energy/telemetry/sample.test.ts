import { describe, expect, it } from 'vitest';
import { decimalToScaledInt, TelemetryFormatError, TelemetrySourceError } from './sample.js';

describe('decimalToScaledInt', () => {
  it('shifts decimal digits exactly (W → mW)', () => {
    expect(decimalToScaledInt('80.23', 3)).toBe(80_230);
    expect(decimalToScaledInt('0.29', 3)).toBe(290);
    expect(decimalToScaledInt('691.042000', 3)).toBe(691_042);
    expect(decimalToScaledInt('700', 3)).toBe(700_000);
    expect(decimalToScaledInt('.5', 3)).toBe(500);
    expect(decimalToScaledInt('5.', 3)).toBe(5_000);
    expect(decimalToScaledInt('+1.5', 0)).toBe(2);
    expect(decimalToScaledInt('-1.5', 0)).toBe(-2);
    expect(decimalToScaledInt('-0.0001', 3)).toBe(0);
    expect(decimalToScaledInt('007.25', 1)).toBe(73);
  });

  it('reads exponents', () => {
    expect(decimalToScaledInt('1.5e+10', 0)).toBe(15_000_000_000);
    expect(decimalToScaledInt('6.9104e2', 3)).toBe(691_040);
    expect(decimalToScaledInt('2.5E-3', 3)).toBe(3);
    expect(decimalToScaledInt('1e-9999', 3)).toBe(0);
    expect(decimalToScaledInt('0e9999', 3)).toBe(0);
  });

  it('rounds half away from zero beyond the scale', () => {
    expect(decimalToScaledInt('1.0005', 3)).toBe(1_001);
    expect(decimalToScaledInt('1.00049999', 3)).toBe(1_000);
    expect(decimalToScaledInt('-1.0005', 3)).toBe(-1_001);
  });

  it('refuses non-numbers and values beyond safe integers', () => {
    for (const bad of ['', ' ', '.', 'e5', '1..2', '1,5', '0x10', 'NaN', 'Inf', '80.23 W', '1e99999']) expect(decimalToScaledInt(bad, 3)).toBeUndefined();
    expect(decimalToScaledInt('9007199254740991', 0)).toBe(Number.MAX_SAFE_INTEGER);
    expect(decimalToScaledInt('9007199254740992', 0)).toBeUndefined();
    expect(decimalToScaledInt('1e40', 0)).toBeUndefined();
  });
});

describe('telemetry errors', () => {
  it('name the source, line and field', () => {
    const err = new TelemetryFormatError('nvidia-smi', '"x" is not a number', { line: 3, field: 'power.draw', text: '0, GPU-a, x' });
    expect(err.message).toBe('nvidia-smi output line 3, field power.draw: "x" is not a number (line: "0, GPU-a, x")');
    expect(err).toMatchObject({ name: 'TelemetryFormatError', source: 'nvidia-smi', line: 3, field: 'power.draw' });
    expect(new TelemetryFormatError('npu-smi', 'no table').message).toBe('npu-smi output: no table');
    expect(new TelemetryFormatError('x', 'long', { line: 1, text: 'a'.repeat(500) }).message.length).toBeLessThan(200);
    const cause = new Error('ENOENT');
    expect(new TelemetrySourceError('nvidia-smi', 'missing', { cause })).toMatchObject({ name: 'TelemetrySourceError', source: 'nvidia-smi', cause });
  });
});
