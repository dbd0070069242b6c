// A validating JSON scanner over a message's bytes, for messages too large to
// parse and serialise again on every hop (screenshots, files, dumps). One pass,
// no strings built: it checks the syntax and the shape limits (shape.ts), and
// notes where each top-level member of the message lies, whether its result
// says isError and whether it has a resultType, so that a large result can be passed on as the bytes
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
  /** The result has a resultType member (a 2026-07-28 server's result). */
  resultType: boolean;
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
  const scanner = new Scanner(limits, scope);
  for (const part of parts) if (!scanner.push(part)) return null;
  return scanner.end();
}

/** The scan's state between bytes (and between parts): one method per state. */
class Scanner {
  private readonly kinds: Uint8Array;
  private readonly counts: number[];
  private readonly members = new Map<string, Span>();
  // No string can be longer than the message: then its length need not be counted.
  private readonly countUnits: boolean;
  private depth = 0;
  private state: S = S.Value;
  private inKey = false;
  private strLen = 0;
  private hex = 0;
  private key: number[] = [];
  private topKey: string | null = null;
  private resultKey: string | null = null;
  private valueStart = -1;
  private isError = false;
  private resultType = false;
  private number = "";
  private literal = "";
  private literalAt = 0;
  /** Just after "[": a "]" may close it with no item. */
  private emptyOk = false;
  private offset = 0;
  private started = false;
  private lineBreaks = false;

  constructor(
    private readonly limits: JsonLimits,
    private readonly scope: Scope,
  ) {
    this.kinds = new Uint8Array(limits.depth + 2);
    this.counts = new Array(limits.depth + 2).fill(0);
    this.countUnits = limits.stringLength < limits.messageBytes;
  }

  /** Scans one part; false when the message turns out not to be an object. */
  push(part: Uint8Array): boolean {
    const n = part.length;
    for (let i = 0; i < n; i++, this.offset++) {
      const c = part[i]!;
      switch (this.state) {
        case S.Value:
          if (!this.value(c)) return false;
          break;
        case S.AfterValue:
          this.afterValue(c);
          break;
        case S.Key:
          this.keyStart(c);
          break;
        case S.Colon:
          if (this.space(c)) break;
          if (c !== 0x3a) this.fail("expected :");
          this.state = S.Value;
          break;
        case S.String: {
          // The bulk of a large message is string bytes: skipped in a tight loop.
          const j = this.stringRun(part, i);
          this.offset += j - i;
          i = j;
          if (i < n) this.stringEnd(part[i]!);
          else {
            // The part ended inside the string: the loop's step must not count a byte twice.
            i--;
            this.offset--;
          }
          break;
        }
        case S.Escape:
          this.escape(c);
          break;
        case S.Unicode:
          if (!isHex(c)) this.fail("bad \\u escape");
          if (++this.hex === 4) this.endEscape();
          break;
        case S.Number:
          if (!this.numberByte(c)) {
            // This byte belongs to what follows the number.
            i--;
            this.offset--;
          }
          break;
        case S.Literal:
          if (c !== this.literal.charCodeAt(this.literalAt)) this.fail("bad literal");
          if (++this.literalAt === this.literal.length) this.ended(this.offset + 1, this.literal);
          break;
        case S.Done:
          if (!isSpace(c)) this.fail("text after the value");
          break;
      }
    }
    return true;
  }

  end(): Skeleton {
    if (this.state !== S.Done) this.fail("unexpected end");
    return { members: this.members, isError: this.isError, resultType: this.resultType, lineBreaks: this.lineBreaks };
  }

  /** Whitespace between tokens is skipped; a line break among it is noted. */
  private space(c: number): boolean {
    if (!isSpace(c)) return false;
    if (c === 0x0a || c === 0x0d) this.lineBreaks = true;
    return true;
  }

  private fail(why: string): never {
    throw new ParseError(`Parse error: invalid JSON (${why} at byte ${this.offset})`);
  }

  private open(kind: number): void {
    if (++this.depth > this.limits.depth) throw limitExceeded("depth", this.limits, this.scope);
    this.kinds[this.depth] = kind;
    this.counts[this.depth] = 0;
  }

  private close(): void {
    this.depth--;
    this.ended(this.offset + 1, null);
  }

  /** A value at the current depth has ended just before `at`. */
  private ended(at: number, scalar: string | null): void {
    if (this.depth === 1) {
      if (this.topKey !== null && this.valueStart >= 0) this.members.set(this.topKey, { start: this.valueStart, end: at });
      this.valueStart = -1;
    }
    if (this.depth === 2 && this.topKey === "result" && this.resultKey === "isError" && this.kinds[2] === OBJECT) this.isError = scalar === "true";
    this.state = this.depth === 0 ? S.Done : S.AfterValue;
  }

