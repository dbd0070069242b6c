import type { Identity } from "../config/load.ts";

/** An authenticated caller: who, with which roles, how it proved it, and until when. */
export type Principal = Identity & { via: "jwt" | "apikey" | "local" | "anonymous"; expiresAt: number | null };
