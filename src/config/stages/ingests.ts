import { z } from 'zod';
import { templateFields, templateIssues } from '../../domain/template.js';

const templateString = (what: string) =>
  z
    .string()
    .min(1)
    .superRefine((t, ctx) => {
      for (const issue of templateIssues(t)) ctx.addIssue({ code: 'custom', message: `${what}: ${issue}` });
    });

/**
 * One ingest server the bridge takes hooks from and the enforcer kicks publishers on. The id is
 * in the hook URL (`/hooks/<id>/...`), so every stream is recorded with the instance it is on.
 */
export const IngestConfigSchema = z
  .strictObject({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'ingest id: 1-64 of A-Z a-z 0-9 _ -'),
    kind: z.enum(['nginx-rtmp', 'srs', 'mediamtx', 'generic']),
    /**
     * Authenticates the ingest's hook calls: `?token=<secret>` in the hook URL or
     * `Authorization: Bearer <secret>` (none of nginx-rtmp, SRS, MediaMTX can sign), and the
     * HMAC-SHA256 key of the generic webhook. At least 16 characters: it is all that stands
     * between the internet and "allow this publisher".
     */
    secret: z.string().min(16, 'secret: at least 16 characters'),
    /** Where workers pull the stream from, e.g. `rtmp://nginx-1.internal:1935/{app}/{name}`. */
    pullUrl: templateString('pullUrl'),
    /**
     * The stream id of a publish. The default never contains the stream key (ids appear in
     * subjects, logs and events) and is the same on every reconnect with that key, so ends,
     * blocks and the worker's admission all line up: `{nameHash}` is a digest of app and name.
     */
    streamId: templateString('streamId').default('{ingest}-{app}-{nameHash}'),
    /** The ingest's control API, for the enforcer's kick call; without it this ingest's publishers cannot be kicked. */
    control: z
      .strictObject({
        /**
         * nginx-rtmp: the `rtmp_control` location (`http://nginx-1.internal:8080/control`); SRS: the
         * HTTP API (`http://srs:1985`); MediaMTX: the Control API (`http://mediamtx:9997`); generic:
         * the URL the signed kick is POSTed to.
         */
        url: z.url({ protocol: /^https?$/, message: 'control.url: an http(s) URL' }),
        /** Basic auth for the control API (MediaMTX internal users, a proxy in front of nginx). */
        username: z.string().optional(),
        password: z.string().optional(),
        /** HMAC key for the generic kick webhook; defaults to the ingest's secret. */
        secret: z.string().min(16).optional(),
      })
      .optional(),
  })
  .superRefine((ingest, ctx) => {
    const fields = templateFields(ingest.streamId);
    // An id without anything per stream would give every broadcaster of this ingest one id.
    if (!fields.some((f) => ['name', 'nameHash', 'clientId', 'connectionId'].includes(f) || f.startsWith('arg.'))) {
      ctx.addIssue({
        code: 'custom',
        path: ['streamId'],
        message:
          'streamId must use {name}, {nameHash}, {clientId}, {connectionId} or {arg.NAME}, or every stream of the ingest gets one id',
      });
    }
    if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(ingest.pullUrl)) {
      ctx.addIssue({ code: 'custom', path: ['pullUrl'], message: 'pullUrl must be an absolute URL (scheme://host/...)' });
    }
    if (ingest.control && (ingest.control.username === undefined) !== (ingest.control.password === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['control'], message: 'control.username and control.password go together' });
    }
  });

/** Config section `ingests`: the ingest servers the bridge and the enforcer talk to. */
export const IngestsSection = z.array(IngestConfigSchema).superRefine((ingests, ctx) => {
  const ids = ingests.map((i) => i.id);
  for (const id of new Set(ids.filter((id, n) => ids.indexOf(id) !== n))) {
    ctx.addIssue({ code: 'custom', message: `duplicate ingest id '${id}'` });
  }
});

export type IngestConfig = z.output<typeof IngestConfigSchema>;
