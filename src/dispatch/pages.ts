// Sentinel pages its merged lists itself (backends' pages are all pulled at
// load), with opaque cursors that encode an offset.

import { InvalidParams } from "../errors.ts";

export function page<T>(items: T[], cursor: unknown, size: number): { items: T[]; nextCursor?: string } {
  let offset = 0;
  if (cursor !== undefined) {
    const decoded = typeof cursor === "string" ? /^o(\d+)$/.exec(Buffer.from(cursor, "base64url").toString()) : null;
    if (!decoded) throw new InvalidParams("Invalid params: unknown cursor");
    offset = Number(decoded[1]);
  }
  const end = offset + size;
  const slice = offset === 0 && end >= items.length ? items : items.slice(offset, end);
  return end < items.length ? { items: slice, nextCursor: Buffer.from(`o${end}`).toString("base64url") } : { items: slice };
}
