import type { IngestConfig } from '../../config/index.js';
import type { PublisherTarget } from '../../contracts/index.js';

/** The connection to cut, as the bridge recorded it. */
export interface KickRequest {
  readonly ingest: IngestConfig;
  readonly streamId: string;
  readonly target: PublisherTarget;
  readonly killSwitchEventId: string;
}

/**
 * What the ingest said. `done`: it confirmed the publisher was dropped. `already_gone`: it has no
 * such publisher (ended, or dropped by an earlier attempt). `failed`: no confirmation; retryable
 * unless the call can never work as configured (no control API, a 4xx refusal).
 */
export type KickOutcome =
  | { readonly kind: 'done'; readonly detail: string }
  | { readonly kind: 'already_gone'; readonly detail: string }
  | { readonly kind: 'failed'; readonly retryable: boolean; readonly detail: string };

export interface KickClient {
  kick(request: KickRequest, signal: AbortSignal): Promise<KickOutcome>;
}

export type Control = NonNullable<IngestConfig['control']>;

/** Answers that can change on a later try: timeouts, rate limits, server errors. */
export function retryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

export function authHeaders(control: Control): Record<string, string> {
  if (control.username === undefined) return {};
  return { authorization: `Basic ${Buffer.from(`${control.username}:${control.password ?? ''}`).toString('base64')}` };
}

/** A fetch that never throws: network errors and timeouts become a retryable failure. */
export async function call(
  url: string,
  init: RequestInit,
  signal: AbortSignal,
): Promise<{ readonly ok: true; readonly status: number; readonly body: string } | { readonly ok: false; readonly detail: string }> {
  try {
    const res = await fetch(url, { ...init, signal, redirect: 'manual' });
    return { ok: true, status: res.status, body: (await res.text()).slice(0, 2000) };
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return { ok: false, detail: `${e.name === 'TimeoutError' ? 'timed out' : e.message}${e.cause?.code ? ` (${e.cause.code})` : ''}` };
  }
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}
