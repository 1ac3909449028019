/**
 * A stage's options: its defaults overlaid with the values given. Keys given as `undefined`
 * keep the default, so callers can pass optional config values straight through.
 */
export function withDefaults<T extends object>(defaults: T, given: Partial<T> = {}): T {
  const defined = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== undefined));
  return { ...defaults, ...defined };
}
