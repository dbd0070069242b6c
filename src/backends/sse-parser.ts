// A streaming text/event-stream parser (WHATWG server-sent events), for the
// Streamable HTTP and legacy SSE connectors.

export type SseEvent = { event: string; data: string; id?: string };

/** Reads events until the stream ends; `onRetry` gets the server's reconnection delay (`retry:`). */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  onEvent: (e: SseEvent) => void,
  onRetry?: (ms: number) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | undefined;
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = buffer.search(/\r\n|\r|\n/)) !== -1) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + (buffer[nl] === "\r" && buffer[nl + 1] === "\n" ? 2 : 1));
      if (line === "") {
        if (data.length > 0) onEvent({ event: event || "message", data: data.join("\n"), ...(id !== undefined && { id }) });
        event = "";
        data = [];
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
      else if (field === "id") id = value;
      else if (field === "retry" && /^\d+$/.test(value)) onRetry?.(Number(value));
    }
  }
}
