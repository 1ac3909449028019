import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { JetStreamApiCodes, type JetStreamClient } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { CaseEvent, EvidenceRef } from '../../contracts/index.js';
import { hasApiCode } from '../../nats/index.js';
import { createCasePublisher } from '../../worker/cases/case-publisher.js';
import { createEvidenceReader } from '../../worker/evidence/evidence-reader.js';
import { killSwitchesOf } from '../../worker/review/case-lookup.js';
import { processIO, type CommandIO } from './io.js';
import { withCase } from './case-command.js';
import { silentLogger } from './nats-target.js';

const USAGE = `usage:
  streamscreen evidence export CASE_OR_EVENT_ID --out DIR --operator ID --why TEXT [options]

Writes a report bundle for the platform's reporting flow (to NCMEC or others): DIR/report.json
with the case (reasons, scores, matched list and distance, priority history, closure), the PDQ
hashes and timestamps of its frames, the classifier models (ids, versions, digests), the
kill-switches of the stream, the stream's metadata and the publisher's address when the ingest
bridge recorded it; and DIR/frames/ with every stored rendition, decrypted with the configured
evidence key and checked against its SHA-256. Every object read is audited (evidence_exported,
with --operator and --why) before it is read.

options:
  --out DIR                 where to write (created; existing files are overwritten)
  --operator ID             who exports (audited)
  --why TEXT                why (audited), e.g. the report's reference
  --no-originals            leave preserved originals out (reviewer copies only)
  --publishers-bucket NAME  the bridge's KV bucket of publisher records (default screening-publishers)
  --config FILE             config file (default config/streamscreen.json, or STREAMSCREEN_CONFIG)
  --nats-url URL            default: the config's nats.url, or $NATS_URL

Exit status: 0 written, 1 failed (nothing is half-written silently: the error says what), 2 usage.
`;

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
        out: { type: 'string' },
        operator: { type: 'string' },
        why: { type: 'string' },
        'no-originals': { type: 'boolean', default: false },
        'publishers-bucket': { type: 'string', default: 'screening-publishers' },
        config: { type: 'string' },
        'nats-url': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    io.stderr.write(`streamscreen evidence: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return 0;
  }
  const [sub, id, ...extra] = positionals;
  const problems: string[] = [];
  if (sub !== 'export') problems.push(`unknown subcommand '${sub ?? ''}'`);
  if (!id || extra.length) problems.push('expected exactly one CASE_OR_EVENT_ID');
  if (!values.out) problems.push('--out is required');
  if (!values.operator) problems.push('--operator is required');
  if (!values.why?.trim()) problems.push('--why is required (it is audited)');
  if (problems.length) {
    io.stderr.write(`streamscreen evidence: ${problems.join('; ')}\n\n${USAGE}`);
    return 2;
  }

  return withCase('evidence', values, env, io, id!, async ({ loaded, js, found }) => {
    const evidence = loaded.stages.evidence;
    try {
      const c = found.latest;
      const publisher = createCasePublisher({ js, logger: silentLogger, options: loaded.stages.review, publish: loaded.stages.publisher });
      const reader = createEvidenceReader({ js, keys: evidence.keys, audit: (r) => publisher.publishAudit(r) });
      const out = resolve(values.out!);
      await mkdir(join(out, 'frames'), { recursive: true });

      const frames = [];
      for (const f of c.storyboard) {
        const files = [];
        for (const ref of f.renditions) {
          if (ref.rendition === 'original' && values['no-originals']) continue;
          const bytes = await reader.read({
            ref,
            actor: { kind: 'operator', id: values.operator! },
            why: values.why!,
            caseId: c.caseId,
            streamId: c.streamId,
            purpose: 'evidence_exported',
          });
          const file = join('frames', `${f.seq}-${ref.rendition}.${extension(ref)}`);
          await writeFile(join(out, file), bytes);
          files.push({
            rendition: ref.rendition,
            file,
            sha256: ref.sha256,
            size: ref.size,
            contentType: ref.contentType,
            preserved: ref.preserved,
          });
        }
        frames.push({ seq: f.seq, capturedAt: f.capturedAt, pts: f.pts, decisive: f.decisive, pdqHash: f.pdqHash, files });
      }

      const report = {
        reportVersion: 1,
        generatedAt: new Date().toISOString(),
        generatedBy: values.operator,
        why: values.why,
        case: {
          caseId: c.caseId,
          streamId: c.streamId,
          reasonClass: c.reasonClass,
          state: c.type === 'case_closed' ? 'closed' : 'open',
          priority: c.priority,
          revision: c.revision,
          openedAt: c.openedAt,
          updatedAt: c.updatedAt,
          policy: c.policy,
          ...(c.type === 'case_closed' ? { closure: c.closure } : {}),
          ...(c.killSwitch ? { killSwitch: c.killSwitch } : {}),
          decisiveFrame: c.frame,
          pdqHash: c.pdqHash,
        },
        matches: c.reasons.flatMap((r) => (r.kind === 'hash_match' ? [r.match] : [])),
        scores: c.reasons.filter((r) => r.kind === 'classifier' || r.kind === 'possible_minor'),
        unscreened: c.reasons.filter((r) => r.kind === 'unscreened'),
        models: c.models ?? [],
        history: found.events.map((e) => ({
          revision: e.revision,
          type: e.type,
          at: e.updatedAt,
          priority: e.priority,
          rule: e.policy.rule,
          ...changeOf(e),
        })),
        killSwitches: await killSwitchesOf(
          js,
          loaded.stages.publisher.decisionsStream,
          loaded.stages.publisher.killSwitchSubjectPrefix,
          c.streamId,
        ),
        stream: {
          streamId: c.streamId,
          metadata: c.metadata ?? {},
          publisher: await publisherRecord(js, values['publishers-bucket'], c.streamId),
        },
        frames,
      };
      await writeFile(join(out, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
      io.stdout.write(
        `${JSON.stringify({ out, caseId: c.caseId, streamId: c.streamId, frames: frames.length, files: frames.reduce((n, f) => n + f.files.length, 0) })}\n`,
      );
      return 0;
    } catch (err) {
      io.stderr.write(`streamscreen evidence: ${err instanceof Error ? err.message : String(err)}\n`);
      return 1;
    }
  });
}

function extension(ref: EvidenceRef): string {
  return ref.contentType === 'image/png' ? 'png' : ref.contentType === 'image/webp' ? 'webp' : 'jpg';
}

function changeOf(e: CaseEvent): object {
  if (e.type === 'case_updated') return { change: e.change };
  if (e.type === 'case_closed') return { closure: e.closure };
  return {};
}

/**
 * The bridge's record of who published the stream (KV, key = stream id), when there is one:
 * ingest, connection and the publisher's address as the ingest server reported it. Records
 * expire (the bridge's recordTtlMs), so export soon after a case.
 */
async function publisherRecord(js: JetStreamClient, bucket: string, streamId: string): Promise<unknown> {
  let entry;
  try {
    entry = await (await new Kvm(js).open(bucket)).get(streamId);
  } catch (err) {
    // No bridge in this deployment: the report says there is no record.
    if (hasApiCode(err, JetStreamApiCodes.StreamNotFound)) return null;
    throw err;
  }
  if (!entry || entry.operation !== 'PUT') return null;
  const record = entry.json<{ target?: { publisherIp?: string } } & Record<string, unknown>>();
  return { ...record, ...(record.target?.publisherIp ? { publisherIp: record.target.publisherIp } : {}) };
}
