// Builds dist/<target>/sentinel[.exe] for every OS we ship, and dist/SHA256SUMS.
//
// `bun build --compile --target=...` would download the target's Bun runtime from
// GitHub, which CI and our machines cannot reach. The same runtimes are published on
// the npm registry as @oven/bun-<os>-<arch> (the `bun` package's optional
// dependencies), so we `npm pack` the one matching this Bun's version into a cache
// and hand it to `--compile-executable-path`. Each tarball must match the integrity
// hash package-lock.json holds for it (npm locks every platform's optional dependency,
// though it installs only the host's). The host's own target uses the running Bun.
//
//   bun scripts/build-all.ts [target ...]     (default: all of TARGETS)
//   SENTINEL_BUN_RUNTIMES=DIR                 where runtimes are cached (default node_modules/.cache/bun-runtimes)

import { $ } from "bun";
import { existsSync, mkdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { compile, profileStartup, type StartupProfile } from "./compile-flags.ts";

export type Target = {
  /** dist/<name>/ and the name used in SHA256SUMS. */
  name: string;
  /** --target for bun build. */
  bun: string;
  /** The npm package that holds this target's Bun runtime. */
  runtime: string;
  platform: NodeJS.Platform;
  arch: "x64" | "arm64";
};

export const TARGETS: Target[] = [
  { name: "linux-x64", bun: "bun-linux-x64", runtime: "@oven/bun-linux-x64", platform: "linux", arch: "x64" },
  { name: "linux-arm64", bun: "bun-linux-arm64", runtime: "@oven/bun-linux-aarch64", platform: "linux", arch: "arm64" },
  { name: "darwin-arm64", bun: "bun-darwin-arm64", runtime: "@oven/bun-darwin-aarch64", platform: "darwin", arch: "arm64" },
  { name: "darwin-x64", bun: "bun-darwin-x64", runtime: "@oven/bun-darwin-x64", platform: "darwin", arch: "x64" },
  { name: "windows-x64", bun: "bun-windows-x64", runtime: "@oven/bun-windows-x64", platform: "win32", arch: "x64" },
];

const ROOT = resolve(import.meta.dir, "..");

export function binaryName(target: Target): string {
  return target.platform === "win32" ? "sentinel.exe" : "sentinel";
}

/** A Bun executable for `target`: this very Bun on its own platform, else the npm package's, fetched once. */
async function runtimeFor(target: Target, cache: string): Promise<string> {
  // glibc x64/arm64 only: a musl host would need the -musl package, not itself.
  const isHost = target.platform === process.platform && target.arch === process.arch && !isMusl();
  if (isHost) return process.execPath;
  const dir = join(cache, `${target.runtime.replace("@oven/", "")}-${Bun.version}`);
  const exe = join(dir, "package", "bin", target.platform === "win32" ? "bun.exe" : "bun");
  if (existsSync(exe)) return exe;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const spec = `${target.runtime}@${Bun.version}`;
  // `npm pack` ignores the package's os/cpu fields (an install would skip it here).
  const tarball = (await $`npm pack ${spec} --pack-destination ${dir} --silent`.cwd(dir).text()).trim().split("\n").at(-1);
  if (!tarball) throw new Error(`npm pack ${spec} printed no file name`);
  await verifyLocked(target.runtime, join(dir, tarball));
  await $`tar -xzf ${tarball}`.cwd(dir).quiet();
  rmSync(join(dir, tarball));
  if (!existsSync(exe)) throw new Error(`${spec} holds no ${exe.slice(dir.length + 1)}`);
  return exe;
}

/** Refuses a runtime tarball whose hash is not the one package-lock.json recorded for this version. */
async function verifyLocked(name: string, tarball: string): Promise<void> {
  const lock = (await Bun.file(join(ROOT, "package-lock.json")).json()) as { packages?: Record<string, { version?: string; integrity?: string }> };
  const locked = lock.packages?.[`node_modules/${name}`];
  if (locked?.version !== Bun.version || !locked.integrity?.startsWith("sha512-")) {
    throw new Error(`package-lock.json has no sha512 for ${name}@${Bun.version} (it has ${locked?.version ?? "none"}): run npm install`);
  }
  const hasher = new Bun.CryptoHasher("sha512");
  for await (const chunk of Bun.file(tarball).stream()) hasher.update(chunk);
  const got = `sha512-${hasher.digest("base64")}`;
  if (got !== locked.integrity) throw new Error(`${name}@${Bun.version}: tarball ${got} differs from package-lock.json's ${locked.integrity}`);
}

function isMusl(): boolean {
  if (process.platform !== "linux") return false;
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return !report?.header?.glibcVersionRuntime;
}

async function build(target: Target, runtime: string, profile: StartupProfile): Promise<string> {
  const outfile = join(ROOT, "dist", target.name, binaryName(target));
  rmSync(join(ROOT, "dist", target.name), { recursive: true, force: true });
  // The same flags and bytecode layout as scripts/build.ts (compile-flags.ts). This very
  // Bun compiles, so that the runtimes fetched for Bun.version match the bundle it writes.
  // darwin-x64 without bytecode: its ad-hoc signature (below) must fit the space Bun
  // reserved for the runtime's, and the ~4 MB of bytecode needs 17 KB more than that.
  const bytecode = target.name === "darwin-x64" ? null : profile;
  await compile(ROOT, outfile, bytecode, [`--target=${target.bun}`, `--compile-executable-path=${runtime}`]);
  if (!existsSync(outfile)) throw new Error(`bun build wrote no ${outfile}`);
  return outfile;
}

// Bun 1.4.5 re-signs its darwin-arm64 output ad hoc, but a darwin-x64 output keeps the
// runtime's original signature, which no longer matches the file (measured: codeLimit ends
// before the appended __BUN segment, 75 of 23,955 page hashes differ; upstream oven-sh/bun
// #39837). macOS may refuse such a file, so we write the ad-hoc, linker-style signature
// that `codesign -s -` or ld64 would, in the space Bun reserved for it.
const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CSMAGIC_EMBEDDED_SIGNATURE = 0xfade0cc0;
const CSMAGIC_CODEDIRECTORY = 0xfade0c02;
const PAGE = 4096;

type MachO = { view: DataView; signatureAt: number; sigCmd: number; linkedit: number; text: { fileoff: bigint; filesize: bigint } };

function parseMachO(bytes: Uint8Array): MachO {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== 0xfeedfacf) throw new Error("not a 64-bit little-endian Mach-O");
  const ncmds = view.getUint32(16, true);
  let at = 32;
  let sigCmd = 0;
  let linkedit = 0;
  let text = { fileoff: 0n, filesize: 0n };
  for (let i = 0; i < ncmds; i++) {
    const cmd = view.getUint32(at, true);
    if (cmd === LC_CODE_SIGNATURE) sigCmd = at;
    if (cmd === LC_SEGMENT_64) {
      const name = new TextDecoder().decode(bytes.subarray(at + 8, at + 24)).replace(/\0+$/, "");
      if (name === "__LINKEDIT") linkedit = at;
      if (name === "__TEXT") text = { fileoff: view.getBigUint64(at + 40, true), filesize: view.getBigUint64(at + 48, true) };
    }
    at += view.getUint32(at + 4, true);
  }
  if (!sigCmd || !linkedit) throw new Error("Mach-O without LC_CODE_SIGNATURE or __LINKEDIT");
  return { view, signatureAt: view.getUint32(sigCmd + 8, true), sigCmd, linkedit, text };
}

