/**
 * dicom/pixels decodeDicomGray(): what it refuses before any codec runs (not Part-10, no pixel
 * data, non-image SOP class, transfer syntax, attributes, size limits), and its output feeding
 * preprocess(). Needs dcmtk on PATH (dcmodify).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { decodeDicomGray } from '../../../../dicom/pixels';
import type { ModelManifest } from '../../../../processors/shared/model-manifest';
import { preprocess } from '../../../../processors/shared/preprocess';
import { expectRejected, useDcmtkWorkspace, workPath } from '../../../helpers/dicom-pixels';
import { makeBasicTextSr, makeDicomInstance } from '../../../helpers/dicom-fixtures';

useDcmtkWorkspace();

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
    const path = workPath('bits1.dcm');
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
    const path = workPath('rows.dcm');
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
