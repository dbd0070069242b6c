// The governance steps a call passes once its target is known: authorize
// (RBAC), the kill switch, then rate limits. Each refusal is a typed error and
// leaves its decision and rule on the call for the audit row. Lists are
// filtered by the same rules, so a caller sees only what it may use.

import type { Config, Identity } from "../config/load.ts";
import { Disabled, RateLimited, UnknownTarget } from "../errors.ts";
import { compileGlob } from "../policy/glob.ts";
import { Rbac, type TargetKind } from "../policy/rbac.ts";
import { RateLimiter } from "../policy/rate-limit.ts";
import type { Switches } from "../policy/switches.ts";
import type { Call } from "../session/session.ts";

export type { TargetKind };

export class Policy {
  private readonly rbac: Rbac;
  private readonly limiter: RateLimiter | null;
  private readonly disabled: RegExp[];

  constructor(
    config: Config,
    private readonly switches: Switches | null,
    now?: () => number,
  ) {
    this.rbac = Rbac.compile(config.rbac);
    const limits = config.rateLimits;
    const any = limits.perIdentity || [limits.roles, limits.backends, limits.tools].some((m) => Object.keys(m).length > 0);
    this.limiter = any ? new RateLimiter(limits, now) : null;
    this.disabled = config.disabledTools.map(compileGlob);
  }

  /** Whether `identity` may see a tool, prompt or resource in lists. */
  visible(identity: Identity, kind: TargetKind, name: string, backend: string): boolean {
    if (kind === "tool" && this.isDisabled(name, backend)) return false;
    return this.rbac.visible(identity.roles, kind, name, backend);
  }

  /** A key that is the same for identities that see the same lists. */
  viewKey(identity: Identity): string {
    return identity.roles.join("\n");
  }

  /**
   * Admits one call or throws. A denied target reads as unknown, so that its
   * existence is not revealed.
   */
  admit(call: Call, kind: TargetKind, name: string, backend: string, args: unknown): void {
    const identity = call.identity;
    const decision = this.rbac.decide(identity.roles, kind, name, backend, args);
    call.rule = decision.rule;
    if (!decision.allowed) {
      call.decision = "denied";
      throw new UnknownTarget(kind, name);
    }
    if (kind === "tool" && this.isDisabled(name, backend)) {
      call.decision = "disabled";
      throw new Disabled(kind, name);
    }
    const limited = this.limiter?.check(identity, backend, kind === "tool" ? name : null);
    if (limited) {
      call.decision = "rate_limited";
      call.rule = limited.limit;
      throw new RateLimited(limited.limit, limited.retryAfterMs);
    }
    call.decision = "allowed";
  }

  private isDisabled(name: string, backend: string): boolean {
    for (const re of this.disabled) if (re.test(name)) return true;
    return this.switches?.isDisabled(name, backend) ?? false;
  }
}
