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
  readonly pins: Pins | null;
  private poller: ReturnType<typeof setInterval> | null = null;

  constructor(db: Database, pinning: Config["pinning"]) {
    this.switches = new Switches(db);
    this.pins = pinning.mode === "off" ? null : new Pins(db, pinning.mode);
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