/** Whether the embedded CodeDirectory hashes every byte before the signature, as the kernel checks. */
export function machOSignatureValid(bytes: Uint8Array): boolean {
  const { view, signatureAt } = parseMachO(bytes);
  if (view.getUint32(signatureAt, false) !== CSMAGIC_EMBEDDED_SIGNATURE) return false;
  const count = view.getUint32(signatureAt + 8, false);
  for (let i = 0; i < count; i++) {
    const cd = signatureAt + view.getUint32(signatureAt + 16 + 8 * i, false);
    if (view.getUint32(cd, false) !== CSMAGIC_CODEDIRECTORY) continue;
    const hashOffset = view.getUint32(cd + 16, false);
    const nCode = view.getUint32(cd + 28, false);
    const codeLimit = view.getUint32(cd + 32, false);
    const hashSize = view.getUint8(cd + 36);
    const pageSize = 1 << view.getUint8(cd + 39);
    if (view.getUint8(cd + 37) !== 2 || codeLimit !== signatureAt || nCode !== Math.ceil(codeLimit / pageSize)) return false;
    for (let p = 0; p < nCode; p++) {
      const want = bytes.subarray(cd + hashOffset + p * hashSize, cd + hashOffset + (p + 1) * hashSize);
      const got = new Bun.CryptoHasher("sha256").update(bytes.subarray(p * pageSize, Math.min((p + 1) * pageSize, codeLimit))).digest();
      if (!want.every((b, j) => b === got[j])) return false;
    }
    return true;
  }
  return false;
}

