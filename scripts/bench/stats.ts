// Order statistics over samples.

export function percentile(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]! : NaN;
}

export function median(values: number[]): number {
  const ok = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (!ok.length) return NaN;
  const mid = ok.length >> 1;
  return ok.length % 2 ? ok[mid]! : (ok[mid - 1]! + ok[mid]!) / 2;
}

/** Fisher-Yates, in place. */
export function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
