import { SourceError, type SourceErrorCode } from '../../domain/errors.js';
import { isErrorLevel, type LogLine } from './ffmpeg-log.js';
import type { SourceKind } from './source-url.js';

/** How one ffmpeg run ended, with the stderr lines worth reading. */
export interface FfmpegExit {
  /** Exit status, or null when killed by a signal Node saw. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Recent warning/error lines of the run, oldest first. */
  readonly lines: readonly LogLine[];
  /** Frames this run delivered before it ended. */
  readonly framesSeen: number;
  readonly kind: SourceKind;
}

interface Rule {
  readonly code: Extract<SourceErrorCode, 'source_unreachable' | 'source_stalled' | 'source_invalid' | 'ffmpeg_crashed'>;
  readonly pattern: RegExp;
  /** Retrying cannot help (a bad argument, a protocol refused by the whitelist). */
  readonly terminal?: boolean | ((exit: FfmpegExit) => boolean);
  readonly what: string;
  /** Also consulted when the line is only a warning (ffmpeg logs some fatal causes at warning level). */
  readonly anyLevel?: boolean;
}

/**
 * In priority order: a run often logs decode errors before the connection drops, so network
 * causes outrank content ones, and argument problems (our bug or an incompatible build) outrank all.
 */
const RULES: readonly Rule[] = [
  {
    code: 'ffmpeg_crashed',
    what: 'ffmpeg rejected its arguments (incompatible ffmpeg build?)',
    terminal: true,
    pattern:
      /Unrecognized option|Option not found|Error parsing (?:a )?filter|No such filter|Error (?:re)?initializing filter|Failed to set value|Unknown encoder|Error while opening encoder|Unable to find a suitable output format|Error opening output/i,
  },
  {
    code: 'source_invalid',
    what: 'protocol refused',
    terminal: true,
    anyLevel: true,
    pattern: /Protocol not found|not on whitelist|Protocol '[^']*' not|Unsupported protocol/i,
  },
  {
    code: 'source_unreachable',
    what: 'file not found',
    terminal: (e) => e.kind === 'file',
    pattern: /No such file or directory|Permission denied/i,
  },
  {
    code: 'source_unreachable',
    what: 'HTTP error',
    anyLevel: true,
    pattern: /Server returned (?:\d{3}|[45]XX)|HTTP error [45]\d\d|\b(?:401|403|404|410|429|5\d\d) [A-Z][A-Za-z ]+/,
  },
  {
    code: 'source_unreachable',
    what: 'connection failed',
    anyLevel: true,
    pattern:
      /Connection refused|Connection reset|No route to host|Network is unreachable|Host is unreachable|Name or service not known|Temporary failure in name resolution|Failed to resolve hostname|Cannot assign requested address|Cannot open connection|Broken pipe|TLS|handshake|certificate|Server error|StreamNotFound|Stream not found|NetStream\.Play\.Failed|Connection timed out|Operation timed out|Unable to connect|Connection to .* failed/i,
  },
  {
    code: 'source_stalled',
    what: 'read failed (timeout or dropped connection)',
    pattern: /Input\/output error|I\/O error|timed out|Operation not permitted|End of file/i,
  },
  {
    code: 'source_invalid',
    what: 'undecodable input',
    terminal: (e) => e.kind === 'file',
    pattern:
      /Invalid data found|could not find codec parameters|does not contain any stream|matches no streams|Decoder \(codec [^)]*\) not found|Failed to open codec|moov atom not found|Invalid argument/i,
  },
];

/**
 * Turns an ffmpeg exit into a SourceError, or undefined for a clean end of a local file.
 * `redact` is applied to every bit of ffmpeg text that goes into the message (it quotes URLs).
 */
export function errorForExit(exit: FfmpegExit, redact: (text: string) => string = (t) => t): SourceError | undefined {
  const clean = exit.code === 0 && exit.signal === null;
  if (clean && exit.kind === 'file') return undefined;

  // ffmpeg also exits 0 when a read fails mid-stream (rw_timeout, reset connection): it treats the
  // error as the end of input and finishes "normally". The logged error still tells us why.
  for (const rule of RULES) {
    const line = lastMatching(exit.lines, rule);
    if (!line) continue;
    let code = rule.code;
    // A timeout before any frame is an unreachable source; after frames, a stalled one.
    if (code === 'source_stalled' && exit.framesSeen === 0) code = 'source_unreachable';
    const terminal = typeof rule.terminal === 'function' ? rule.terminal(exit) : rule.terminal === true;
    return new SourceError(code, `${rule.what}: ${clip(redact(describe(line)))}`, { retryable: !terminal });
  }

  if (clean) {
    // A live input reaching its end means the publisher stopped or the server dropped us; the
    // stream may be back in a moment (reconnecting encoder), so this is worth a restart.
    return new SourceError('source_unreachable', 'the live source ended (ffmpeg reached end of input)', { retryable: true });
  }

  const how = exit.signal
    ? `was killed by ${exit.signal}`
    : exit.code !== null && exit.code > 128
      ? `was killed by signal ${exit.code - 128}`
      : `exited with status ${exit.code}`;
  const last = [...exit.lines].reverse().find((l) => isErrorLevel(l.level));
  return new SourceError('ffmpeg_crashed', `ffmpeg ${how}${last ? `: ${clip(redact(describe(last)))}` : ''}`, { retryable: true });
}

function lastMatching(lines: readonly LogLine[], rule: Rule): LogLine | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i];
    if (l && (isErrorLevel(l.level) || (rule.anyLevel && l.level === 'warning')) && rule.pattern.test(l.text)) return l;
  }
  return undefined;
}

function describe(line: LogLine): string {
  return line.context ? `[${line.context}] ${line.text}` : line.text;
}

function clip(s: string, max = 300): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}
