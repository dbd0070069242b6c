// The binary starts with JIT tier-up thresholds raised (scripts/compile-flags.ts),
// so that start-up code, which runs once, stays in the cheaper tiers and idle
// RSS is lower. The first call forwarded to a backend restores the normal
// policy: from then on the call path tiers up as it always would (measured:
// with the raised policy kept, CPU per call rose by a quarter). Until then a
// client that only initialized and listed (Claude Code at start) costs less.

let warm = false;

export function interactive(): void {
  if (warm) return;
  warm = true;
  Bun.unsafe.setJITPolicy(1);
}
