import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { DeliverPolicy, type JetStreamClient, type JsMsg } from '@nats-io/jetstream';
import type { ReviewOptions } from '../../config/index.js';
import {
  EscalationPrioritySchema,
  ReviewAckSchema,
  ReviewDecisionSchema,
  SCHEMA_VERSION,
  subjectFor,
  type ReviewAck,
  type ReviewDecision,
} from '../../contracts/index.js';
import { createCasePublisher, reviewStreams } from '../../worker/cases/case-publisher.js';
import { scanStream } from '../../worker/review/case-lookup.js';
import { processIO, type CommandIO } from './io.js';
import { withCase } from './case-command.js';
import { silentLogger } from './nats-target.js';

const USAGE = `usage:
  streamscreen review confirm|dismiss|escalate CASE --reviewer ID [--reason TEXT] [options]
  streamscreen review add-to-list CASE --reviewer ID --list ID [--list-action kill|escalate] [--hash HEX] [--label L]

Publishes a review decision on screening.review.<streamId> (audited as submitted), waits for the
worker's acknowledgement and prints it as a JSON line. CASE is a case id (or the id of one of its
events, or of a kill-switch that names it). confirm: kill-switch (reason review_confirmed);
dismiss: the case closes and its reason is suppressed for the stream (policy.dismissSuppressMs);
escalate: one priority up, or --priority; add-to-list: the case's PDQ hash (or --hash) goes on
the named list (default action escalate).

options:
  --reviewer ID        who decides (an account id; required)
  --reason TEXT        the reviewer's note, audited (never logged)
  --priority P         escalate: critical, high or normal
  --decision-id ID     idempotency key (default: a new one); resubmitting one is applied once
  --wait-ms N          how long to wait for the ack (default 15000)
  --config FILE        config file (default config/streamscreen.json, or STREAMSCREEN_CONFIG)
  --nats-url URL       default: the config's nats.url, or $NATS_URL

Exit status: 0 applied (or a duplicate of one applied), 1 rejected or failed, 2 usage,
3 no acknowledgement in time (the decision stays queued and is applied when a worker runs).
`;

const DECISIONS = ['confirm', 'dismiss', 'escalate', 'add-to-list'] as const;

