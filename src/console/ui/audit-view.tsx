import { useEffect, useState } from 'preact/hooks';
import type { AuditRecord } from '../../contracts/review.js';
import { ApiError, getJson, postJson } from './api.js';

/** Lead view: who decided what, when, on which case; who viewed which preserved original. */
export function AuditView() {
  const [records, setRecords] = useState<readonly AuditRecord[] | undefined>();
  const [error, setError] = useState('');
  const load = () =>
    getJson('/api/audit').then(
      (r) => setRecords((r as { records: AuditRecord[] }).records),
      (err: unknown) => setError(err instanceof ApiError ? err.message : 'Could not load the audit log.'),
    );
  useEffect(() => void load(), []);

  return (
    <section aria-labelledby="audit-title">
      <h2 id="audit-title">Audit</h2>
      <LiftBlock onDone={() => void load()} />
      <button type="button" onClick={() => void load()}>
        Refresh
      </button>
      {error ? <p role="alert">{error}</p> : null}
      {records ? (
        <table class="audit">
          <caption>Newest first</caption>
          <thead>
            <tr>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">What</th>
              <th scope="col">Case</th>
              <th scope="col">Stream</th>
              <th scope="col">Detail</th>
            </tr>
          </thead>
          <tbody>
            {records.map((r) => (
              <tr key={r.eventId} data-action={r.action}>
                <td>{new Date(r.at).toLocaleString(undefined, { hour12: false })}</td>
                <td>
                  {r.actor.id} <span class="muted">({r.actor.kind})</span>
                </td>
                <td>{r.action.replace(/_/g, ' ')}</td>
                <td>
                  <code>{r.caseId ?? ''}</code>
                </td>
                <td>
                  <code>{r.streamId ?? ''}</code>
                </td>
                <td>{detail(r)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : (
        <p>Loading…</p>
      )}
    </section>
  );
}

function detail(r: AuditRecord): string {
  const parts: string[] = [];
  if (r.decision) parts.push(r.decision);
  if (r.decisionId) parts.push(r.decisionId);
  if (r.evidence) parts.push(`${r.evidence.rendition} ${r.evidence.bucket}/${r.evidence.name}`);
  if (r.subject) parts.push(`for ${r.subject}`);
  if (r.why) parts.push(`why: “${r.why}”`);
  return parts.join(' · ');
}

function LiftBlock({ onDone }: { onDone: () => void }) {
  const [reviewer, setReviewer] = useState('');
  const [message, setMessage] = useState('');
  return (
    <form
      class="lift"
      onSubmit={(e) => {
        e.preventDefault();
        void postJson('/api/exposure/lift', { reviewer: reviewer.trim() }).then(
          (r) => {
            const c = r as { used: number; granted: number };
            setMessage(`Granted: ${reviewer} has used ${c.used}, extra views granted this shift ${c.granted}.`);
            onDone();
          },
          (err: unknown) => setMessage(err instanceof ApiError ? err.message : 'Failed.'),
        );
      }}
    >
      <label>
        Lift a reviewer's exposure block (reviewer id)
        <input value={reviewer} onInput={(e) => setReviewer((e.target as HTMLInputElement).value)} required />
      </label>
      <button type="submit">Lift block</button>
      <p role="status">{message}</p>
    </form>
  );
}