/** Replaces the signature with an ad-hoc one over the file as it is, in place; returns the file's new length. */
export function adHocSign(bytes: Uint8Array, identifier: string): number {
  const { view, signatureAt, sigCmd, linkedit, text } = parseMachO(bytes);
  const reserved = view.getUint32(sigCmd + 12, true);
  const ident = new TextEncoder().encode(identifier + "\0");
  const nCode = Math.ceil(signatureAt / PAGE);
  const cdHeader = 88; // CodeDirectory version 0x20400, up to execSegFlags
  const hashOffset = cdHeader + ident.length;
  const cdLength = hashOffset + nCode * 32;
  const total = 20 + cdLength; // SuperBlob header + one index entry + the CodeDirectory
  const size = Math.ceil(total / 16) * 16;
  if (size > reserved) throw new Error(`ad-hoc signature needs ${size} bytes, ${reserved} reserved`);
  // Load commands first: they lie in page 0, which the CodeDirectory hashes.
  view.setUint32(sigCmd + 12, size, true);
  const linkeditOff = view.getBigUint64(linkedit + 40, true);
  view.setBigUint64(linkedit + 48, BigInt(signatureAt + size) - linkeditOff, true);
  bytes.fill(0, signatureAt, signatureAt + reserved);
  const s = signatureAt;
  view.setUint32(s, CSMAGIC_EMBEDDED_SIGNATURE, false);
  view.setUint32(s + 4, total, false);
  view.setUint32(s + 8, 1, false);
  view.setUint32(s + 12, 0, false); // CSSLOT_CODEDIRECTORY
  view.setUint32(s + 16, 20, false);
  const cd = s + 20;
  const fields: [number, number][] = [
    [0, CSMAGIC_CODEDIRECTORY], [4, cdLength], [8, 0x20400], [12, 0x20002], // adhoc | linker-signed, as ld64 writes
    [16, hashOffset], [20, cdHeader], [24, 0], [28, nCode], [32, signatureAt],
  ];
  for (const [o, v] of fields) view.setUint32(cd + o, v, false);
  view.setUint8(cd + 36, 32); // hashSize
  view.setUint8(cd + 37, 2); // SHA-256
  view.setUint8(cd + 39, 12); // 4096-byte pages
  view.setBigUint64(cd + 64, text.fileoff, false); // execSegBase
  view.setBigUint64(cd + 72, text.filesize, false); // execSegLimit
  view.setBigUint64(cd + 80, 1n, false); // CS_EXECSEG_MAIN_BINARY
  bytes.set(ident, cd + cdHeader);
  for (let p = 0; p < nCode; p++) {
    const page = bytes.subarray(p * PAGE, Math.min((p + 1) * PAGE, signatureAt));
    bytes.set(new Bun.CryptoHasher("sha256").update(page).digest(), cd + hashOffset + p * 32);
  }
  return signatureAt + size;
}

async function ensureSigned(path: string): Promise<void> {
  const bytes = new Uint8Array(await Bun.file(path).arrayBuffer());
  if (machOSignatureValid(bytes)) return;
  const length = adHocSign(bytes, "sentinel");
  const signed = bytes.subarray(0, length);
  if (!machOSignatureValid(signed)) throw new Error(`${path}: ad-hoc signature does not verify`);
  await Bun.write(path, signed);
  console.log(`re-signed ${path} ad hoc (Bun left the runtime's signature, which no longer matched)`);
}

async function sha256(path: string): Promise<string> {
  const hasher = new Bun.CryptoHasher("sha256");
  for await (const chunk of Bun.file(path).stream()) hasher.update(chunk);
  return hasher.digest("hex");
}

export async function buildAll(names: string[] = []): Promise<void> {
  const unknown = names.filter((n) => !TARGETS.some((t) => t.name === n));
  if (unknown.length > 0) throw new Error(`unknown target ${unknown.join(", ")}; known: ${TARGETS.map((t) => t.name).join(", ")}`);
  const targets = names.length > 0 ? TARGETS.filter((t) => names.includes(t.name)) : TARGETS;
  const cache = process.env.SENTINEL_BUN_RUNTIMES ?? join(ROOT, "node_modules", ".cache", "bun-runtimes");
  const sums: string[] = [];
  const profile = await profileStartup(ROOT);
  try {
    for (const target of targets) {
      const started = performance.now();
      const runtime = await runtimeFor(target, cache);
      const outfile = await build(target, runtime, profile);
      if (target.platform === "darwin") await ensureSigned(outfile);
      const mb = (Bun.file(outfile).size / 1024 / 1024).toFixed(1);
      console.log(`built dist/${target.name}/${binaryName(target)}: ${mb} MB in ${Math.round(performance.now() - started)} ms`);
    }
  } finally {
    profile.remove();
  }
  // Every binary in dist/, also those an earlier run built, so a partial rebuild keeps the file whole.
  for (const target of TARGETS) {
    const rel = `${target.name}/${binaryName(target)}`;
    if (!existsSync(join(ROOT, "dist", rel))) continue;
    // sha256sum's format (two spaces: text mode), checked with `cd dist && sha256sum -c SHA256SUMS`.
    sums.push(`${await sha256(join(ROOT, "dist", rel))}  ${rel}`);
  }
  await Bun.write(join(ROOT, "dist", "SHA256SUMS"), sums.join("\n") + "\n");
  console.log(`wrote dist/SHA256SUMS (${sums.length} files)`);
}

if (import.meta.main) {
  try {
    await buildAll(process.argv.slice(2));
  } catch (err) {
    const shell = err as { stderr?: Buffer };
    console.error(`build:all failed: ${err instanceof Error ? err.message : String(err)}`);
    if (shell.stderr?.length) console.error(shell.stderr.toString());
    process.exit(1);
  }
}
