import type { IngestKind, PublisherTarget } from '../../contracts/index.js';

/**
 * One ingest callback, read into what the bridge acts on. Each ingest has its own format
 * (nginx-rtmp form fields, SRS and MediaMTX JSON, the generic signed JSON); the adapters in this
 * folder turn them into this value and turn the bridge's answer back into what that ingest
 * understands, so the bridge itself knows no ingest.
 */
export type HookCall =
  /** A broadcaster wants to publish: allow or refuse. */
  | { readonly call: 'publish'; readonly target: PublisherTarget; readonly args: Readonly<Record<string, string>> }
  /** A publish ended (nginx on_publish_done, SRS on_unpublish, MediaMTX runOnNotReady). */
  | { readonly call: 'unpublish'; readonly target: PublisherTarget; readonly args: Readonly<Record<string, string>> }
  /** Anything else the ingest asks (plays, connects, MediaMTX reads): not ours to refuse. */
  | { readonly call: 'other'; readonly detail: string };

export type ParsedHook = { readonly ok: true; readonly hook: HookCall } | { readonly ok: false; readonly issues: readonly string[] };

/** What the bridge decided; each adapter writes it in its ingest's terms. */
export type HookVerdict =
  | { readonly allow: true }
  | { readonly allow: false; readonly reason: 'blocked' | 'unavailable' | 'unauthorized' | 'invalid'; readonly detail: string };

export interface HookReply {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
}

export interface HookRequest {
  /** The last URL segment (`/hooks/<ingest>/<event>`), when there is one. */
  readonly event?: string;
  /** The parsed body (form fields or JSON). */
  readonly body: unknown;
  /** Query arguments of the hook URL itself (token removed). */
  readonly query: Readonly<Record<string, string>>;
}

export interface IngestAdapter {
  readonly kind: IngestKind;
  parse(request: HookRequest): ParsedHook;
  reply(verdict: HookVerdict): HookReply;
}

/** Form fields and JSON values as strings; repeated form fields keep their first value. */
export function text(v: unknown): string | undefined {
  if (Array.isArray(v)) return text(v[0]);
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return undefined;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `?a=1&b=2` or `a=1&b=2` into a plain object (first value of a repeated key). */
export function queryArgs(q: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!q) return out;
  for (const [k, v] of new URLSearchParams(q.startsWith('?') ? q.slice(1) : q)) if (!(k in out)) out[k] = v;
  return out;
}

/** Drops undefined values, so optional contract fields are absent rather than `undefined`. */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as T;
}
