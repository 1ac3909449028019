/**
 * Server timestamps as epoch nanoseconds. Start and end events live in different streams, so
 * "did this stream end after this start was announced?" compares the server's receive times,
 * which share one clock; the platform's own startedAt/endedAt are optional and come from
 * other clocks. Nanoseconds because two events in the same millisecond are not rare at scale.
 */
export function isoToNanos(iso: string): bigint {
  const m = /^(.*?:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/.exec(iso);
  if (!m) throw new Error(`not an RFC 3339 timestamp: ${iso}`);
  const seconds = Date.parse(`${m[1]}${m[3]}`);
  if (Number.isNaN(seconds)) throw new Error(`not an RFC 3339 timestamp: ${iso}`);
  const fraction = BigInt((m[2] ?? '').slice(0, 9).padEnd(9, '0'));
  return BigInt(seconds) * 1_000_000n + fraction;
}

/** Monotonic milliseconds, for durations that must not jump with the wall clock. */
export function monotonicMs(): number {
  return performance.now();
}
