import type { LeaseAnomaly } from './lease.js';
import { monotonicMs } from './time.js';

/** What lease health tracks: the entry anomalies lease.ts repairs, and two workers taking turns on a stream. */
export type LeaseIssue = LeaseAnomaly | 'flapping';

/**
 * Ownership changes of one stream (lost to another worker, taken over from one) within the
 * window that make it "flapping": two workers taking turns. A takeover after a dead worker or an
 * outage is one change, a partition that heals two; a third within two minutes is no accident.
 */
const FLAP_CHANGES = 3;

/**
 * Lease health as readiness and alerts see it: an issue counts for `windowMs` after it was last
 * seen, so one that was repaired clears by itself and one that keeps happening keeps the worker
 * not ready. Clock injectable for tests.
 */
export class LeaseHealth {
  private readonly seen = new Map<string, { readonly issue: LeaseIssue; readonly streamId: string; at: number; count: number }>();
  private readonly changes = new Map<string, number[]>();

  constructor(
    private readonly windowMs: number,
    private readonly now: () => number = monotonicMs,
  ) {}

  /** Records an issue on a stream's lease. */
  record(streamId: string, issue: LeaseIssue): void {
    const key = `${issue}\u0000${streamId}`;
    const t = this.now();
    const prev = this.seen.get(key);
    if (prev && t - prev.at < this.windowMs) {
      prev.at = t;
      prev.count++;
    } else {
      this.seen.set(key, { issue, streamId, at: t, count: 1 });
    }
  }

  /**
   * The stream changed hands between this worker and another (lost to it, or taken over from
   * it). Returns 'flapping' (and records it) when that makes FLAP_CHANGES within the window.
   */
  ownershipChanged(streamId: string): LeaseIssue | undefined {
    const t = this.now();
    const recent = (this.changes.get(streamId) ?? []).filter((at) => t - at < this.windowMs);
    recent.push(t);
    this.changes.set(streamId, recent);
    if (recent.length < FLAP_CHANGES) return undefined;
    this.record(streamId, 'flapping');
    return 'flapping';
  }

  /** Issues seen within the window, for readiness (`vanished on s1 (2x)`); empty when healthy. */
  problems(): string[] {
    const t = this.now();
    const out: string[] = [];
    for (const [key, v] of this.seen) {
      if (t - v.at >= this.windowMs) {
        this.seen.delete(key);
        continue;
      }
      out.push(`lease ${v.issue} on ${v.streamId}${v.count > 1 ? ` (${v.count}x)` : ''}`);
    }
    for (const [streamId, times] of this.changes) if (times.every((at) => t - at >= this.windowMs)) this.changes.delete(streamId);
    return out;
  }
}
