/**
 * The load benchmark's chart as a self-contained SVG (no plotting library for two small line
 * charts): latency percentiles against the number of streams, and CPU per stream, per mode.
 */
export interface Series {
  readonly label: string;
  readonly colour: string;
  readonly dashed?: boolean;
  readonly points: readonly (readonly [number, number])[];
}

export interface Panel {
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  /** A horizontal reference line (the budget). */
  readonly reference?: { readonly y: number; readonly label: string };
  /** Values above this are drawn at it, labelled with their value (a collapse would flatten the rest). */
  readonly yCap?: number;
}

/** What the chart reads of a step (bench/load/run-load.ts writes more). */
export interface LoadStep {
  readonly mode: 'auto' | 'all';
  readonly streams: number;
  readonly p50_frame_to_decision_ms: number;
  readonly p99_frame_to_decision_ms: number;
  readonly p99_source_to_decision_ms: number;
  readonly cpu_pct_per_stream: number;
}

/** The load benchmark's two panels from its steps. */
export function loadChart(results: readonly LoadStep[], budgetMs: number, note: string): string {
  const of = (mode: 'auto' | 'all', key: keyof LoadStep): [number, number][] =>
    results.filter((r) => r.mode === mode).map((r) => [r.streams, r[key] as number]);
  const latency: Panel = {
    title: 'Latency per frame',
    yLabel: 'ms',
    reference: { y: budgetMs, label: `budget ${budgetMs} ms` },
    yCap: 4 * budgetMs,
    series: [
      { label: 'auto p50 capture→decision', colour: '#1f77b4', points: of('auto', 'p50_frame_to_decision_ms') },
      { label: 'auto p99 capture→decision', colour: '#0b3c73', points: of('auto', 'p99_frame_to_decision_ms') },
      { label: 'auto p99 source→decision', colour: '#2ca02c', points: of('auto', 'p99_source_to_decision_ms') },
      { label: 'all p99 capture→decision', colour: '#d62728', dashed: true, points: of('all', 'p99_frame_to_decision_ms') },
      { label: 'all p99 source→decision', colour: '#ff7f0e', dashed: true, points: of('all', 'p99_source_to_decision_ms') },
    ].filter((s) => s.points.length > 0),
  };
  const cpu: Panel = {
    title: 'CPU per stream (worker + ffmpeg)',
    yLabel: '% of one core',
    series: [
      { label: 'auto (keyframes, 2 s GOP)', colour: '#1f77b4', points: of('auto', 'cpu_pct_per_stream') },
      { label: 'all (every frame, 1 fps)', colour: '#d62728', dashed: true, points: of('all', 'cpu_pct_per_stream') },
    ].filter((s) => s.points.length > 0),
  };
  return renderChart('streamscreen worker under load: one worker, live 720p30 RTMP streams', [latency, cpu], note);
}

const W = 460;
const H = 300;
const M = { left: 56, right: 16, top: 34, bottom: 96 };

export function renderChart(title: string, panels: readonly Panel[], footnote: string): string {
  const width = W * panels.length;
  const parts = panels.map((p, i) => panel(p, i * W));
  const notes = wrap(footnote, Math.floor(width / 6.2));
  const height = H + 16 + notes.length * 14;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${width / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${esc(title)}</text>`,
    ...parts,
    ...notes.map((line, i) => `<text x="8" y="${H + 24 + i * 14}" fill="#555">${esc(line)}</text>`),
    '</svg>',
    '',
  ].join('\n');
}

function panel(p: Panel, x0: number): string {
  const xs = p.series.flatMap((s) => s.points.map(([x]) => x));
  const ys = [...p.series.flatMap((s) => s.points.map(([, y]) => y)), p.reference?.y ?? 0];
  const xMax = Math.max(1, ...xs);
  const yMax = niceMax(Math.min(p.yCap ?? Infinity, Math.max(1, ...ys)));
  const capped = (y: number): number => Math.min(y, yMax);
  const plotW = W - M.left - M.right;
  const plotH = H - M.top - M.bottom;
  const px = (x: number): number => x0 + M.left + (x / xMax) * plotW;
  const py = (y: number): number => M.top + plotH - (y / yMax) * plotH + 20;
  const out: string[] = [];
  out.push(`<text x="${x0 + W / 2}" y="${M.top + 8}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  // Axes and grid.
  for (let i = 0; i <= 4; i++) {
    const y = (yMax * i) / 4;
    out.push(`<line x1="${px(0)}" x2="${px(xMax)}" y1="${py(y)}" y2="${py(y)}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${px(0) - 4}" y="${py(y) + 4}" text-anchor="end">${fmt(y)}</text>`);
  }
  for (const x of [...new Set(xs)].sort((a, b) => a - b)) {
    out.push(`<text x="${px(x)}" y="${py(0) + 14}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<line x1="${px(0)}" x2="${px(xMax)}" y1="${py(0)}" y2="${py(0)}" stroke="#333"/>`);
  out.push(`<text x="${px(xMax / 2)}" y="${py(0) + 28}" text-anchor="middle">concurrent streams</text>`);
  out.push(`<text transform="translate(${x0 + 14},${py(yMax / 2)}) rotate(-90)" text-anchor="middle">${esc(p.yLabel)}</text>`);
  if (p.reference) {
    out.push(
      `<line x1="${px(0)}" x2="${px(xMax)}" y1="${py(p.reference.y)}" y2="${py(p.reference.y)}" stroke="#c00" stroke-dasharray="2 3"/>`,
    );
    out.push(`<text x="${px(xMax) - 2}" y="${py(p.reference.y) - 4}" text-anchor="end" fill="#c00">${esc(p.reference.label)}</text>`);
  }
  p.series.forEach((s, i) => {
    const pts = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(capped(y)).toFixed(1)}`).join(' ');
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    if (s.points.length > 1) out.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="2"${dash} points="${pts}"/>`);
    for (const [x, y] of s.points) {
      out.push(`<circle cx="${px(x).toFixed(1)}" cy="${py(capped(y)).toFixed(1)}" r="3" fill="${s.colour}"/>`);
      if (y > yMax)
        out.push(`<text x="${px(x) - 4}" y="${py(yMax) + 12 + i * 11}" text-anchor="end" fill="${s.colour}">↑ ${fmt(y)}</text>`);
    }
    // Legend below the plot, two columns.
    const lx = x0 + M.left + (i % 2) * (plotW / 2);
    const ly = py(0) + 44 + Math.floor(i / 2) * 14;
    out.push(`<line x1="${lx}" x2="${lx + 18}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.colour}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${lx + 22}" y="${ly}">${esc(s.label)}</text>`);
  });
  return out.join('\n');
}

function wrap(text: string, columns: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > columns) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

function niceMax(v: number): number {
  const exp = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= v) return m * exp;
  return 10 * exp;
}

function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
