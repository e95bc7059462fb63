/**
 * dicom/pixels colour: RGB / YCbCr (JPEG, native, RLE planar) and PALETTE COLOR to Rec. 601
 * luma, against sharp and dcmtk's dcm2pnm. Needs dcmtk on PATH.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeDicomGray } from '../../../../dicom/pixels';
import {
  DICOMWEB,
  dcmtk,
  diff,
  readPnm,
  to8bit,
  useDcmtkWorkspace,
  workPath,
} from '../../../helpers/dicom-pixels';

useDcmtkWorkspace();

describe('[REQ-IMG-DICOM] colour and palette', () => {
  const limits = { minSide: 8, maxSide: 8192, maxPixels: 8192 * 8192 };

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
    const jpegPath = workPath('colour.jpg');
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
