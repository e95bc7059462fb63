import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { EngineError } from './errors';

export interface BlobRef {
  /** `blob:sha256:<hex>` — location independent; any process with the same store resolves it. */
  uri: string;
  sha256: string;
  size: number;
}

const URI_PATTERN = /^blob:sha256:([0-9a-f]{64})$/;

/**
 * Claim-check store: bytes too big for Kafka (pixel data, heatmaps) live here, addressed by their
 * SHA-256, and records carry the reference. Writes are atomic (temp file + rename), so a reader
 * never sees a partial blob, and idempotent (same bytes → same address, stored once).
 */
export interface BlobStore {
  put(bytes: Buffer): Promise<BlobRef>;
  get(uri: string): Promise<Buffer>;
}

export class FileBlobStore implements BlobStore {
  /** Fan-out folders known to exist: one mkdir per folder per process, not one per blob. */
  private readonly folders = new Set<string>();

  constructor(private readonly root: string) {}

  private pathFor(sha256: string): string {
    return join(this.root, 'sha256', sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async put(bytes: Buffer): Promise<BlobRef> {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const ref = { uri: `blob:sha256:${sha256}`, sha256, size: bytes.length };
    const target = this.pathFor(sha256);
    const existing = await stat(target).catch(() => undefined);
    if (existing?.size === bytes.length) return ref;
    const folder = join(target, '..');
    if (!this.folders.has(folder)) {
      await mkdir(folder, { recursive: true });
      this.folders.add(folder);
    }
    const temp = `${target}.${randomUUID()}.tmp`;
    try {
      await writeFile(temp, bytes, { flag: 'wx' });
      await rename(temp, target);
    } catch (err) {
      // the folder may have been removed under us: the next put creates it again
      this.folders.delete(folder);
      await unlink(temp).catch(() => undefined);
      throw new EngineError(
        'STORE_FAILED',
        `cannot write blob ${sha256}: ${(err as Error).message}`,
        {
          cause: err,
          retriable: true,
        },
      );
    }
    return ref;
  }

  /** Reads and verifies a blob; a changed or missing file is an error, never silent. */
  async get(uri: string): Promise<Buffer> {
    const m = URI_PATTERN.exec(uri);
    if (!m) throw new EngineError('BLOB_NOT_FOUND', `not a blob reference: ${uri}`);
    const sha256 = m[1] as string;
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathFor(sha256));
    } catch (err) {
      throw new EngineError('BLOB_NOT_FOUND', `blob ${sha256} is not in the store`, { cause: err });
    }
    const actual = createHash('sha256').update(bytes).digest('hex');
    if (actual !== sha256)
      throw new EngineError('BLOB_INTEGRITY', `blob ${sha256} is corrupt (hash ${actual})`);
    return bytes;
  }
}
