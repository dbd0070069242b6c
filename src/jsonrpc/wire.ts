// A message as it goes to a client: one string, or pieces when it carries a
// result relayed as bytes (raw-result.ts), which are written as they are.

import { RawResult } from "./raw-result.ts";
import type { Message } from "./message.ts";

export type WirePieces = (string | Uint8Array)[];

/** JSON text, or pieces to write in order when a result is relayed raw. */
export function toWire(m: Message | Message[]): string | WirePieces {
  if (!Array.isArray(m)) return isRaw(m) ? rawPieces(m) : JSON.stringify(m);
  if (!m.some(isRaw)) return JSON.stringify(m);
  const out: WirePieces = ["["];
  m.forEach((item, i) => {
    if (i > 0) out.push(",");
    if (isRaw(item)) out.push(...rawPieces(item));
    else out.push(JSON.stringify(item));
  });
  out.push("]");
  return out;
}

function isRaw(m: Message): m is Message & { id: string | number; result: RawResult } {
  return "result" in m && (m.result as unknown) instanceof RawResult;
}

function rawPieces(m: { id: string | number; result: RawResult }): WirePieces {
  return [`{"jsonrpc":"2.0","id":${JSON.stringify(m.id)},"result":`, ...m.result.bytes(), "}"];
}
