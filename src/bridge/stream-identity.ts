import { createHash } from 'node:crypto';
import { STREAM_ID_PATTERN, streamKeyValue, type PublisherTarget } from '../contracts/index.js';
import type { IngestConfig } from '../config/index.js';
import { redactUrl } from '../domain/redact.js';
import { encodeIdValue, encodeUrlValue, renderTemplate, type TemplateValues } from '../domain/template.js';

/** What a publish is called on NATS and where workers pull it from. */
export interface StreamIdentity {
  readonly streamId: string;
  readonly url: string;
  readonly urlRedacted: string;
  readonly nameRedacted: string;
}

export type Identified = { readonly ok: true; readonly value: StreamIdentity } | { readonly ok: false; readonly issues: readonly string[] };

/**
 * The stream id and pull URL of a publish, from the ingest's templates. The same stream key on
 * the same ingest always gets the same id, so the end of a publish, its blocks and a reconnect
 * all refer to one id.
 */
export function identify(
  ingest: Pick<IngestConfig, 'id' | 'pullUrl' | 'streamId'>,
  target: PublisherTarget,
  args: Readonly<Record<string, string>>,
): Identified {
  const values: TemplateValues = {
    fields: {
      ingest: ingest.id,
      app: target.app ?? '',
      name: target.name,
      nameHash: nameHash(target),
      vhost: target.vhost ?? '',
      clientId: target.clientId,
      connectionId: target.connectionId,
      protocol: target.protocol,
    },
    args,
  };
  const id = renderTemplate(ingest.streamId, values, encodeIdValue);
  const url = renderTemplate(ingest.pullUrl, values, encodeUrlValue);
  const issues = [
    ...(id.ok ? [] : [`streamId template: the hook gave no ${id.missing.join(', ')}`]),
    ...(url.ok ? [] : [`pullUrl template: the hook gave no ${url.missing.join(', ')}`]),
  ];
  if (!id.ok || !url.ok) return { ok: false, issues };
  // Ids become subject tokens: too long is cut (the digest part is kept by the default template's order).
  const streamId = id.value.slice(0, 128);
  if (!STREAM_ID_PATTERN.test(streamId)) return { ok: false, issues: [`streamId "${streamId}" is not a valid stream id`] };
  const nameRedacted = redactName(target.name);
  const urlRedacted = redactUrl(url.value.split(encodeUrlValue(target.name)).join(encodeUrlValue(nameRedacted)));
  return { ok: true, value: { streamId, url: url.value, urlRedacted, nameRedacted } };
}

/** 16 hex digits of sha256(app/name): stable per stream key, says nothing about it. */
export function nameHash(target: Pick<PublisherTarget, 'app' | 'name'>): string {
  return createHash('sha256').update(streamKeyValue(target)).digest('hex').slice(0, 16);
}

/** `live/abcdef` -> `live/ab***`: path segments before the last stay, the key itself is masked. */
export function redactName(name: string): string {
  const cut = name.lastIndexOf('/');
  const prefix = name.slice(0, cut + 1);
  const last = name.slice(cut + 1);
  return `${prefix}${last.length > 4 ? last.slice(0, 2) : ''}***`;
}
