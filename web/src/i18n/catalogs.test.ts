import { describe, expect, it } from 'vitest';
import { en } from './en.js';
import { zhCN } from './zh-cn.js';

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('console message catalogs', () => {
  it('English and zh-CN have the same keys', () => {
    expect(Object.keys(zhCN).sort()).toEqual(Object.keys(en).sort());
  });

  it('no message is empty in either language', () => {
    for (const [lang, catalog] of [['en', en], ['zh-CN', zhCN]] as const)
      for (const [key, value] of Object.entries(catalog)) expect(value.trim(), `${lang} ${key}`).not.toBe('');
  });

  it('each translation uses the same {placeholders} as the English', () => {
    for (const key of Object.keys(en) as (keyof typeof en)[]) expect(placeholders(zhCN[key]), key).toEqual(placeholders(en[key]));
  });

  it('zh-CN is translated: messages with letters differ from the English unless they are names or units', () => {
    const sameOnPurpose = new Set(['prices.pue', 'shape.gpus']); // an abbreviation and a unit, the same in Chinese
    const same = (Object.keys(en) as (keyof typeof en)[]).filter((k) => /[a-z]{3}/i.test(en[k]) && zhCN[k] === en[k] && !sameOnPurpose.has(k));
    expect(same).toEqual([]);
  });
});
