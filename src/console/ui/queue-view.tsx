import { useEffect, useState } from 'preact/hooks';
import type { Card, Exposure, ServerEvent } from '../queue/card.js';
import { compareCards } from '../queue/order.js';
import type { SessionUser } from './api.js';
import { CaseCard } from './case-card.js';

interface Props {
  readonly user: SessionUser;
  readonly exposure: Exposure | undefined;
  readonly onExposure: (e: Exposure) => void;
}

/** The live queue: one EventSource, a map of cards, a one-second tick for the countdowns. */
export function QueueView({ user, exposure, onExposure }: Props) {
  const [cards, setCards] = useState<ReadonlyMap<string, Card>>(new Map());
  const [connected, setConnected] = useState(false);
  const [now, setNow] = useState(Date.now());

  useEffect(() => {
    const source = new EventSource('/api/events');
    const onEvent = (m: MessageEvent<string>) => {
      const e = JSON.parse(m.data) as ServerEvent;
      if (e.type === 'snapshot') setCards(new Map(e.cards.map((c) => [c.caseId, c])));
      else if (e.type === 'card') setCards((prev) => new Map(prev).set(e.card.caseId, e.card));
      else if (e.type === 'removed')
        setCards((prev) => {
          const next = new Map(prev);
          next.delete(e.caseId);
          return next;
        });
      else onExposure(e.exposure);
    };
    for (const type of ['snapshot', 'card', 'removed', 'exposure']) source.addEventListener(type, onEvent);
    source.onopen = () => setConnected(true);
    source.onerror = () => setConnected(false);
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => {
      source.close();
      clearInterval(tick);
    };
  }, []);

  const sorted = [...cards.values()].sort(compareCards);
  const open = sorted.filter((c) => c.state === 'open').length;
  return (
    <section aria-labelledby="queue-title">
      <h2 id="queue-title">
        Queue <span class="muted">({open} open)</span>
      </h2>
      <p class="status" role="status" data-testid="connection">
        {connected ? 'Live' : 'Connecting…'}
      </p>
      {sorted.length === 0 ? <p class="muted">No open cases.</p> : null}
      <ol class="queue" aria-label="Cases, most urgent first" onKeyDown={moveFocus}>
        {sorted.map((c) => (
          <li key={c.caseId}>
            <CaseCard card={c} user={user} now={now} exposure={exposure} onExposure={onExposure} />
          </li>
        ))}
      </ol>
    </section>
  );
}

/** Arrow keys (and j/k) move between cards; Tab moves within one. */
function moveFocus(e: KeyboardEvent): void {
  const target = e.target as HTMLElement;
  if (!target.matches('article.card')) return;
  const down = e.key === 'ArrowDown' || e.key === 'j';
  const up = e.key === 'ArrowUp' || e.key === 'k';
  if (!down && !up) return;
  const cards = [...document.querySelectorAll<HTMLElement>('article.card')];
  const next = cards[cards.indexOf(target) + (down ? 1 : -1)];
  if (next) {
    e.preventDefault();
    next.focus();
  }
}
