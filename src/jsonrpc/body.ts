// HTTP bodies carrying JSON-RPC, read with a size limit: the text, or null once
// it passes `max` bytes (the rest is not buffered). Used for what clients POST
// and for what HTTP backends answer.

export async function readBody(body: ReadableStream<Uint8Array> | null, max: number): Promise<string | null> {
  const read = await readBodyBytes(body, max);
  return read && Buffer.concat(read.parts, read.size).toString("utf8");
}

/** The same as the bytes that came, in their chunks (a large result is relayed as such: raw-result.ts). */
export async function readBodyBytes(body: (AsyncIterable<Uint8Array> & { cancel(): Promise<void> }) | null, max: number): Promise<{ parts: Uint8Array[]; size: number } | null> {
  const parts: Uint8Array[] = [];
  let size = 0;
  if (!body) return { parts, size };
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      await body.cancel().catch(() => {});
      return null;
    }
    parts.push(chunk);
  }
  return { parts, size };
}
