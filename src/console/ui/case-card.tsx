import { useState } from 'preact/hooks';
import type { Card, CardDecision, DecisionKind, Exposure } from '../queue/card.js';
import { ApiError, postJson, type SessionUser } from './api.js';
import { clock, duration } from './format.js';
import { Sparkline } from './sparkline.js';
import { Storyboard } from './storyboard.js';

interface Props {
  readonly card: Card;
  readonly user: SessionUser;
  readonly now: number;
  readonly exposure: Exposure | undefined;
  readonly onExposure: (e: Exposure) => void;
}

export function CaseCard({ card, user, now, exposure, onExposure }: Props) {
  const [error, setError] = useState('');
  const claim = card.claim && Date.parse(card.claim.expiresAt) > now ? card.claim : undefined;
  const mine = claim?.reviewer === user.id;
  const open = card.state === 'open';
  const left = Date.parse(card.deadlineAt) - now;
  const act = (path: string, body: unknown = {}) =>
    postJson(`/api/cases/${encodeURIComponent(card.caseId)}/${path}`, body).then(
      () => setError(''),
      (err: unknown) => setError(err instanceof ApiError ? err.message : 'The request failed.'),
    );

  return (
    <article
      class={`card priority-${card.priority} ${card.state}${mine ? ' mine' : ''}`}
      aria-labelledby={`case-${card.caseId}-title`}
      data-case-id={card.caseId}
      tabIndex={0}
    >
      <header>
        <span class={`badge ${card.priority}`}>{card.priority}</span>
        <h3 id={`case-${card.caseId}-title`}>
          Stream <code>{card.streamId}</code>
        </h3>
        {card.killSwitch ? (
          <span class="badge killed" data-testid="killswitch">
            kill-switch fired {clock(card.killSwitch.at)}
          </span>
        ) : null}
        {open ? (
          <span class={`deadline${left < 0 ? ' overdue' : ''}`} data-testid="deadline">
            {left < 0 ? `overdue by ${duration(-left)}` : `review within ${duration(left)}`}
          </span>
        ) : (
          <span class="badge closed">closed: {card.closure?.resolution ?? card.closure?.cause}</span>
        )}
      </header>

      <ul class="reasons" aria-label="Reasons">
        {card.reasons.map((r, i) => (
          <li key={i}>
            <span>{r.label}</span>
            {r.history && r.history.length > 1 ? <Sparkline points={r.history} label={`${r.label.split(' ')[0]} score`} /> : null}
          </li>
        ))}
      </ul>

      <dl class="meta">
        <dt>Case</dt>
        <dd>
          <code>{card.caseId}</code> (revision {card.revision})
        </dd>
        <dt>Rule</dt>
        <dd>
          {card.policy.rule} · policy {card.policy.version}
        </dd>
        <dt>Opened</dt>
        <dd>{clock(card.openedAt)}</dd>
        {Object.entries(card.metadata).map(([k, v]) => [<dt key={`k-${k}`}>{k}</dt>, <dd key={`v-${k}`}>{v}</dd>])}
      </dl>

      <Storyboard card={card} user={user} mine={mine} exposure={exposure} onExposure={onExposure} />

      {open ? (
        <div class="claim" data-testid="claim">
          {claim ? (
            <p>
              {mine ? 'You hold this case' : `Claimed by ${claim.reviewerName}`} · claim ends in{' '}
              {duration(Date.parse(claim.expiresAt) - now)}
            </p>
          ) : (
            <p>Unclaimed</p>
          )}
          {!claim ? (
            <button type="button" onClick={() => void act('claim')}>
              Claim
            </button>
          ) : null}
          {mine ? (
            <>
              <button type="button" onClick={() => void act('claim')}>
                Extend claim
              </button>
              <button type="button" onClick={() => void act('release')}>
                Release
              </button>
            </>
          ) : null}
        </div>
      ) : null}

      {mine && open ? <DecisionForm caseId={card.caseId} onSubmit={(body) => act('decision', body)} /> : null}
      {error ? (
        <p class="error" role="alert">
          {error}
        </p>
      ) : null}
      <Decisions decisions={card.decisions} />
    </article>
  );
}

const CHOICES: ReadonlyArray<{ value: Exclude<DecisionKind, 'add-to-list'>; label: string; hint: string }> = [
  { value: 'confirm', label: 'Confirm', hint: 'violation: the stream is stopped (kill-switch)' },
  { value: 'dismiss', label: 'Dismiss', hint: 'no violation: this reason is suppressed for the stream for a while' },
  { value: 'escalate', label: 'Escalate', hint: 'raise the priority for a senior reviewer' },
];

function DecisionForm({ caseId, onSubmit }: { caseId: string; onSubmit: (body: unknown) => Promise<void> }) {
  const [decision, setDecision] = useState<DecisionKind | ''>('');
  const [note, setNote] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="decision"
      aria-label={`Decision on case ${caseId}`}
      onSubmit={(e) => {
        e.preventDefault();
        if (!decision) return;
        setBusy(true);
        void onSubmit({ decision, ...(note.trim() ? { note: note.trim() } : {}) }).finally(() => setBusy(false));
      }}
    >
      <fieldset>
        <legend>Decision</legend>
        {CHOICES.map((c) => (
          <label key={c.value} class="choice">
            <input
              type="radio"
              name={`decision-${caseId}`}
              value={c.value}
              checked={decision === c.value}
              onChange={() => setDecision(c.value)}
            />
            <strong>{c.label}</strong> <span class="muted">— {c.hint}</span>
          </label>
        ))}
      </fieldset>
      <label>
        Note (optional, audited)
        <textarea value={note} maxLength={4000} rows={2} onInput={(e) => setNote((e.target as HTMLTextAreaElement).value)} />
      </label>
      <button type="submit" disabled={!decision || busy}>
        Submit decision
      </button>
    </form>
  );
}

function Decisions({ decisions }: { decisions: readonly CardDecision[] }) {
  if (decisions.length === 0) return null;
  return (
    <ul class="decisions" aria-label="Decisions" aria-live="polite">
      {decisions.map((d) => (
        <li key={d.decisionId} data-testid="decision" data-acked={d.ack ? d.ack.result : 'pending'}>
          <strong>{d.decision}</strong> by {d.reviewer} at {clock(d.at)}
          {d.note ? <span class="muted"> — “{d.note}”</span> : null}
          {d.ack ? (
            <span class={`ack ${d.ack.result}`}>
              {' '}
              · acknowledged: {d.ack.result}, case {d.ack.state}
              {d.ack.killSwitchEventId ? `, kill-switch ${d.ack.killSwitchEventId}` : ''}
              {d.ack.suppressedUntil ? `, suppressed until ${clock(d.ack.suppressedUntil)}` : ''}
              {d.ack.detail ? ` (${d.ack.detail})` : ''}
            </span>
          ) : (
            <span class="pending"> · waiting for the worker to acknowledge…</span>
          )}
        </li>
      ))}
    </ul>
  );
}
