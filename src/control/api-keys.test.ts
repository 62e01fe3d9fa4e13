import { describe, expect, it } from 'vitest';
import { hashKey, mintKey, parseKey, sameHash } from './api-keys.js';
import { createHarness } from '../test-support/control-harness.js';
import { seedDemo } from './demo-seed.js';

describe('API keys', () => {
  it('mints keys whose prefix finds the row and whose hash verifies', () => {
    const k = mintKey();
    expect(k.key).toMatch(/^unk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$/);
    expect(parseKey(k.key)).toEqual({ prefix: k.prefix });
    expect(sameHash(hashKey(k.key), k.hash)).toBe(true);
    expect(sameHash(hashKey(`${k.key}x`), k.hash)).toBe(false);
  });

  it('accepts operator-chosen secrets of any form, but not short or spaced ones', () => {
    expect(parseKey('correct-horse-battery-staple')?.prefix).toMatch(/^h[0-9a-f]{11}$/);
    expect(parseKey('short')).toBeUndefined();
    expect(parseKey('has a space in the middle')).toBeUndefined();
  });

  it('stores UNIDLE_ADMIN_KEY / UNIDLE_DEMO_KEY once and accepts them from then on', async () => {
    const h = await createHarness('sqlite');
    try {
      const first = await seedDemo(h.control, { adminKey: 'my-own-operator-secret', demoKey: 'my-own-demo-secret-123' });
      const again = await seedDemo(h.control, { adminKey: 'my-own-operator-secret', demoKey: 'my-own-demo-secret-123' });
      expect(first.operatorKey).toBe('my-own-operator-secret');
      expect(again.demoKey).toBe('my-own-demo-secret-123');
      expect((await h.control.keys.authenticate('my-own-operator-secret')).role).toBe('operator');
      expect((await h.control.keys.authenticate('my-own-demo-secret-123')).role).toBe('tenant-admin');
      await expect(h.control.keys.authenticate('my-own-demo-secret-124')).rejects.toMatchObject({ code: 'unauthorized' });
    } finally {
      await h.dispose();
    }
  });
});
