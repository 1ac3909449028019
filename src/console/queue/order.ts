import type { Card, Priority } from './card.js';

const RANK: Record<Priority, number> = { critical: 0, high: 1, normal: 2 };

/** Most urgent first: open before closed, then priority, then the nearest deadline. Shared by server and browser. */
export function compareCards(a: Card, b: Card): number {
  if (a.state !== b.state) return a.state === 'open' ? -1 : 1;
  return RANK[a.priority] - RANK[b.priority] || a.deadlineAt.localeCompare(b.deadlineAt) || a.caseId.localeCompare(b.caseId);
}
