import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { en, type MessageKey } from './en.js';
import { zhCN } from './zh-cn.js';

export type Locale = 'en' | 'zh-CN';
export const LOCALES: { id: Locale; label: string }[] = [
  { id: 'en', label: 'English' },
  { id: 'zh-CN', label: '中文' },
];
const CATALOGS: Record<Locale, Record<MessageKey, string>> = { en, 'zh-CN': zhCN };
const STORAGE_KEY = 'unidle.locale';

export type Vars = Record<string, string | number>;
export interface Money {
  amountMicros: number;
  currency: string;
}

function initialLocale(): Locale {
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved === 'en' || saved === 'zh-CN') return saved;
  } catch {
    // storage unavailable (privacy mode): fall back to the browser's language
  }
  return navigator.language?.toLowerCase().startsWith('zh') ? 'zh-CN' : 'en';
}

/** Replaces {name} in a message with vars.name. */
export function interpolate(message: string, vars?: Vars): string {
  if (!vars) return message;
  return message.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

export interface Formatters {
  locale: Locale;
  number(n: number | null | undefined, digits?: number): string;
  percent(fraction: number | null | undefined, digits?: number): string;
  /** Money in micro-units; amounts under one unit keep up to 4 decimals so small charges do not read as 0. */
  money(m: Money | null | undefined, opts?: { precise?: boolean }): string;
  dateTime(ms: number | null | undefined): string;
  time(ms: number | null | undefined): string;
  date(ms: number | null | undefined): string;
  duration(ms: number | null | undefined): string;
  relative(ms: number | null | undefined, now?: number): string;
}

export function makeFormatters(locale: Locale): Formatters {
  const cache = new Map<string, Intl.NumberFormat>();
  const nf = (key: string, make: () => Intl.NumberFormat) => {
    let f = cache.get(key);
    if (!f) cache.set(key, (f = make()));
    return f;
  };
  const dtf = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'medium' });
  const tf = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit' });
  const df = new Intl.DateTimeFormat(locale, { dateStyle: 'medium' });
  const rtf = new Intl.RelativeTimeFormat(locale, { numeric: 'auto' });
  const dash = '—';
  return {
    locale,
    number: (n, digits = 0) => (n === null || n === undefined || !Number.isFinite(n) ? dash : nf(`n${digits}`, () => new Intl.NumberFormat(locale, { maximumFractionDigits: digits, minimumFractionDigits: 0 })).format(n)),
    percent: (x, digits = 0) => (x === null || x === undefined || !Number.isFinite(x) ? dash : nf(`p${digits}`, () => new Intl.NumberFormat(locale, { style: 'percent', maximumFractionDigits: digits })).format(x)),
    money: (m, opts) => {
      if (!m) return dash;
      const value = m.amountMicros / 1_000_000;
      const small = Math.abs(value) > 0 && Math.abs(value) < 1;
      const max = opts?.precise ? 6 : small ? 4 : 2;
      return nf(`m${m.currency}${max}`, () => new Intl.NumberFormat(locale, { style: 'currency', currency: m.currency, currencyDisplay: 'narrowSymbol', minimumFractionDigits: 2, maximumFractionDigits: max })).format(value);
    },
    dateTime: (ms) => (ms === null || ms === undefined ? dash : dtf.format(ms)),
    time: (ms) => (ms === null || ms === undefined ? dash : tf.format(ms)),
    date: (ms) => (ms === null || ms === undefined ? dash : df.format(ms)),
    duration: (ms) => {
      if (ms === null || ms === undefined || !Number.isFinite(ms)) return dash;
      const s = Math.max(0, Math.round(ms / 1000));
      const h = Math.floor(s / 3600);
      const m = Math.floor((s % 3600) / 60);
      const sec = s % 60;
      const unit = (v: number, u: 'hour' | 'minute' | 'second') => new Intl.NumberFormat(locale, { style: 'unit', unit: u, unitDisplay: 'narrow' }).format(v);
      if (h > 0) return `${unit(h, 'hour')} ${unit(m, 'minute')}`;
      if (m > 0) return `${unit(m, 'minute')} ${unit(sec, 'second')}`;
      return unit(sec, 'second');
    },
    relative: (ms, now = Date.now()) => {
      if (ms === null || ms === undefined) return dash;
      const diff = (ms - now) / 1000;
      const abs = Math.abs(diff);
      if (abs < 60) return rtf.format(Math.round(diff), 'second');
      if (abs < 3600) return rtf.format(Math.round(diff / 60), 'minute');
      if (abs < 86400) return rtf.format(Math.round(diff / 3600), 'hour');
      return rtf.format(Math.round(diff / 86400), 'day');
    },
  };
}

export interface I18n {
  locale: Locale;
  setLocale(l: Locale): void;
  t(key: MessageKey, vars?: Vars): string;
  f: Formatters;
}

const I18nContext = createContext<I18n | null>(null);

export function I18nProvider({ children }: { children: ReactNode }) {
  const [locale, setLocaleState] = useState<Locale>(initialLocale);
  useEffect(() => {
    document.documentElement.lang = locale;
  }, [locale]);
  const setLocale = useCallback((l: Locale) => {
    setLocaleState(l);
    try {
      localStorage.setItem(STORAGE_KEY, l);
    } catch {
      // not remembered, but still switched
    }
  }, []);
  const value = useMemo<I18n>(() => {
    const catalog = CATALOGS[locale];
    return { locale, setLocale, t: (key, vars) => interpolate(catalog[key] ?? en[key] ?? key, vars), f: makeFormatters(locale) };
  }, [locale, setLocale]);
  return <I18nContext.Provider value={value}>{children}</I18nContext.Provider>;
}

export function useI18n(): I18n {
  const v = useContext(I18nContext);
  if (!v) throw new Error('useI18n outside I18nProvider');
  return v;
}
