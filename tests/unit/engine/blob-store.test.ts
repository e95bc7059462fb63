import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileBlobStore } from '../../../engine/blob-store';
import { EngineError } from '../../../engine/errors';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function catchEngineError(promise: Promise<unknown>): Promise<EngineError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(EngineError);
    return err as EngineError;
  }
  throw new Error('expected an EngineError, the promise resolved');
}

describe('[REQ-BLOB-01] FileBlobStore', () => {
  let root: string;
  let store: FileBlobStore;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'medstream-blobs-'));
    store = new FileBlobStore(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('put returns the content address blob:sha256:<hex>, the hash and the size', async () => {
    const bytes = Buffer.from('pixel data');
    const ref = await store.put(bytes);
    const hex = 'cde0205355331f00d06421cbc7352326e777479d5463edfaedb0b8549f6df176'; // sha256sum of "pixel data"
    expect(ref).toEqual({ uri: `blob:sha256:${hex}`, sha256: hex, size: 10 });
  });

  it('stores the bytes under sha256/<2>/<2>/<hex> and get returns them', async () => {
    const bytes = Buffer.from([0, 1, 2, 3, 254, 255]);
    const ref = await store.put(bytes);
    const path = join(root, 'sha256', ref.sha256.slice(0, 2), ref.sha256.slice(2, 4), ref.sha256);
    expect(await readFile(path)).toEqual(bytes);
    expect(await store.get(ref.uri)).toEqual(bytes);
  });

  it('stores an empty blob', async () => {
    const ref = await store.put(Buffer.alloc(0));
    expect(ref.sha256).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(ref.size).toBe(0);
    expect((await store.get(ref.uri)).length).toBe(0);
  });

  it('put is idempotent: same bytes, same address, one file, no temp files left', async () => {
    const bytes = Buffer.from('same bytes twice');
    const first = await store.put(bytes);
    const path = join(
      root,
      'sha256',
      first.sha256.slice(0, 2),
      first.sha256.slice(2, 4),
      first.sha256,
    );
    const before = await stat(path);
    const second = await store.put(Buffer.from('same bytes twice'));
    expect(second).toEqual(first);
    const dir = join(root, 'sha256', first.sha256.slice(0, 2), first.sha256.slice(2, 4));
    expect(await readdir(dir)).toEqual([first.sha256]);
    expect((await stat(path)).mtimeMs).toBe(before.mtimeMs);
  });

  it('concurrent puts of the same bytes all succeed with the same address', async () => {
    const bytes = Buffer.from('racing');
    const refs = await Promise.all([store.put(bytes), store.put(bytes), store.put(bytes)]);
    expect(new Set(refs.map((r) => r.uri)).size).toBe(1);
    const dir = join(root, 'sha256', refs[0]!.sha256.slice(0, 2), refs[0]!.sha256.slice(2, 4));
    expect(await readdir(dir)).toEqual([refs[0]!.sha256]);
    expect(await store.get(refs[0]!.uri)).toEqual(bytes);
  });

  it('different bytes get different addresses', async () => {
    const a = await store.put(Buffer.from('a'));
    const b = await store.put(Buffer.from('b'));
    expect(a.uri).not.toBe(b.uri);
    expect((await store.get(a.uri)).toString()).toBe('a');
    expect((await store.get(b.uri)).toString()).toBe('b');
  });

  it('a second store on the same root resolves the reference (location independent)', async () => {
    const ref = await store.put(Buffer.from('shared volume'));
    expect((await new FileBlobStore(root).get(ref.uri)).toString()).toBe('shared volume');
  });

  it('get of a tampered file fails with BLOB_INTEGRITY', async () => {
    const ref = await store.put(Buffer.from('original'));
    const path = join(root, 'sha256', ref.sha256.slice(0, 2), ref.sha256.slice(2, 4), ref.sha256);
    await writeFile(path, 'tampered');
    const err = await catchEngineError(store.get(ref.uri));
    expect(err.code).toBe('BLOB_INTEGRITY');
    expect(err.retriable).toBe(false);
    expect(err.message).toContain(ref.sha256);
    expect(err.message).toContain(sha256(Buffer.from('tampered')));
  });

  it('get of an unknown address fails with BLOB_NOT_FOUND', async () => {
    const err = await catchEngineError(store.get(`blob:sha256:${'0'.repeat(64)}`));
    expect(err.code).toBe('BLOB_NOT_FOUND');
    expect(err.message).toBe(`blob ${'0'.repeat(64)} is not in the store`);
  });

  it.each([
    'sha256:' + 'a'.repeat(64),
    'blob:sha256:' + 'A'.repeat(64),
    'blob:sha256:' + 'a'.repeat(63),
    'blob:sha256:' + 'a'.repeat(65),
    'blob:md5:' + 'a'.repeat(32),
    'blob:sha256:../../etc/passwd',
    '',
  ])('get of a malformed reference %p fails with BLOB_NOT_FOUND', async (uri) => {
    const err = await catchEngineError(store.get(uri));
    expect(err.code).toBe('BLOB_NOT_FOUND');
    expect(err.message).toBe(`not a blob reference: ${uri}`);
  });
});
