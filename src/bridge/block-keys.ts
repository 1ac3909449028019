import { blockKey, streamKeyValue, type PublisherTarget } from '../contracts/index.js';

/** Every block that could refuse this publish: its key, its stream id, its address. */
export function blockKeysFor(target: PublisherTarget, streamId: string): string[] {
  return [
    blockKey('key', streamKeyValue(target)),
    blockKey('stream', streamId),
    ...(target.publisherIp ? [blockKey('ip', target.publisherIp)] : []),
  ];
}
