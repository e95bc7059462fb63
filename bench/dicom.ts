/**
 * bench/dicom — instances/s and MB/s that dcmtk's dcmsend pushes into medstream's C-STORE SCP
 * (each instance stored in the blob store and acknowledged by Kafka before its success status)
 * versus into dcmtk's own storescp writing files to disk, measured side by side in one run, for
 * small and 512 KB instances over one and four parallel associations. Prints the ratios.
 *
 *   npm run bench:dicom -- [--small 400] [--large 100]
 *
 * Uses KAFKA_BROKERS when set, else starts the local single-node Kafka (deploy/local/kafka).
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { fileMetaHeader } from '../dicom/part10';
import { spawnUntil, startBenchMedstream, stopChild } from './processes';

const run = promisify(execFile);
const { values } = parseArgs({
  options: { small: { type: 'string', default: '400' }, large: { type: 'string', default: '100' } },
});

const DX = '1.2.840.10008.5.1.4.1.1.1.1';
const EXPLICIT_LE = '1.2.840.10008.1.2.1';

/** One explicit-VR-little-endian element (short or long length form by VR). */
function el(group: number, element: number, vr: string, value: Buffer): Buffer {
  const long = ['OB', 'OW', 'SQ', 'UN', 'UT'].includes(vr);
  const header = Buffer.alloc(long ? 12 : 8);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(element, 2);
  header.write(vr, 4, 'latin1');
  if (long) header.writeUInt32LE(value.length, 8);
  else header.writeUInt16LE(value.length, 6);
  return Buffer.concat([header, value]);
}
const str = (v: string, pad = ' ') => Buffer.from(v.length % 2 ? v + pad : v, 'latin1');
const us = (v: number) => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return b;
};
const uid = () => `2.25.${BigInt(`0x${randomUUID().replace(/-/g, '')}`).toString()}`;

