// One backend's era verdict: fixed by config (SSE is always legacy), else
// remembered (the database shared by the gateways on it, or this process),
// else probed and remembered. A verdict is asked again when it stops holding:
// a modern backend answering era errors (at most once a minute), and a legacy
// verdict at its horizon, since a stale one fails silently (an upgraded
// server still answers initialize).

import type { BackendConfig, JsonLimits } from "../config/load.ts";
import type { Logger } from "../log.ts";
import type { EraVerdict, EraVerdicts } from "../store/era-verdicts.ts";
import { eraKey, probeEra, type Era } from "./era-probe.ts";

// A stdio probe that gets no answer means legacy (§1.13): long enough for a
// server to start, short enough not to hold up startup much.
const STDIO_PROBE_TIMEOUT_MS = 5000;
const LEGACY_HORIZON_MS = 24 * 3_600_000;
const REPROBE_INTERVAL_MS = 60_000;

export class EraVerdictKeeper {
  private known: EraVerdict | null = null;
  private probing = false;
  private horizon: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(
    private readonly cfg: BackendConfig,
    private readonly limits: JsonLimits,
    private readonly startupTimeoutMs: number,
    private readonly store: EraVerdicts | null,
    private readonly log: Logger,
    /** A new probe found the backend in another era than `current` said. */
    private readonly changed: (era: Era) => void,
  ) {}

  /** Whether deciding will probe: the era is neither configured nor remembered (or the verdict is past its horizon). */
  willProbe(): boolean {
    const c = this.cfg;
    return c.era === "auto" && c.transport !== "sse" && this.remembered(eraKey(c)) === null;
  }

  /** The era to connect in; `remembered`: it was not probed just now, so it may be stale. `fresh`: probe regardless. */
  async decide(fresh: boolean): Promise<{ era: Era; remembered: boolean }> {
    const c = this.cfg;
    if (c.transport === "sse" || c.era === "legacy") return { era: "legacy", remembered: false };
    if (c.era === "modern") return { era: "modern", remembered: false };
    const key = eraKey(c);
    if (!fresh) {
      const known = this.remembered(key);
      if (known) {
        this.known = known;
        return { era: known.era, remembered: true };
      }
    }
    const timeout = c.transport === "stdio" ? Math.min(this.startupTimeoutMs, STDIO_PROBE_TIMEOUT_MS) : this.startupTimeoutMs;
    const era = await probeEra(c, this.limits, timeout);
    this.known = { era, probedAt: Date.now() };
    this.store?.put(key, era, this.known.probedAt);
    this.log.info(`probed: speaks the ${era} revision`);
    return { era, remembered: false };
  }

  /** A verdict still good to use: a modern one until it fails, a legacy one until its horizon. */
  private remembered(key: string): EraVerdict | null {
    const known = this.store?.get(key) ?? this.known;
    return known && (known.era === "modern" || Date.now() - known.probedAt < LEGACY_HORIZON_MS) ? known : null;
  }

  /** The backend, connected in `current`, answered as if that no longer held: it is probed again. */
  suspect(current: Era, force = false): void {
    if (this.cfg.era !== "auto" || this.cfg.transport === "sse" || this.probing || this.stopped) return;
    if (!force && this.known && Date.now() - this.known.probedAt < REPROBE_INTERVAL_MS) return;
    this.probing = true;
    void this.decide(true)
      .then(
        ({ era }) => {
          if (this.stopped) return;
          if (era !== current) this.changed(era);
          else this.watch(current);
        },
        (err) => this.log.warn(`cannot probe its era again: ${(err as Error).message}`),
      )
      .finally(() => (this.probing = false));
  }

  /** Connected in `current`: a probed legacy verdict is checked again at its horizon. */
  watch(current: Era): void {
    if (this.horizon) clearTimeout(this.horizon);
    this.horizon = null;
    if (current !== "legacy" || !this.known || this.cfg.era !== "auto" || this.stopped) return;
    const ms = Math.max(0, this.known.probedAt + LEGACY_HORIZON_MS - Date.now());
    this.horizon = setTimeout(() => this.suspect(current, true), ms);
    this.horizon.unref?.();
  }

  stop(): void {
    this.stopped = true;
    if (this.horizon) clearTimeout(this.horizon);
  }
}
