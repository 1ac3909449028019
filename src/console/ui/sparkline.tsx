import type { ScorePoint } from '../queue/card.js';

const W = 120;
const H = 28;

/** Scores over time (0 to 1) as a small line; the label says in words what the line shows. */
export function Sparkline({ points, label }: { points: readonly ScorePoint[]; label: string }) {
  if (points.length === 0) return null;
  const step = points.length > 1 ? W / (points.length - 1) : 0;
  const coords = points.map((p, i) => `${(i * step).toFixed(1)},${(H - 2 - p.score * (H - 4)).toFixed(1)}`).join(' ');
  const last = points[points.length - 1]!;
  const min = Math.min(...points.map((p) => p.score));
  const max = Math.max(...points.map((p) => p.score));
  return (
    <svg
      class="sparkline"
      width={W}
      height={H}
      viewBox={`0 0 ${W} ${H}`}
      role="img"
      aria-label={`${label}: ${points.length} frames, from ${min.toFixed(2)} to ${max.toFixed(2)}, latest ${last.score.toFixed(2)}`}
    >
      <polyline points={coords} fill="none" stroke="currentColor" stroke-width="1.5" />
      <circle cx={(points.length - 1) * step} cy={H - 2 - last.score * (H - 4)} r="2" fill="currentColor" />
    </svg>
  );
}
