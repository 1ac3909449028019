/** An outbound event as the bytes that are published (and kept, where a copy is kept). */
export interface EncodedEvent {
  readonly payload: string;
  /** The event's platform metadata could not be serialised and was left out. */
  readonly metadataOmitted: boolean;
}

/**
 * JSON for an outbound event. Decisions carry the stream start's platform metadata, which is
 * the platform's data, not ours: whatever it holds (nesting past the stack of JSON.stringify, a
 * value JSON cannot represent), a kill-switch must still go out. If the event does not serialise
 * with it, it is serialised without it and says so; an event that fails for any other reason is
 * a bug, and throws.
 */
export function encodeEvent(event: object): EncodedEvent {
  try {
    return { payload: JSON.stringify(event), metadataOmitted: false };
  } catch (err) {
    if (!('metadata' in event)) throw err;
    const { metadata: _omitted, ...rest } = event as Record<string, unknown>;
    return { payload: JSON.stringify(rest), metadataOmitted: true };
  }
}