export async function run(
  argv: string[],
  io: CommandIO = processIO,
  env: Readonly<Record<string, string | undefined>> = {},
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        reviewer: { type: 'string' },
        reason: { type: 'string' },
        priority: { type: 'string' },
        list: { type: 'string' },
        'list-action': { type: 'string', default: 'escalate' },
        hash: { type: 'string' },
        label: { type: 'string' },
        'decision-id': { type: 'string' },
        'wait-ms': { type: 'string', default: '15000' },
        config: { type: 'string' },
        'nats-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.stderr.write(`streamscreen review: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const [kind, caseRef, ...extra] = positionals;
  const problems: string[] = [];
  if (!DECISIONS.includes(kind as (typeof DECISIONS)[number]))
    problems.push(`expected one of ${DECISIONS.join(', ')}, got '${kind ?? ''}'`);
  if (!caseRef || extra.length) problems.push('expected exactly one CASE');
  if (!values.reviewer) problems.push('--reviewer is required');
  if (values.priority !== undefined && !EscalationPrioritySchema.safeParse(values.priority).success)
    problems.push('--priority must be critical, high or normal');
  if (kind === 'add-to-list' && !values.list) problems.push('--list is required for add-to-list');
  const waitMs = Number(values['wait-ms']);
  if (!Number.isFinite(waitMs) || waitMs < 0) problems.push('--wait-ms must be a number of milliseconds');
  if (problems.length) {
    io.stderr.write(`streamscreen review: ${problems.join('; ')}\n\n${USAGE}`);
    return 2;
  }

  return withCase('review', values, env, io, caseRef!, async ({ loaded, js, found }) => {
    const o = loaded.stages.review;
    const c = found.latest;
    const hash = values.hash ?? c.pdqHash;
    if (kind === 'add-to-list' && !hash) {
      io.stderr.write('streamscreen review: the case has no PDQ hash; give one with --hash\n');
      return 2;
    }
    const candidate = {
      schemaVersion: SCHEMA_VERSION,
      type: 'review_decision',
      decisionId: values['decision-id'] ?? `cli-${randomUUID()}`,
      caseId: c.caseId,
      streamId: c.streamId,
      caseRevision: c.revision,
      decision: kind,
      reviewer: values.reviewer,
      decidedAt: new Date().toISOString(),
      ...(values.reason ? { note: values.reason } : {}),
      ...(values.priority ? { priority: values.priority } : {}),
      ...(kind === 'add-to-list'
        ? { list: { id: values.list, action: values['list-action'], hash, ...(values.label ? { label: values.label } : {}) } }
        : {}),
      source: 'cli',
    };
    const checked = ReviewDecisionSchema.safeParse(candidate);
    if (!checked.success) {
      io.stderr.write(`streamscreen review: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}\n`);
      return 2;
    }
    const decision: ReviewDecision = checked.data;
    const publisher = createCasePublisher({ js, logger: silentLogger, options: o, publish: loaded.stages.publisher });
    if (o.provision) await publisher.provision();

    // Listening before publishing: the ack cannot slip past.
    const acks = await js.consumers.get(reviewStreams(o).review.name, {
      filter_subjects: subjectFor(o.ackSubjectPrefix, decision.streamId),
      deliver_policy: DeliverPolicy.New,
    });
    const messages = await acks.consume();
    const ack = waitForAck(messages as AsyncIterable<JsMsg>, decision.decisionId);
    const timer = setTimeout(() => void messages.close(), waitMs);

    await publisher.publishAudit({
      schemaVersion: SCHEMA_VERSION,
      type: 'audit',
      eventId: `audit-submit-${decision.decisionId}`,
      at: decision.decidedAt,
      actor: { kind: 'reviewer', id: decision.reviewer },
      action: 'decision_submitted',
      caseId: decision.caseId,
      streamId: decision.streamId,
      decisionId: decision.decisionId,
      decision: decision.decision,
      ...(decision.note ? { why: decision.note.slice(0, 2000) } : {}),
    });
    const receipt = await publisher.publishDecision(decision);
    // A decision id submitted before is stored once (Nats-Msg-Id): no new ack will come, the one
    // already given is the answer.
    const result = receipt.duplicate ? ((await storedAck(js, o, decision)) ?? (await ack)) : await ack;
    clearTimeout(timer);
    await messages.close();
    if (!result) {
      io.stderr.write(
        `streamscreen review: decision ${decision.decisionId} published; no acknowledgement within ${waitMs} ms (it is applied when a worker takes it)\n`,
      );
      io.stdout.write(
        `${JSON.stringify({ decisionId: decision.decisionId, caseId: decision.caseId, streamId: decision.streamId, result: 'pending' })}\n`,
      );
      return 3;
    }
    io.stdout.write(`${JSON.stringify(result)}\n`);
    return result.result === 'rejected' ? 1 : 0;
  });
}

async function storedAck(js: JetStreamClient, o: ReviewOptions, d: ReviewDecision): Promise<ReviewAck | undefined> {
  let found: ReviewAck | undefined;
  await scanStream(js, reviewStreams(o).review.name, [subjectFor(o.ackSubjectPrefix, d.streamId)], (_s, json) => {
    const parsed = ReviewAckSchema.safeParse(json);
    if (parsed.success && parsed.data.decisionId === d.decisionId && parsed.data.result !== 'duplicate') found = parsed.data;
  });
  return found;
}

async function waitForAck(messages: AsyncIterable<JsMsg>, decisionId: string): Promise<ReviewAck | undefined> {
  for await (const m of messages) {
    let json: unknown;
    try {
      json = m.json();
    } catch {
      continue;
    }
    const parsed = ReviewAckSchema.safeParse(json);
    if (parsed.success && parsed.data.decisionId === decisionId) return parsed.data;
  }
  return undefined;
}