/** A synthetic 12-bit DX instance (no patient data) of side×side pixels, as a Part-10 file. */
function dxInstance(side: number, study: string, series: string): Buffer {
  const sop = uid();
  const pixels = Buffer.alloc(side * side * 2);
  for (let i = 0; i < side * side; i++) pixels.writeUInt16LE((i * 7 + (i >> 5)) & 0x0fff, i * 2);
  const dataset = Buffer.concat([
    el(0x0008, 0x0016, 'UI', str(DX, '\0')),
    el(0x0008, 0x0018, 'UI', str(sop, '\0')),
    el(0x0008, 0x0060, 'CS', str('DX')),
    el(0x0010, 0x0010, 'PN', str('BENCH^PHANTOM')),
    el(0x0010, 0x0020, 'LO', str('BENCH-0001')),
    el(0x0020, 0x000d, 'UI', str(study, '\0')),
    el(0x0020, 0x000e, 'UI', str(series, '\0')),
    el(0x0028, 0x0002, 'US', us(1)),
    el(0x0028, 0x0004, 'CS', str('MONOCHROME2')),
    el(0x0028, 0x0010, 'US', us(side)),
    el(0x0028, 0x0011, 'US', us(side)),
    el(0x0028, 0x0100, 'US', us(16)),
    el(0x0028, 0x0101, 'US', us(12)),
    el(0x0028, 0x0102, 'US', us(11)),
    el(0x0028, 0x0103, 'US', us(0)),
    el(0x7fe0, 0x0010, 'OW', pixels),
  ]);
  return Buffer.concat([
    fileMetaHeader({ sopClassUid: DX, sopInstanceUid: sop, transferSyntaxUid: EXPLICIT_LE }),
    dataset,
  ]);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

/** Pushes the files with `associations` dcmsend processes at once; seconds of wall time. */
async function push(files: string[], associations: number, port: number, aet: string) {
  const shares = Array.from({ length: associations }, (_, i) =>
    files.filter((_f, j) => j % associations === i),
  );
  const t0 = process.hrtime.bigint();
  await Promise.all(
    shares.map((share) =>
      run(
        'dcmsend',
        [
          '-aec',
          aet,
          '--max-pdu',
          '131072',
          '--max-send-pdu',
          '131072',
          '127.0.0.1',
          String(port),
          ...share,
        ],
        {
          env: { ...process.env, TCP_NODELAY: '1' },
          maxBuffer: 64 * 1024 * 1024,
        },
      ),
    ),
  );
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'bench-dicom-'));
  const sets: Array<{ name: string; files: string[]; bytes: number }> = [];
  for (const [name, side, count] of [
    ['small (64×64, 8 KB)', 64, Number(values.small)],
    ['512 KB (512×512)', 512, Number(values.large)],
  ] as const) {
    const dir = join(work, `in-${side}`);
    mkdirSync(dir);
    const study = uid();
    const series = uid();
    let bytes = 0;
    const files: string[] = [];
    for (let i = 0; i < count; i++) {
      const f = join(dir, `${i}.dcm`);
      const b = dxInstance(side, study, series);
      writeFileSync(f, b);
      bytes += b.length;
      files.push(f);
    }
    sets.push({ name, files, bytes });
  }

  // dcmtk's storescp: one process per association (--fork), files written to disk.
  const storescpPort = await freePort();
  const outDir = join(work, 'storescp');
  mkdirSync(outDir);
  const storescp = await spawnUntil(
    'storescp',
    ['--fork', '+xa', '-aet', 'STORESCP', '-od', outDir, '-pdu', '131072', String(storescpPort)],
    // dcmtk sets TCP_NODELAY only when asked; without it this measures Nagle's algorithm
    { TCP_NODELAY: '1' },
    /$/,
  );
  for (let tries = 0; ; tries++) {
    try {
      await run('echoscu', ['-aec', 'STORESCP', '127.0.0.1', String(storescpPort)]);
      break;
    } catch (err) {
      if (tries > 50) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  // medstream: the ingest role only (SCP → blob store → Kafka ack), on a local Kafka.
  const engine = await startBenchMedstream('ingest', work, {
    MEDSTREAM_COMPONENTS_DICOM_DIMSE_PORT: '0',
    MEDSTREAM_COMPONENTS_DICOM_DIMSE_MAX_PDU_LENGTH: '131072',
  });
  const scp = /dicom-dimse listening on dicom:\/\/[^:]+:(\d+)\?aet=(\S+)/.exec(engine.output());
  if (!scp) throw new Error(`no DICOM listener announced:\n${engine.output()}`);
  const [medPort, medAet] = [Number(scp[1]), scp[2]!];

  const lines = [
    `medstream bench/dicom — dcmsend (dcmtk) → medstream SCP (blob store + Kafka acks=all before each success) vs → dcmtk storescp (--fork, files to disk); explicit VR little endian DX, ${cpus().length} CPU(s)`,
  ];
  const warm = sets[0]!.files.slice(0, 20);
  await push(warm, 1, storescpPort, 'STORESCP');
  await push(warm, 1, medPort, medAet);
  const ratios: number[] = [];
  for (const set of sets) {
    for (const associations of [1, 4]) {
      // alternate the order so neither side always runs on a warmer machine
      const first = await push(set.files, associations, storescpPort, 'STORESCP');
      const mine = await push(set.files, associations, medPort, medAet);
      const again = await push(set.files, associations, storescpPort, 'STORESCP');
      const theirs = Math.min(first, again);
      const n = set.files.length;
      const mb = set.bytes / 1e6;
      const ratio = theirs / mine;
      ratios.push(ratio);
      lines.push(
        `  ${set.name.padEnd(20)} ${associations} assoc.  storescp ${(n / theirs).toFixed(0).padStart(5)} inst/s ${(mb / theirs).toFixed(1).padStart(6)} MB/s   medstream ${(n / mine).toFixed(0).padStart(5)} inst/s ${(mb / mine).toFixed(1).padStart(6)} MB/s   ratio ${ratio.toFixed(2)}`,
      );
    }
  }
  const stored = readdirSync(outDir).length;
  lines.push(
    `  lowest ratio ${Math.min(...ratios).toFixed(2)} (target ≥ 0.5); storescp wrote ${stored} files`,
  );
  await engine.stop();
  await stopChild(storescp.child);
  rmSync(work, { recursive: true, force: true });
  process.stdout.write(`${lines.join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? String(err)}\n`);
    process.exit(1);
  },
);
