import { describe, expect, it } from 'vitest';
import { createHooks } from '../../src/domain/hooks.js';

interface Events {
  tick: { n: number };
  done: Record<string, never>;
}

describe('hooks (one typed event map, one safe emit)', () => {
  it('calls every listener of the event, in the order added, and removes them on request', () => {
    const seen: string[] = [];
    const hooks = createHooks<Events>(undefined, { tick: ({ n }) => seen.push(`a${n}`) });
    const off = hooks.on({ tick: ({ n }) => seen.push(`b${n}`), done: () => seen.push('done') });
    hooks.emit('tick', { n: 1 });
    off();
    hooks.emit('tick', { n: 2 });
    hooks.emit('done', {});
    expect(seen).toEqual(['a1', 'b1', 'a2']);
  });

  it('a listener that throws is logged and skipped; the emitter and the other listeners go on', () => {
    const logged: unknown[] = [];
    const logger = { error: (o: unknown) => logged.push(o) } as unknown as Parameters<typeof createHooks>[0];
    const seen: number[] = [];
    const hooks = createHooks<Events>(
      logger,
      {
        tick: () => {
          throw new Error('metrics bug');
        },
      },
      { tick: ({ n }) => seen.push(n) },
    );
    expect(() => hooks.emit('tick', { n: 7 })).not.toThrow();
    expect(seen).toEqual([7]);
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ hook: 'tick' });
  });
});
