// The shape of a run's figures, shared by the goals, the table and the JSON.

import type { ColdStart } from "./coldstart.ts";
import type { Machine } from "./machine.ts";
import type { Latency } from "./measure.ts";
import type { Idle, Large, Soak } from "./memory.ts";
import type { Options } from "./options.ts";
import type { Era, Impl, Path } from "./rows.ts";
import type { GatewayInfo } from "./sentinel.ts";

export type RowResult = {
  id: string;
  path: Path;
  impl: Impl;
  era: Era;
  /** "ok", or why the row has no figures (e.g. "not installed"). */
  status: string;
  /** Medians over rounds, µs. */
  p50: number;
  p99: number;
  cpuPerCall: number;
  /** p50 minus the direct row's p50 of the same backend transport. */
  addedUs: number;
  rounds: Latency[];
  callsPerSec: Record<string, number>;
  idleRssMb: number;
  idleAnonMb: number;
  /** CPU the idle gateway tree used, ms per second, over a few seconds after the idle memory was read. */
  idleCpuMsPerS: number;
  peakRssMb: number;
};

export type Goal = { goal: string; limit: string; measured: string; pass: boolean | null };

export type Results = {
  date: string;
  machine: Machine;
  gateway: GatewayInfo;
  options: Options;
  env: Record<string, string>;
  rows: RowResult[];
  coldStart: ColdStart[];
  idle: Idle | null;
  soak: Soak | null;
  large: Large[];
  goals: Goal[];
  /** Extras that failed, with why. */
  problems: string[];
  seconds: number;
};
