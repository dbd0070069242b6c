// A streaming text/event-stream parser (WHATWG server-sent events), for the
// Streamable HTTP and legacy SSE connectors. Linear in the stream's size (a
// multi-megabyte event arriving in many chunks is not rescanned), and bounded:
// an event larger than the limit ends the read with EventTooLarge.

export type SseEvent = { event: string; data: string; id?: string };

export class EventTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`an event exceeds the ${limit}-byte limit`);
  }
}

const LINE_END = /\r\n|\r|\n/g;

/** Reads events until the stream ends; `onRetry` gets the server's reconnection delay (`retry:`). */
export async function readSse(
  body: ReadableStream<Uint8Array>,
  onEvent: (e: SseEvent) => void,
  onRetry?: (ms: number) => void,
  maxEventBytes = Number.POSITIVE_INFINITY,
): Promise<void> {
  const decoder = new TextDecoder();
  // The current line's pieces so far: each chunk is scanned once, never the whole line again.
  let pending: string[] = [];
  let pendingSize = 0;
  let afterCr = false;
  let event = "";
  let data: string[] = [];
  let dataSize = 0;
  let id: string | undefined;

  const onLine = (line: string) => {
    if (line === "") {
      if (data.length > 0) onEvent({ event: event || "message", data: data.join("\n"), ...(id !== undefined && { id }) });
      event = "";
      data = [];
      dataSize = 0;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") {
      data.push(value);
      dataSize += value.length;
      if (dataSize > maxEventBytes) throw new EventTooLarge(maxEventBytes);
    } else if (field === "id") id = value;
    else if (field === "retry" && /^\d+$/.test(value)) onRetry?.(Number(value));
  };

  for await (const chunk of body) {
    const text = decoder.decode(chunk, { stream: true });
    let start = 0;
    // "\r\n" split across chunks: the "\n" ends nothing new.
    if (afterCr && text.startsWith("\n")) start = 1;
    afterCr = false;
    LINE_END.lastIndex = start;
    let m: RegExpExecArray | null;
    while ((m = LINE_END.exec(text)) !== null) {
      const tail = text.slice(start, m.index);
      const line = pending.length ? pending.join("") + tail : tail;
      pending = [];
      pendingSize = 0;
      start = m.index + m[0].length;
      if (m[0] === "\r" && start === text.length) afterCr = true;
      onLine(line);
    }
    if (start < text.length) {
      pending.push(text.slice(start));
      pendingSize += text.length - start;
    }
    if (dataSize + pendingSize > maxEventBytes) throw new EventTooLarge(maxEventBytes);
  }
}
