import { describe, expect, test } from "bun:test";
import { Breaker } from "../../src/backends/breaker.ts";

function clocked(failures = 3, coolDownMs = 1000) {
  const clock = { t: 1_000_000 };
  const changes: boolean[] = [];
  const breaker = new Breaker({ failures, coolDownMs }, (open) => changes.push(open), () => clock.t);
  return { breaker, clock, changes };
}

describe("Breaker", () => {
  test("stays closed below the threshold; a success resets the count", () => {
    const { breaker } = clocked();
    breaker.failed();
    breaker.failed();
    breaker.succeeded();
    breaker.failed();
    breaker.failed();
    expect(breaker.state).toBe("closed");
    expect(breaker.admit()).toBe(0);
  });

  test("opens after N failures in a row and fails fast with the time left", () => {
    const { breaker, clock, changes } = clocked();
    for (let i = 0; i < 3; i++) breaker.failed();
    expect(breaker.state).toBe("open");
    expect(changes).toEqual([true]);
    expect(breaker.admit()).toBe(1000);
    clock.t += 400;
    expect(breaker.admit()).toBe(600);
    expect(breaker.retryAfterMs).toBe(600);
  });

  test("half-open after the cool-down lets one probe through; success closes", () => {
    const { breaker, clock, changes } = clocked();
    for (let i = 0; i < 3; i++) breaker.failed();
    clock.t += 1000;
    expect(breaker.state).toBe("half-open");
    expect(breaker.admit()).toBe(0);
    expect(breaker.admit()).toBeGreaterThan(0); // only one probe at a time
    breaker.succeeded();
    expect(breaker.state).toBe("closed");
    expect(breaker.admit()).toBe(0);
    expect(changes).toEqual([true, false]);
  });

  test("a failed probe opens it again for a new cool-down", () => {
    const { breaker, clock } = clocked();
    for (let i = 0; i < 3; i++) breaker.failed();
    clock.t += 1000;
    expect(breaker.admit()).toBe(0);
    breaker.failed();
    expect(breaker.state).toBe("open");
    expect(breaker.admit()).toBe(1000);
  });

  test("a probe that never reports back is given up after another cool-down", () => {
    const { breaker, clock } = clocked();
    for (let i = 0; i < 3; i++) breaker.failed();
    clock.t += 1000;
    expect(breaker.admit()).toBe(0);
    clock.t += 1000;
    expect(breaker.admit()).toBe(0);
  });
});
