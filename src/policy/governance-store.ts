// The governance state every gateway on one database shares: tool pins, kill
// switches and their security events, and the poll that notices what other
// processes (`sentinel tools ...`, other gateways) wrote.

import type { Database } from "bun:sqlite";
import type { Config } from "../config/load.ts";
import { Pins } from "./pins.ts";
import { Switches } from "./switches.ts";

// How often a running gateway looks for kill switches and approvals made elsewhere.
const POLL_MS = 1000;

export class GovernanceStore {
  readonly switches: Switches;
  /** null with pinning off. */
  pins: Pins | null;
  private poller: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly db: Database,
    pinning: Config["pinning"],
  ) {
    this.switches = new Switches(db);
    this.pins = pinning.mode === "off" ? null : new Pins(db, pinning.mode);
  }

  /** A reloaded config's pinning mode, from the next catalog rebuild on. */
  configure(pinning: Config["pinning"]): void {
    if (pinning.mode === "off") this.pins = null;
    else if (this.pins) this.pins.mode = pinning.mode;
    else this.pins = new Pins(this.db, pinning.mode);
  }

  /** A security event of the gateway's own (a config reload), beside the pins' and switches'. */
  event(kind: string, detail: string): void {
    try {
      this.db.run("INSERT INTO events (ts, kind, backend, target, detail) VALUES (?, ?, NULL, NULL, ?)", [Date.now(), kind, detail]);
    } catch {
      // The database is busy beyond its timeout: the log line still says it.
    }
  }

  /** Polls the database; `changed` runs when switches or approvals changed there. */
  start(changed: () => void): void {
    this.poller ??= setInterval(() => {
      const switched = this.switches.refresh();
      const approved = this.pins?.refresh() ?? false;
      if (switched || approved) changed();
    }, POLL_MS);
    this.poller.unref();
  }

  stop(): void {
    if (this.poller) clearInterval(this.poller);
    this.poller = null;
  }
}
