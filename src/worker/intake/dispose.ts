import type { JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../domain/logger.js';
import type { HeldLease } from './lease.js';
import type { Disposal } from './settlement.js';

export interface DisposeTarget {
  readonly msg: JsMsg;
  readonly lease: HeldLease;
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  /** For release_pass_on: the re-announced start that replaced `msg`. */
  readonly successor?: JsMsg;
}

/** Carries out a settlement's disposal on the start message and the lease (NATS side of settlement.ts). */
export async function disposeStart(t: DisposeTarget, d: Disposal): Promise<void> {
  switch (d.kind) {
    case 'leave':
      return;
    case 'ack_release':
      // Ack only as the verified owner: on 2.9 a stale ack deletes the message a new owner holds.
      if ((await t.lease.verify()) !== 'owned') {
        t.log.warn('not acking the start: this worker cannot show it still holds the lease');
        return;
      }
      try {
        await t.msg.ackAck({ timeout: t.requestTimeoutMs });
      } catch (err) {
        // A lost ack means a redelivery; admission then finds the end (or screens again).
        t.log.warn({ err }, 'ack of the start message was not confirmed');
      }
      await t.lease.release();
      return;
    case 'release_nak':
      if ((await t.lease.verify()) !== 'owned') {
        t.log.warn('not handing back the start: this worker cannot show it still holds the lease (it comes back after ack_wait)');
        return;
      }
      await t.lease.release();
      t.msg.nak(d.delayMs);
      return;
    case 'release_pass_on':
      if ((await t.lease.verify()) === 'owned') await t.lease.release();
      t.successor?.nak();
      return;
  }
}
