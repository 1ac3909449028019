/**
 * Keyframes-only decoding without the decoder's reorder delay.
 *
 * FFmpeg's H.264 decoder holds `max_num_reorder_frames` pictures (the SPS says 2 for a stream with
 * two B-frames) before it outputs one. Decoding every frame that is a few frames; decoding only
 * keyframes it is that many keyframes: two GOPs (4 s at a 2 s GOP) before each keyframe came out
 * (measured by npm run bench:load). An end-of-sequence NAL unit arriving as a packet of its own
 * makes the decoder output what it holds, so in keyframe mode one ffmpeg remuxes the source to FLV
 * (no decoding), this relay passes on the stream's header, metadata, decoder configuration and
 * keyframes only, each keyframe followed by an end-of-sequence packet, and a second ffmpeg
 * (`-flags low_delay -threads 1`) decodes them: each keyframe comes out as soon as it is in.
 *
 * FLV (Adobe's "Video File Format Specification" v10): a 9-byte header and a 4-byte previous-tag
 * size, then tags of 11 header bytes (type, 24-bit size, 24+8-bit timestamp, stream id), the
 * data, and the 4-byte size of the tag. An AVC video tag's data starts with frame type and codec
 * (4 bits each), the AVC packet type (0 decoder configuration, 1 NAL units) and a 24-bit
 * composition time; NAL units are length-prefixed (the configuration record says how long the
 * prefix is).
 */

const HEADER_BYTES = 9 + 4;
const TAG_HEADER_BYTES = 11;
const TAG_VIDEO = 9;
const FRAME_KEY = 1;
const CODEC_AVC = 7;
const AVC_CONFIG = 0;
const AVC_NALU = 1;
/** NAL unit type 10: end of sequence. */
const NAL_END_OF_SEQUENCE = 0x0a;
/** A tag larger than this is not FLV from our remuxer: stop rather than buffer without bound. */
const MAX_TAG_BYTES = 32 * 2 ** 20;

export class FlvRelayError extends Error {
  override readonly name = 'FlvRelayError';
}

export interface FlvRelayStats {
  readonly keyframes: number;
  readonly dropped: number;
}

export class FlvKeyframeRelay {
  #buffer: Buffer = Buffer.alloc(0);
  #headerDone = false;
  /** Bytes of the NAL length prefix, from the decoder configuration (4 unless it says otherwise). */
  #nalLengthBytes = 4;
  #keyframes = 0;
  #dropped = 0;

  get stats(): FlvRelayStats {
    return { keyframes: this.#keyframes, dropped: this.#dropped };
  }

  /** Feeds remuxer output; returns what to pass to the decoder (whole tags only). */
  push(chunk: Buffer): Buffer[] {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const out: Buffer[] = [];
    let pos = 0;
    const buf = this.#buffer;
    if (!this.#headerDone) {
      if (buf.length < HEADER_BYTES) return out;
      if (buf.toString('latin1', 0, 3) !== 'FLV') throw new FlvRelayError('not an FLV stream');
      out.push(buf.subarray(0, HEADER_BYTES));
      pos = HEADER_BYTES;
      this.#headerDone = true;
    }
    while (buf.length - pos >= TAG_HEADER_BYTES) {
      const size = buf.readUIntBE(pos + 1, 3);
      const total = TAG_HEADER_BYTES + size + 4;
      if (total > MAX_TAG_BYTES) throw new FlvRelayError(`FLV tag of ${size} bytes`);
      if (buf.length - pos < total) break;
      const tag = buf.subarray(pos, pos + total);
      pos += total;
      out.push(...this.#forward(tag, size));
    }
    // Keep only the unfinished tag (copied, so the chunk it came from can be freed).
    this.#buffer = pos === buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
    return out;
  }

  #forward(tag: Buffer, size: number): Buffer[] {
    if (tag[0] !== TAG_VIDEO || size < 5) return [tag];
    const data = tag.subarray(TAG_HEADER_BYTES, TAG_HEADER_BYTES + size);
    const frameType = data[0]! >> 4;
    const codec = data[0]! & 0x0f;
    // Not H.264 (or an extended header): passed on as it is, decoded in full by the decoder.
    if (codec !== CODEC_AVC) return [tag];
    const packetType = data[1];
    if (packetType === AVC_CONFIG) {
      // AVCDecoderConfigurationRecord: byte 4 holds lengthSizeMinusOne in its low two bits.
      if (size >= 5 + 5) this.#nalLengthBytes = (data[5 + 4]! & 0x03) + 1;
      return [tag];
    }
    if (packetType !== AVC_NALU) return [tag];
    if (frameType !== FRAME_KEY) {
      this.#dropped++;
      return [];
    }
    this.#keyframes++;
    return [tag, this.#endOfSequence(tag)];
  }

  /** A video tag holding one end-of-sequence NAL unit, with the keyframe's timestamp. */
  #endOfSequence(keyTag: Buffer): Buffer {
    const n = this.#nalLengthBytes;
    const dataSize = 5 + n + 1;
    const tag = Buffer.alloc(TAG_HEADER_BYTES + dataSize + 4);
    tag[0] = TAG_VIDEO;
    tag.writeUIntBE(dataSize, 1, 3);
    // Timestamp (3 + 1 extended bytes) and stream id as in the keyframe's tag.
    keyTag.copy(tag, 4, 4, TAG_HEADER_BYTES);
    const d = TAG_HEADER_BYTES;
    tag[d] = (FRAME_KEY << 4) | CODEC_AVC;
    tag[d + 1] = AVC_NALU;
    // Composition time 0 (bytes d+2..d+4 are zero already).
    tag.writeUIntBE(1, d + 5, n);
    tag[d + 5 + n] = NAL_END_OF_SEQUENCE;
    tag.writeUInt32BE(TAG_HEADER_BYTES + dataSize, d + dataSize);
    return tag;
  }
}
