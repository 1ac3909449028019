import { z } from 'zod';
import { positiveMs } from '../fields.js';

/** A share of a resource (CPU of the cores available, event-loop busy time, frames over budget). */
const fraction = (def: number) => z.number().gt(0).max(1).default(def);

/**
 * How a worker decides it has room for another stream, and how it sheds work when it has too
 * many (config `worker.capacity`; the mode is `worker.admission`, the hard cap `worker.maxStreams`).
 * Every figure is measured by the worker itself: its process tree's CPU (itself and its ffmpeg
 * children) against the CPUs it may use, its event-loop utilisation, and the share of frames
 * decided over the budget.
 */
export const CapacitySection = z
  .strictObject({
    /**
     * How often CPU and event-loop use are read (a walk of the worker's /proc tree: a few hundred
     * small reads at 48 streams). 2 s: fast enough to stop pulling before a burst of starts lands,
     * cheap enough for the main thread.
     */
    sampleMs: positiveMs(2_000),
    /**
     * CPU and event-loop use are averaged over this window: one sample sees a keyframe burst or a
     * GC pause; 10 s spans several GOPs of every stream.
     */
    windowMs: positiveMs(10_000),
    /**
     * Budget breaches are counted over this window. 60 s at 1 frame/s/stream is hundreds of
     * frames at a few dozen streams: enough for a 1 % rate to mean something.
     */
    breachWindowMs: positiveMs(60_000),
    /** Below this many decided frames in the window the breach rate is not used (one late frame of ten is noise). */
    minFramesForBreachRate: z.number().int().positive().default(50),
    admit: z
      .strictObject({
        /**
         * Pull a new stream only while the worker's CPU (with the streams admitted lately counted at
         * their expected cost) stays below this share of the CPUs available to it. 80 %: the
         * benchmark held its budget with both cores 75-85 % busy and broke when they saturated; the
         * rest absorbs keyframe bursts, GC and a stream falling back to full decoding.
         */
        cpuBelow: fraction(0.8),
        /**
         * And while the main thread is busy less than this share of the time. It frames, hashes and
         * schedules every stream's frames: a queue on one server waits about ρ/(1-ρ) service times,
         * four at 0.8, and grows steeply past it.
         */
        eluBelow: fraction(0.8),
        /** And while fewer than this share of frames are decided over the budget (1 %: the p99 is at the budget). */
        breachesBelow: fraction(0.01),
        /**
         * Once full, admission resumes only when the measure is this share below its limit (0.05: CPU
         * under 76 % for an 80 % limit), so a worker at the edge does not flip (and log) at every sample.
         */
        resumeMargin: z.number().min(0).max(0.5).default(0.05),
        /**
         * Cost assumed for a stream admitted within `settleMs`, in cores, until its cost shows in the
         * measure (or the measured average per stream when higher). 0.1: full decoding of a 720p30
         * stream measured 9.9 % of a core, the most a stream costs (auto falls back to it).
         */
        streamCpuEstimate: z.number().gt(0).max(4).default(0.1),
        /**
         * A new stream's ffmpeg connects, probes and reaches its steady cost within a GOP or two, and
         * the CPU average (windowMs) takes as long again to show all of it: 15 s.
         */
        settleMs: positiveMs(15_000),
      })
      .prefault({}),
    degrade: z
      .strictObject({
        /** Off, a worker past its capacity sheds only what the scheduler sheds per frame. */
        enabled: z.boolean().default(true),
        /**
         * The deepest step taken: 1 keyframes only, 2 half the frame rate, 3 classifiers off for the
         * lowest-risk streams (the hash check is never turned off). 3 by default: a frame screened
         * by hash only is better than a frame not screened at all.
         */
        maxLevel: z.number().int().min(0).max(3).default(3),
        /** Overloaded: CPU above this share of the available CPUs (the work no longer fits: frames queue). */
        cpuAbove: fraction(0.92),
        /** Or the main thread busy more than this share of the time. */
        eluAbove: fraction(0.9),
        /** Or more than this share of frames decided over the budget (5 %: well past the p99 at the budget). */
        breachesAbove: fraction(0.05),
        /** Headroom, to step back: CPU below this (the step removed must fit back in: 70 % leaves a step's worth). */
        cpuBelow: fraction(0.7),
        eluBelow: fraction(0.6),
        breachesBelow: fraction(0.01),
        /**
         * Overload must persist this long (since the last step) before the next step: 15 s, over a
         * window of CPU average, so a GC pause or a burst of new streams does not degrade anyone,
         * and each step has time to show its effect before the next.
         */
        enterAfterMs: positiveMs(15_000),
        /**
         * Headroom must persist this long before a step is undone: 60 s, four times longer than
         * entering, because undoing a step adds load back and a flapping worker restarts decoders.
         */
        leaveAfterMs: positiveMs(60_000),
      })
      .prefault({}),
  })
  .superRefine((c, ctx) => {
    const d = c.degrade;
    for (const k of ['cpu', 'elu', 'breaches'] as const) {
      if (d[`${k}Below`] >= d[`${k}Above`]) {
        ctx.addIssue({
          code: 'custom',
          path: ['degrade', `${k}Below`],
          message: `degrade.${k}Below (${d[`${k}Below`]}) must be below degrade.${k}Above (${d[`${k}Above`]})`,
        });
      }
    }
    if (c.windowMs < c.sampleMs) {
      ctx.addIssue({ code: 'custom', path: ['windowMs'], message: `windowMs (${c.windowMs}) must be at least sampleMs (${c.sampleMs})` });
    }
  });

export type CapacitySection = z.output<typeof CapacitySection>;

/** `measured`: admit while the measures say there is room (up to maxStreams); `fixed`: up to maxStreams. */
export const AdmissionMode = z.enum(['measured', 'fixed']);
export type AdmissionMode = z.output<typeof AdmissionMode>;

/** What the worker's capacity governor takes. */
export interface CapacityOptions extends CapacitySection {
  readonly mode: AdmissionMode;
  /** The hard cap (worker.maxStreams): never more streams than this, whatever the measures say. */
  readonly maxStreams: number;
}

export function capacityOptions(section: CapacitySection, mode: AdmissionMode, maxStreams: number): CapacityOptions {
  return { ...section, mode, maxStreams };
}
