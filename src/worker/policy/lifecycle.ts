import type { CaseClosure } from '../../contracts/index.js';
import { closeCase, closed, withCase } from './cases.js';
import type { Effect, PolicyContext, PolicyResult, PolicyState } from './types.js';

/**
 * The stream ended: every open case closes (cause stream_ended). Not called when the worker
 * merely hands the stream on (shutdown, lost lease, re-announce): its cases stay open in KV for
 * the next holder.
 */
export function streamEnded(state: PolicyState, ctx: Pick<PolicyContext, 'workerId'>, now: number): PolicyResult {
  const closure: CaseClosure = { cause: 'stream_ended', at: new Date(now).toISOString() };
  const effects: Effect[] = [];
  let next = state;
  for (const c of state.cases) {
    if (c.state !== 'open') continue;
    const record = closeCase(c, closure, ctx, now);
    effects.push(closed(record));
    next = withCase(next, record);
  }
  return { state: next, effects };
}
