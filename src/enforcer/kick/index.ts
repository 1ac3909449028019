import type { IngestKind } from '../../contracts/index.js';
import { genericKick } from './generic.js';
import type { KickClient } from './kick.js';
import { mediamtxKick } from './mediamtx.js';
import { nginxRtmpKick } from './nginx-rtmp.js';
import { srsKick } from './srs.js';

export type { KickClient, KickOutcome, KickRequest } from './kick.js';

const CLIENTS: Readonly<Record<IngestKind, KickClient>> = {
  'nginx-rtmp': nginxRtmpKick,
  srs: srsKick,
  mediamtx: mediamtxKick,
  generic: genericKick,
};

export function kickClientFor(kind: IngestKind): KickClient {
  return CLIENTS[kind];
}
