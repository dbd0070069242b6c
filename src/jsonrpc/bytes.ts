// A message's byte pieces (as chunks arrived) made into one array, for the
// few places that must read them whole: decoding a line or an event, parsing a
// member. Everything else keeps the pieces.

/** The first `size` bytes of `parts` as one array; the part itself when it is the only one. */
export function joinBytes(parts: Uint8Array[], size: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.length <= size) return parts[0]!;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    const take = Math.min(p.length, size - offset);
    out.set(take === p.length ? p : p.subarray(0, take), offset);
    offset += take;
    if (offset >= size) break;
  }
  return out;
}
