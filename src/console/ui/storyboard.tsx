import { useEffect, useState } from 'preact/hooks';
import type { Card, CardFrame, Exposure } from '../queue/card.js';
import { ApiError, exposureFromHeaders, post, type SessionUser } from './api.js';
import { clock } from './format.js';

interface Props {
  readonly card: Card;
  readonly user: SessionUser;
  readonly mine: boolean;
  readonly exposure: Exposure | undefined;
  readonly onExposure: (e: Exposure) => void;
}

/**
 * The storyboard. Every frame starts as the server's blurred greyscale thumbnail; a click on
 * one frame (a button: keyboard too, never hover) asks the server for that frame, which counts
 * it against the reviewer's budget. Nothing plays by itself.
 */
export function Storyboard({ card, user, mine, exposure, onExposure }: Props) {
  const [message, setMessage] = useState('');
  if (card.frames.length === 0) return <p class="muted">No evidence attached yet.</p>;
  return (
    <div>
      <ul class="storyboard" aria-label={`Storyboard of case ${card.caseId}`}>
        {card.frames.map((f) => (
          <li key={f.seq}>
            <Frame card={card} frame={f} user={user} mine={mine} exposure={exposure} onExposure={onExposure} onMessage={setMessage} />
          </li>
        ))}
      </ul>
      <p class="message" role="status" aria-live="polite">
        {message}
      </p>
    </div>
  );
}

function Frame({ card, frame, user, mine, exposure, onExposure, onMessage }: Props & { frame: CardFrame; onMessage: (m: string) => void }) {
  const [revealed, setRevealed] = useState<string | undefined>();
  const [warning, setWarning] = useState(false);
  useEffect(() => () => revealed && URL.revokeObjectURL(revealed), [revealed]);
  const thumb = `/api/cases/${encodeURIComponent(card.caseId)}/frames/${frame.seq}/thumbnail`;
  const canReveal = frame.renditions.includes('reviewer');
  const hasOriginal = frame.renditions.includes('original');
  const budgetLeft = exposure ? exposure.budget - exposure.used : undefined;

  const fetchImage = async (path: string, body: unknown) => {
    if (!mine) {
      onMessage('Claim the case before unblurring its evidence.');
      return;
    }
    try {
      const res = await post(`/api/cases/${encodeURIComponent(card.caseId)}/frames/${frame.seq}/${path}`, body);
      const e = exposureFromHeaders(res, exposure?.shiftEndsAt ?? new Date().toISOString());
      if (e) onExposure(e);
      setRevealed(URL.createObjectURL(await res.blob()));
      onMessage('');
    } catch (err) {
      onMessage(err instanceof ApiError ? err.message : 'The frame could not be loaded.');
    }
  };

  return (
    <figure class={`frame${frame.decisive ? ' decisive' : ''}`}>
      {revealed ? (
        <img src={revealed} alt={`Frame ${frame.seq}, unblurred`} class="revealed" data-state="revealed" />
      ) : (
        <button
          type="button"
          class="thumb"
          disabled={!canReveal}
          aria-label={`Frame ${frame.seq} at ${clock(frame.capturedAt)}, blurred. Activate to unblur this one frame${
            budgetLeft === undefined ? '' : ` (${budgetLeft} unblurred views left this shift)`
          }`}
          onClick={() => void fetchImage('reveal', {})}
        >
          <img src={thumb} alt="" data-state="blurred" loading="lazy" />
        </button>
      )}
      <figcaption>
        {frame.decisive ? <strong>decisive · </strong> : null}frame {frame.seq} · {clock(frame.capturedAt)}
        {hasOriginal ? (
          <button type="button" class="link" onClick={() => setWarning(true)}>
            preserved original…
          </button>
        ) : null}
      </figcaption>
      {warning ? (
        <OriginalWarning
          warn={user.wellness.warnBeforeOriginals}
          onCancel={() => setWarning(false)}
          onConfirm={(why) => {
            setWarning(false);
            void fetchImage('original', { why });
          }}
        />
      ) : null}
    </figure>
  );
}

/** The warning screen before a preserved original: a reason is required, the view is audited. */
function OriginalWarning({ warn, onCancel, onConfirm }: { warn: boolean; onCancel: () => void; onConfirm: (why: string) => void }) {
  const [why, setWhy] = useState('');
  return (
    <div class="warning" role="dialog" aria-modal="false" aria-labelledby="orig-title">
      <h4 id="orig-title">Preserved original</h4>
      {warn ? (
        <p>
          This is the unaltered frame kept for legal reporting. It is not blurred and may be distressing. Viewing it is recorded in the
          audit log with your reason, and counts against your exposure budget.
        </p>
      ) : (
        <p>Viewing the preserved original is audited with your reason.</p>
      )}
      <label>
        Reason (required)
        <textarea value={why} onInput={(e) => setWhy((e.target as HTMLTextAreaElement).value)} rows={2} />
      </label>
      <div class="actions">
        <button type="button" disabled={!why.trim()} onClick={() => onConfirm(why.trim())}>
          Show the original
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}
