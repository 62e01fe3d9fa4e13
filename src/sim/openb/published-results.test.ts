import { describe, expect, it } from 'vitest';
import {
  PUBLISHED_OPENB,
  PUBLISHED_POLICIES,
  hasPublishedOpenb,
  publishedPodListName,
} from './published-results.js';

// Values from the 10-list table in shared/traces/README.md (unallocated GPU % at arrived 100%).
const README_TABLE: Record<string, number[]> = {
  default: [13.7, 9.38, 8.35, 8.22, 7.14, 4.77],
  cpu050: [10.98, 6.97, 6.48, 6.54, 6.44, 5.0],
  cpu200: [16.97, 12.55, 10.33, 10.02, 7.85, 5.18],
  gpushare100: [21.1, 18.02, 17.78, 17.87, 15.38, 13.36],
  multigpu30: [13.37, 6.89, 5.45, 5.3, 5.43, 3.64],
  gpuspec10: [13.74, 9.83, 8.04, 7.76, 6.9, 5.34],
};

describe('PUBLISHED_OPENB', () => {
  it('matches the README table', () => {
    for (const [list, values] of Object.entries(README_TABLE)) {
      const got = PUBLISHED_POLICIES.map((p) => PUBLISHED_OPENB[list]?.[p].unallocatedPctAt100);
      expect(got, list).toEqual(values);
    }
  });

  it('matches the README allocation % at 90/100/130 on default', () => {
    expect(PUBLISHED_OPENB.default?.['best-fit'].allocPctAt).toEqual({ '90': 89.99, '100': 92.86, '130': 93.08 });
    expect(PUBLISHED_OPENB.default?.fgd.allocPctAt).toEqual({ '90': 89.98, '100': 95.23, '130': 95.39 });
  });

  it('covers 17 pod lists, six policies each, with consistent numbers', () => {
    expect(Object.keys(PUBLISHED_OPENB)).toHaveLength(17);
    for (const [list, byPolicy] of Object.entries(PUBLISHED_OPENB)) {
      expect(Object.keys(byPolicy).sort(), list).toEqual([...PUBLISHED_POLICIES].sort());
      for (const run of Object.values(byPolicy)) {
        expect(Math.abs(run.unallocatedPctAt100 + run.allocPctAt['100'] - 100)).toBeLessThan(0.011);
        expect(run.sd).toBeGreaterThan(0);
        expect(run.sd).toBeLessThan(1);
      }
    }
  });

  it('normalises pod list names', () => {
    expect(publishedPodListName('../shared/traces/openb/openb_pod_list_gpushare40.csv')).toBe('gpushare40');
    expect(hasPublishedOpenb('openb_pod_list_default.csv')).toBe(true);
    expect(hasPublishedOpenb('cpu037')).toBe(false);
  });
});