  /** The first byte of a value; false when the message itself is not an object. */
  private value(c: number): boolean {
    if (this.space(c)) return true;
    if (!this.started) {
      this.started = true;
      if (c !== 0x7b) return false;
    }
    if (c === 0x5d && this.emptyOk) {
      this.emptyOk = false;
      this.close();
      return true;
    }
    this.emptyOk = false;
    if (this.depth === 1 && this.valueStart < 0) this.valueStart = this.offset;
    if (c === 0x7b) {
      this.open(OBJECT);
      this.state = S.Key;
    } else if (c === 0x5b) {
      this.open(ARRAY);
      this.emptyOk = true;
    } else if (c === 0x22) {
      this.inKey = false;
      this.strLen = 0;
      this.state = S.String;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      this.number = String.fromCharCode(c);
      this.state = S.Number;
    } else if (LITERALS[c]) {
      this.literal = LITERALS[c]!;
      this.literalAt = 1;
      this.state = S.Literal;
    } else this.fail("unexpected character");
    return true;
  }

  private afterValue(c: number): void {
    if (this.space(c)) return;
    const kind = this.kinds[this.depth];
    if (c === 0x2c) {
      if (kind !== ARRAY) this.state = S.Key;
      else if (++this.counts[this.depth]! >= this.limits.arrayItems) throw limitExceeded("arrayItems", this.limits, this.scope);
      else this.state = S.Value;
    } else if ((c === 0x5d && kind === ARRAY) || (c === 0x7d && kind === OBJECT)) this.close();
    else this.fail("expected , or a closing bracket");
  }

  private keyStart(c: number): void {
    if (this.space(c)) return;
    if (c === 0x22) {
      if (++this.counts[this.depth]! > this.limits.objectKeys) throw limitExceeded("objectKeys", this.limits, this.scope);
      this.inKey = true;
      this.strLen = 0;
      this.key = [];
      this.state = S.String;
    } else if (c === 0x7d && this.counts[this.depth] === 0) this.close();
    else this.fail("expected a key");
  }

  /** Skips string bytes from `i` up to a quote, backslash or control byte; returns where it stopped. */
  private stringRun(part: Uint8Array, i: number): number {
    const n = part.length;
    let j = i;
    let units = 0;
    if (this.countUnits) {
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
      this.strLen += units;
      if (this.strLen > this.limits.stringLength) throw limitExceeded("stringLength", this.limits, this.scope);
      if (this.inKey) for (let k = i; k < j && this.key.length <= MAX_KEY; k++) this.key.push(part[k]!);
    }
    return j;
  }

  /** The byte that stopped a string run: its closing quote, an escape, or a control byte (invalid). */
  private stringEnd(c: number): void {
    if (c === 0x5c) {
      this.state = S.Escape;
      return;
    }
    if (c !== 0x22) this.fail("control character in a string");
    if (!this.inKey) return this.ended(this.offset + 1, null);
    const name = this.key.length <= MAX_KEY ? String.fromCharCode(...this.key) : null;
    if (this.depth === 1) this.topKey = name;
    else if (this.depth === 2) {
      this.resultKey = name;
      if (name === "resultType" && this.topKey === "result") this.resultType = true;
    }
    this.state = S.Colon;
  }

  private escape(c: number): void {
    if (++this.strLen > this.limits.stringLength) throw limitExceeded("stringLength", this.limits, this.scope);
    if (c === 0x75) {
      this.hex = 0;
      this.state = S.Unicode;
    } else if (c === 0x22 || c === 0x5c || c === 0x2f || c === 0x62 || c === 0x66 || c === 0x6e || c === 0x72 || c === 0x74) {
      this.endEscape();
    } else this.fail("bad escape");
  }

  private endEscape(): void {
    // An escaped key never names a member we look for.
    if (this.inKey) this.key.length = MAX_KEY + 1;
    this.state = S.String;
  }

  /** One byte of a number; false when it ends the number (and belongs to what follows). */
  private numberByte(c: number): boolean {
    if ((c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d) {
      if (this.number.length > 64) this.fail("number too long");
      this.number += String.fromCharCode(c);
      return true;
    }
    if (!NUMBER.test(this.number)) this.fail("bad number");
    this.ended(this.offset, this.number);
    return false;
  }
}
