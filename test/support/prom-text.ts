/**
 * Reads the Prometheus text exposition a worker serves on /metrics: enough for tests to look up
 * samples by name and labels and to list every metric family the process registers.
 */
export interface Exposition {
  /** Metric family -> type (`# TYPE` lines), including families with no sample yet. */
  readonly types: ReadonlyMap<string, string>;
  readonly samples: readonly Sample[];
  /** Value of the one sample with this name whose labels include `labels`; undefined when none. */
  value(name: string, labels?: Readonly<Record<string, string>>): number | undefined;
  /** Every series name a query may use: families plus histogram/summary suffixes. */
  seriesNames(): Set<string>;
}

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      if (name && type) types.set(name, type);
      continue;
    }
    if (line.startsWith('#') || line.trim() === '') continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1]!] = l[2]!;
    samples.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return {
    types,
    samples,
    value(name, labels = {}) {
      const found = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
      if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
      return found[0]?.value;
    },
    seriesNames() {
      const names = new Set<string>();
      for (const [name, type] of types) {
        names.add(name);
        if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) names.add(name + s);
        if (type === 'summary') for (const s of ['_sum', '_count']) names.add(name + s);
      }
      return names;
    },
  };
}

export async function scrape(port: number): Promise<Exposition> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`);
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}: ${await res.text()}`);
  return parseExposition(await res.text());
}
