import type { FastifyReply } from 'fastify';
import type { Outcome, Refusal } from '../console-service.js';
import { refuse } from './security.js';

const STATUS: Record<Refusal, number> = {
  case_not_found: 404,
  frame_not_found: 404,
  rendition_missing: 404,
  case_closed: 409,
  claimed_by_other: 409,
  not_claimed: 409,
  // 403, not 429: waiting does not help, a new shift or a lead does.
  exposure_budget_spent: 403,
  reason_required: 400,
  invalid_decision: 400,
};

/** Sends a refusal with its status; returns the value when the outcome is ok. */
export function unwrap<T>(reply: FastifyReply, o: Outcome<T>): T | undefined {
  if (o.ok) return o.value;
  void refuse(reply, STATUS[o.refusal], o.refusal, o.message);
  return undefined;
}
