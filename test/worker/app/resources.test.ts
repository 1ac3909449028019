import { describe, expect, it } from 'vitest';
import { CloseError, createResourceStack } from '../../../src/worker/app/resources.js';

describe('resource stack', () => {
  it('closes in reverse opening order', async () => {
    const closed: string[] = [];
    const stack = createResourceStack();
    for (const name of ['stages', 'nats', 'metrics']) stack.push(name, name, (n) => void closed.push(n));
    expect(stack.open).toEqual(['stages', 'nats', 'metrics']);
    await stack.close();
    expect(closed).toEqual(['metrics', 'nats', 'stages']);
    expect(stack.open).toEqual([]);
  });

  it('goes on past failures and throws one CloseError listing each of them', async () => {
    const closed: string[] = [];
    const stack = createResourceStack();
    stack.push('a', 'a', () => void closed.push('a'));
    stack.push('b', 'b', () => Promise.reject(new Error('b broke')));
    stack.push('c', 'c', () => {
      throw new Error('c broke');
    });
    const err = await stack.close().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CloseError);
    expect((err as CloseError).code).toBe('close_failed');
    expect((err as CloseError).errors.map((e: Error) => e.message)).toEqual(['closing c failed: c broke', 'closing b failed: b broke']);
    expect(closed).toEqual(['a']);
  });

  it('closes once however often it is asked, and refuses new resources after', async () => {
    let n = 0;
    const stack = createResourceStack();
    stack.push('x', 1, () => void n++);
    await Promise.all([stack.close(), stack.close()]);
    await stack.close();
    expect(n).toBe(1);
    expect(() => stack.push('late', 2, () => undefined)).toThrow(/closed/);
  });
});
