// A validating JSON scanner over a message's bytes, for messages too large to
// parse and serialise again on every hop (screenshots, files, dumps). One pass,
// no strings built: it checks the syntax and the shape limits (shape.ts), and
// notes where each top-level member of the message lies, and whether its
// result says isError, so that a large result can be passed on as the bytes
// it came in (raw-result.ts). A 20 MiB result parsed and re-serialised costs
// ~14x its size in peak RSS; passed as bytes, about 1x.

import type { JsonLimits } from "../config/load.ts";
import { ParseError } from "../errors.ts";
import { limitExceeded, type Scope } from "./shape.ts";

/** Byte offsets [start, end) into the message. */
export type Span = { start: number; end: number };

export type Skeleton = {
  /** The top-level members with short names (jsonrpc, id, method, result, error...). */
  members: Map<string, Span>;
  /** The result's own isError member is `true`. */
  isError: boolean;
  /** Line breaks between tokens (pretty-printed JSON): the bytes cannot go on a line-framed wire as they are. */
  lineBreaks: boolean;
};

const enum S {
  Value,
  AfterValue,
  Key,
  Colon,
  String,
  Escape,
  Unicode,
  Number,
  Literal,
  Done,
}

const ARRAY = 1;
const OBJECT = 2;
const MAX_KEY = 32;
const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const LITERALS: Record<number, string> = { 0x74: "true", 0x66: "false", 0x6e: "null" };

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/**
 * Scans one JSON message spread over `parts`. Returns null when it is not an
 * object (a batch, say: the caller parses those); throws ParseError or
 * LimitExceeded otherwise.
 */
