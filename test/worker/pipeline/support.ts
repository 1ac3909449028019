import type { CaseEvent, EscalationEvent, KillSwitchEvent, QuarantineEvent, ScreeningFailureEvent } from '../../../src/contracts/index.js';
import type { RawFrame, RgbImage } from '../../../src/domain/frame.js';
import type { DecisionSink, FrameSource } from '../../../src/domain/ports.js';
import type { ScreeningJob, StreamScreenerDeps } from '../../../src/worker/pipeline/stream-screener.js';
import { expectContract } from '../../support/contract.js';

/** An RGB frame's pixels, as the sampler delivers them. */
export type Picture = RgbImage & { readonly data: Buffer };

/** A synthetic picture with enough detail for PDQ (quality 100): smooth waves of grey, no real content. */
export function drawn(width: number, height: number, grey: (x: number, y: number) => number): Picture {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++)
      data.fill(Math.max(0, Math.min(255, Math.round(grey(x, y)))), (y * width + x) * 3, (y * width + x + 1) * 3);
  }
  return { width, height, data };
}

/** The picture the test list holds, another one, and the listed one turned a quarter (as a phone held sideways). */
export const LISTED = drawn(96, 64, (x, y) => 128 + 80 * Math.sin(x / 7) * Math.cos(y / 5) + 40 * Math.sin((x + 2 * y) / 11));
export const BENIGN = drawn(96, 64, (x, y) => 128 + 90 * Math.cos(x / 4 + y / 9));
export const LISTED_TURNED = drawn(64, 96, (x, y) => luma(LISTED, y, LISTED.height - 1 - x));

function luma(img: Picture, x: number, y: number): number {
  return img.data[(y * img.width + x) * 3]!;
}

export function frame(seq: number, capturedAt: number, img: Picture): RawFrame {
  return { streamId: 's1', seq, pts: seq, capturedAt, ...img };
}

export function sourceOf(frames: RawFrame[], failWith?: Error): { factory: StreamScreenerDeps['openSource']; stopped: () => boolean } {
  let stopped = false;
  const source: FrameSource = {
    async *frames() {
      for (const f of frames) yield f;
      if (failWith) throw failWith;
    },
    async stop() {
      stopped = true;
    },
  };
  return { factory: () => source, stopped: () => stopped };
}

/** Records what the screener publishes, each event checked against src/contracts/ first. */
export class RecordingSink implements DecisionSink {
  kills: KillSwitchEvent[] = [];
  escalations: EscalationEvent[] = [];
  failures: ScreeningFailureEvent[] = [];
  cases: CaseEvent[] = [];
  onKill?: () => void;
  async killSwitch(e: KillSwitchEvent) {
    expectContract(`screening.killswitch.${e.streamId}`, e);
    this.kills.push(e);
    this.onKill?.();
  }
  async escalation(e: EscalationEvent) {
    expectContract(`screening.escalation.${e.streamId}`, e);
    this.escalations.push(e);
  }
  async failure(e: ScreeningFailureEvent) {
    expectContract(`screening.failure.${e.streamId}`, e);
    this.failures.push(e);
  }
  async caseEvent(e: CaseEvent) {
    expectContract(`screening.escalation.${e.type.replace('case_', '')}.${e.streamId}`, e);
    this.cases.push(e);
  }
  quarantines: QuarantineEvent[] = [];
  async quarantine(e: QuarantineEvent) {
    expectContract('screening.quarantine', e);
    this.quarantines.push(e);
  }
}

export function job(over: Partial<ScreeningJob> = {}): ScreeningJob {
  return {
    start: { streamId: 's1', url: 'rtmp://ingest.example/live/secret-key', metadata: { channel: 'c-9' } },
    runId: 'run-1',
    signal: new AbortController().signal,
    publishSignal: new AbortController().signal,
    assertOwned: async () => {},
    ...over,
  };
}
