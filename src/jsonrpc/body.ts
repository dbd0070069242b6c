// HTTP bodies carrying JSON-RPC, read with a size limit: the text, or null once
// it passes `max` bytes (the rest is not buffered). Used for what clients POST
// and for what HTTP backends answer.

export async function readBody(body: ReadableStream<Uint8Array> | null, max: number): Promise<string | null> {
  if (!body) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.length;
    if (size > max) {
      await body.cancel().catch(() => {});
      return null;
    }
    parts.push(chunk);
  }
  return Buffer.concat(parts).toString("utf8");
}
