/** Quotes one argument for a POSIX shell (sh, bash): left bare when safe, else single-quoted. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
