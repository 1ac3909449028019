import type { IngestKind } from '../../contracts/index.js';
import { genericAdapter } from './generic.js';
import type { IngestAdapter } from './hook.js';
import { mediamtxAdapter } from './mediamtx.js';
import { nginxRtmpAdapter } from './nginx-rtmp.js';
import { srsAdapter } from './srs.js';

export type { HookCall, HookReply, HookRequest, HookVerdict, IngestAdapter, ParsedHook } from './hook.js';

const ADAPTERS: Readonly<Record<IngestKind, IngestAdapter>> = {
  'nginx-rtmp': nginxRtmpAdapter,
  srs: srsAdapter,
  mediamtx: mediamtxAdapter,
  generic: genericAdapter,
};

export function adapterFor(kind: IngestKind): IngestAdapter {
  return ADAPTERS[kind];
}