export function scanMessage(parts: Uint8Array[], limits: JsonLimits, scope: Scope): Skeleton | null {
  // No string can be longer than the message: then its length need not be counted.
  const countUnits = limits.stringLength < limits.messageBytes;
  const kinds = new Uint8Array(limits.depth + 2);
  const counts: number[] = new Array(limits.depth + 2).fill(0);
  const members = new Map<string, Span>();
  let depth = 0;
  let state: S = S.Value as S;
  let inKey = false;
  let strLen = 0;
  let hex = 0;
  let key: number[] = [];
  let topKey: string | null = null;
  let resultKey: string | null = null;
  let valueStart = -1;
  let isError = false;
  let number = "";
  let literal = "";
  let literalAt = 0;
  /** Just after "[": a "]" may close it with no item. */
  let emptyOk = false;
  let offset = 0;
  let started = false;
  let lineBreaks = false;

  const fail = (why: string): never => {
    throw new ParseError(`Parse error: invalid JSON (${why} at byte ${offset})`);
  };
  const open = (kind: number) => {
    if (++depth > limits.depth) throw limitExceeded("depth", limits, scope);
    kinds[depth] = kind;
    counts[depth] = 0;
  };
  /** A value at the current depth has ended just before `at`. */
  const ended = (at: number, scalar: string | null) => {
    if (depth === 1) {
      if (topKey !== null && valueStart >= 0) members.set(topKey, { start: valueStart, end: at });
      valueStart = -1;
    }
    if (depth === 2 && topKey === "result" && resultKey === "isError" && kinds[2] === OBJECT) isError = scalar === "true";
    state = depth === 0 ? S.Done : S.AfterValue;
  };

  for (const part of parts) {
    const n = part.length;
    for (let i = 0; i < n; i++, offset++) {
      const c = part[i]!;
      switch (state) {
        case S.Value:
          if (isSpace(c)) {
            if (c === 0x0a || c === 0x0d) lineBreaks = true;
            continue;
          }
          if (!started) {
            started = true;
            if (c !== 0x7b) return null;
          }
          if (c === 0x5d && emptyOk) {
            emptyOk = false;
            depth--;
            ended(offset + 1, null);
            continue;
          }
          emptyOk = false;
          if (depth === 1 && valueStart < 0) valueStart = offset;
          if (c === 0x7b) {
            open(OBJECT);
            state = S.Key;
          } else if (c === 0x5b) {
            open(ARRAY);
            state = S.Value;
            emptyOk = true;
          } else if (c === 0x22) {
            inKey = false;
            strLen = 0;
            state = S.String;
          } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
            number = String.fromCharCode(c);
            state = S.Number;
          } else if (LITERALS[c]) {
            literal = LITERALS[c]!;
            literalAt = 1;
            state = S.Literal;
          } else fail("unexpected character");
          continue;
        case S.AfterValue:
          if (isSpace(c)) {
            if (c === 0x0a || c === 0x0d) lineBreaks = true;
            continue;
          }
          if (c === 0x2c) {
            if (kinds[depth] === ARRAY) {
              if (++counts[depth]! >= limits.arrayItems) throw limitExceeded("arrayItems", limits, scope);
              state = S.Value;
            } else state = S.Key;
          } else if (c === 0x5d && kinds[depth] === ARRAY) {
            depth--;
            ended(offset + 1, null);
          } else if (c === 0x7d && kinds[depth] === OBJECT) {
            depth--;
            ended(offset + 1, null);
          } else fail("expected , or a closing bracket");
          continue;
        case S.Key:
          if (isSpace(c)) {
            if (c === 0x0a || c === 0x0d) lineBreaks = true;
            continue;
          }
          if (c === 0x22) {
            if (++counts[depth]! > limits.objectKeys) throw limitExceeded("objectKeys", limits, scope);
            inKey = true;
            strLen = 0;
            key = [];
            state = S.String;
          } else if (c === 0x7d && counts[depth] === 0) {
            depth--;
            ended(offset + 1, null);
          } else fail("expected a key");
          continue;
        case S.Colon:
          if (isSpace(c)) {
            if (c === 0x0a || c === 0x0d) lineBreaks = true;
            continue;
          }
          if (c !== 0x3a) fail("expected :");
          state = S.Value;
          continue;
        case S.String: {
          // The bulk of a large message is string bytes: skip them in a tight loop.
          let j = i;
          let units = 0;
          if (countUnits) {
            for (; j < n; j++) {
              const b = part[j]!;
              if (b === 0x22 || b === 0x5c || b < 0x20) break;
              // UTF-16 units, as shape.ts counts: continuation bytes add nothing, 4-byte sequences two.
              if (b < 0x80 || b >= 0xc0) units += b >= 0xf0 ? 2 : 1;
            }
          } else {
            for (; j < n; j++) {
              const b = part[j]!;
              if (b === 0x22 || b === 0x5c || b < 0x20) break;
            }
          }
          if (j > i) {
            strLen += units;
            if (strLen > limits.stringLength) throw limitExceeded("stringLength", limits, scope);
            if (inKey) for (let k = i; k < j && key.length <= MAX_KEY; k++) key.push(part[k]!);
            offset += j - i;
            i = j;
            if (i === n) {
              // The part ended inside the string: the loop's step must not count a byte twice.
              i--;
              offset--;
              continue;
            }
          }
          const c2 = part[i]!;
          if (c2 === 0x22) {
            if (inKey) {
              const name = key.length <= MAX_KEY ? String.fromCharCode(...key) : null;
              if (depth === 1) topKey = name;
              else if (depth === 2) resultKey = name;
              state = S.Colon;
            } else ended(offset + 1, null);
            continue;
          }
          if (c2 === 0x5c) {
            state = S.Escape;
            continue;
          }
          fail("control character in a string");
          continue;
        }
        case S.Escape:
          strLen++;
          if (strLen > limits.stringLength) throw limitExceeded("stringLength", limits, scope);
          if (c === 0x75) {
            hex = 0;
            state = S.Unicode;
          } else if (c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74) {
            // An escaped key never names a member we look for.
            if (inKey) key.length = MAX_KEY + 1;
            state = S.String;
          } else fail("bad escape");
          continue;
        case S.Unicode:
          if (!isHex(c)) fail("bad \\u escape");
          if (++hex === 4) {
            if (inKey) key.length = MAX_KEY + 1;
            state = S.String;
          }
          continue;
        case S.Number:
          if ((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d) {
            if (number.length > 64) fail("number too long");
            number += String.fromCharCode(c);
            continue;
          }
          if (!NUMBER.test(number)) fail("bad number");
          ended(offset, number);
          // This byte belongs to what follows the number.
          i--;
          offset--;
          continue;
        case S.Literal:
          if (c !== literal.charCodeAt(literalAt)) fail("bad literal");
          if (++literalAt === literal.length) ended(offset + 1, literal);
          continue;
        case S.Done:
          if (!isSpace(c)) fail("text after the value");
          continue;
      }
    }
  }
  if (state !== S.Done) fail("unexpected end");
  return { members, isError, lineBreaks };
}
