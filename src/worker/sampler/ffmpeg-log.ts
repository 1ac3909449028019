import { KEYFRAME_FILTER_NAME, PTS_FILTER_NAME } from './ffmpeg-args.js';

export type LogLevel = 'panic' | 'fatal' | 'error' | 'warning' | 'info' | 'verbose' | 'debug' | 'trace';

/** One stderr line of an ffmpeg run with `-loglevel level+...`. */
export interface LogLine {
  /** Undefined for continuation text that carries no [level] tag. */
  readonly level: LogLevel | undefined;
  /** The `[name @ 0x...]` context, e.g. `rtmp`, `flv`, `showinfo@frame`. */
  readonly context: string | undefined;
  readonly text: string;
}

const LEVELS = 'panic|fatal|error|warning|info|verbose|debug|trace';
// "[name @ 0xADDR] [level] text" or "[level] text"; a name may itself contain "@" (showinfo@frame).
const WITH_CONTEXT = new RegExp(`^\\[(.+?) @ (?:0x)?[0-9a-fA-F]+\\] \\[(${LEVELS})\\] ?(.*)$`);
const LEVEL_ONLY = new RegExp(`^\\[(${LEVELS})\\] ?(.*)$`);

export function parseLogLine(line: string): LogLine {
  let m = WITH_CONTEXT.exec(line);
  if (m) return { context: m[1], level: m[2] as LogLevel, text: m[3] ?? '' };
  m = LEVEL_ONLY.exec(line);
  if (m) return { context: undefined, level: m[1] as LogLevel, text: m[2] ?? '' };
  return { context: undefined, level: undefined, text: line };
}

/** `error` and worse: what ffmpeg prints when it gives up, and what the exit classifier reads. */
export function isErrorLevel(level: LogLevel | undefined): boolean {
  return level === 'panic' || level === 'fatal' || level === 'error';
}

const SHOWINFO = /^n:\s*(\d+)\s+pts:\s*(-?\d+|NOPTS)\s+pts_time:(\S+)/;
const SIZE = /\ss:(\d+)x(\d+)\s/;

/** What our showinfo filter says about output frame `n`. */
export interface FrameInfo {
  readonly n: number;
  /** Seconds; undefined when the frame had no timestamp. */
  readonly pts: number | undefined;
  readonly width: number | undefined;
  readonly height: number | undefined;
}

/** The per-frame line of our showinfo filter (index, pts, size); undefined for any other line. */
export function parseFrameInfo(line: LogLine): FrameInfo | undefined {
  if (line.context !== PTS_FILTER_NAME) return undefined;
  const m = SHOWINFO.exec(line.text);
  if (!m) return undefined;
  const pts = Number(m[3]);
  const size = SIZE.exec(line.text);
  return {
    n: Number(m[1]),
    pts: m[2] === 'NOPTS' || !Number.isFinite(pts) ? undefined : pts,
    width: size ? Number(size[1]) : undefined,
    height: size ? Number(size[2]) : undefined,
  };
}

/**
 * A keyframe the decoder produced: its pts in seconds (undefined without a timestamp), from the
 * keyframe branch's showinfo line; undefined for any other line.
 */
export function parseKeyframeInfo(line: LogLine): { readonly pts: number | undefined } | undefined {
  if (line.context !== KEYFRAME_FILTER_NAME) return undefined;
  const m = SHOWINFO.exec(line.text);
  if (!m) return undefined;
  const pts = Number(m[3]);
  return { pts: m[2] === 'NOPTS' || !Number.isFinite(pts) ? undefined : pts };
}

/** Splits a byte stream of log text into lines; ffmpeg ends some lines with \r. */
export class LineSplitter {
  #rest = '';
  constructor(private readonly maxLineLength = 8192) {}

  push(text: string): string[] {
    const parts = (this.#rest + text).split(/\r\n|\n|\r/);
    this.#rest = parts.pop() ?? '';
    // A runaway line without a newline must not grow memory without bound.
    if (this.#rest.length > this.maxLineLength) {
      parts.push(this.#rest.slice(0, this.maxLineLength));
      this.#rest = '';
    }
    return parts.filter((p) => p.length > 0);
  }

  flush(): string[] {
    const rest = this.#rest;
    this.#rest = '';
    return rest ? [rest] : [];
  }
}
