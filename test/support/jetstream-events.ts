import { readdirSync, readFileSync } from 'node:fs';
import { jetstream, jetstreamManager, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { expectContract } from './contract.js';

/**
 * Reads every event stored on `subject` of a JetStream stream, from the start, as it arrives.
 * Each one is checked against src/contracts/: a payload that breaks its contract fails the
 * next waitFor() and stop(), so every e2e test that reads events checks what the worker publishes.
 */
export interface EventCollector<T> {
  readonly events: T[];
  waitFor(predicate: (e: T) => boolean, timeoutMs: number): Promise<T>;
  stop(): Promise<void>;
}

export async function collectEvents<T>(nc: NatsConnection, stream: string, subject: string): Promise<EventCollector<T>> {
  const deadline = Date.now() + 10_000;
  const jsm = await jetstreamManager(nc);
  // The worker provisions its streams at start; wait for it rather than racing it.
  for (;;) {
    try {
      await jsm.streams.info(stream);
      break;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const consumer = await jetstream(nc).consumers.get(stream, { filter_subjects: subject });
  const messages = await consumer.consume();
  const events: T[] = [];
  const violations: Error[] = [];
  const waiters = new Set<() => void>();
  void (async () => {
    for await (const m of messages as AsyncIterable<JsMsg>) {
      const event = m.json<T>();
      try {
        expectContract(m.subject, event);
      } catch (err) {
        violations.push(err as Error);
      }
      events.push(event);
      for (const w of waiters) w();
    }
  })();
  return {
    events,
    waitFor: (predicate, timeoutMs) =>
      new Promise<T>((resolve, reject) => {
        const check = () => {
          if (violations.length > 0) {
            waiters.delete(check);
            clearTimeout(timer);
            reject(violations[0]!);
            return;
          }
          const hit = events.find(predicate);
          if (hit !== undefined) {
            waiters.delete(check);
            clearTimeout(timer);
            resolve(hit);
          }
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no matching event on ${subject} within ${timeoutMs} ms (saw ${events.length})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
    stop: async () => {
      await messages.close();
      if (violations.length > 0) throw violations[0]!;
    },
  };
}

/** Pids of running ffmpeg samplers (raw RGB to a pipe) reading `url`: none may outlive its stream. */
export function samplerPids(url: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmd: string;
    try {
      cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    const args = cmd.split('\0');
    // argv[0] only: the lifeline wrapper (sh) and its watcher carry the same arguments. The
    // ffmpeg that opens the URL: the decoder (rawvideo out), or in keyframe mode the remuxer
    // (-c copy to the keyframe relay).
    if (args[0]?.endsWith('ffmpeg') && args.includes(url) && (args.includes('rawvideo') || args.includes('copy'))) pids.push(Number(entry));
  }
  return pids;
}
