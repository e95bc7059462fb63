import { ResultStore } from '../../../../engine/store/result-store';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('[REQ-STORE-01] ResultStore on embedded PGlite (memory://)', () => {
  let store: ResultStore;
  let seq = 0;
  /** A fresh id per test so the tests share one database without interfering. */
  const newId = (prefix = 'r') => `${prefix}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    store = await ResultStore.open({ url: '', embeddedDir: 'memory://' });
  });

  afterAll(async () => {
    await store.close();
  });

  it('opens an embedded pglite store and answers ping', async () => {
    expect(store.kind).toBe('pglite');
    await expect(store.ping()).resolves.toBeUndefined();
  });

  it('get of an unknown id is undefined', async () => {
    await expect(store.get('no-such-result')).resolves.toBeUndefined();
  });

  it('insertPending stores a pending row with no deliveries', async () => {
    const id = newId();
    const submittedAt = new Date('2024-03-01T10:00:00.123Z');
    await store.insertPending({
      id,
      kind: 'news2',
      patientId: 'P-pending',
      subject: 'S-1',
      submittedAt,
    });
    expect(await store.get(id)).toEqual({
      id,
      kind: 'news2',
      status: 'pending',
      patientId: 'P-pending',
      subject: 'S-1',
      model: null,
      payload: null,
      error: null,
      submittedAt: '2024-03-01T10:00:00.123Z',
      completedAt: null,
      deliveries: 0,
    });
  });

  it('insertPending then upsertDone gives done, first delivery, submittedAt kept', async () => {
    const id = newId();
    await store.insertPending({
      id,
      kind: 'news2',
      patientId: 'P-1',
      submittedAt: new Date('2024-03-01T10:00:00Z'),
    });
    const first = await store.upsertDone({
      id,
      kind: 'news2',
      patientId: 'P-1',
      model: 'news2@rcp-2017',
      payload: { score: 5 },
    });
    expect(first).toBe(true);
    const row = await store.get(id);
    expect(row).toMatchObject({
      id,
      status: 'done',
      kind: 'news2',
      patientId: 'P-1',
      model: 'news2@rcp-2017',
      payload: { score: 5 },
      error: null,
      submittedAt: '2024-03-01T10:00:00.000Z',
      deliveries: 1,
    });
    expect(row?.completedAt).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  });

  it('a redelivered result returns false, counts the delivery and keeps the first payload', async () => {
    const id = newId();
    const r = { id, kind: 'news2', patientId: 'P-2', model: 'news2@rcp-2017' };
    expect(await store.upsertDone({ ...r, payload: { score: 1, version: 'first' } })).toBe(true);
    const firstRow = await store.get(id);
    await sleep(5);
    expect(
      await store.upsertDone({
        ...r,
        patientId: 'P-other',
        model: 'other@2',
        payload: { score: 9, version: 'second' },
      }),
    ).toBe(false);
    const row = await store.get(id);
    expect(row).toMatchObject({
      status: 'done',
      patientId: 'P-2',
      model: 'news2@rcp-2017',
      payload: { score: 1, version: 'first' },
      deliveries: 2,
    });
    expect(row?.completedAt).toBe(firstRow?.completedAt);
    expect(await store.upsertDone({ ...r, payload: { score: 3 } })).toBe(false);
    expect((await store.get(id))?.deliveries).toBe(3);
  });

  it('markFailed replaces a pending row', async () => {
    const id = newId();
    await store.insertPending({
      id,
      kind: 'news2',
      patientId: 'P-3',
      submittedAt: new Date('2024-03-01T10:00:00Z'),
    });
    await store.markFailed({
      id,
      kind: 'news2',
      error: { code: 'VALIDATION_FAILED', message: 'spo2Scale must be 1 or 2 (got 3)' },
    });
    const row = await store.get(id);
    expect(row).toMatchObject({
      status: 'failed',
      patientId: 'P-3',
      error: { code: 'VALIDATION_FAILED', message: 'spo2Scale must be 1 or 2 (got 3)' },
      payload: null,
      deliveries: 0,
    });
    expect(row?.completedAt).not.toBeNull();
  });

  it('markFailed never overwrites a done result', async () => {
    const id = newId();
    await store.upsertDone({
      id,
      kind: 'news2',
      patientId: 'P-4',
      model: 'news2@rcp-2017',
      payload: { score: 2 },
    });
    const before = await store.get(id);
    await store.markFailed({
      id,
      kind: 'news2',
      error: { code: 'DECODE_FAILED', message: 'late failure' },
    });
    expect(await store.get(id)).toEqual(before);
    expect(before?.status).toBe('done');
  });

  it('markFailed of an unknown id records a failed row', async () => {
    const id = newId();
    await store.markFailed({
      id,
      kind: 'news2',
      error: { code: 'DECODE_FAILED', message: 'bad bytes' },
    });
    expect(await store.get(id)).toMatchObject({
      id,
      kind: 'news2',
      status: 'failed',
      patientId: null,
      error: { code: 'DECODE_FAILED', message: 'bad bytes' },
      deliveries: 0,
    });
  });

  it('markFailed twice keeps the first failure', async () => {
    const id = newId();
    await store.insertPending({ id, kind: 'news2', patientId: 'P-5', submittedAt: new Date() });
    await store.markFailed({ id, kind: 'news2', error: { code: 'A', message: 'first' } });
    await store.markFailed({ id, kind: 'news2', error: { code: 'B', message: 'second' } });
    expect((await store.get(id))?.error).toEqual({ code: 'A', message: 'first' });
  });

  it('a pending row never overwrites a done result (result before the pending insert)', async () => {
    const id = newId();
    await store.upsertDone({
      id,
      kind: 'news2',
      patientId: 'P-6',
      model: 'news2@rcp-2017',
      payload: { score: 4 },
    });
    await store.insertPending({
      id,
      kind: 'news2',
      patientId: 'P-6',
      submittedAt: new Date('2024-03-01T10:00:00Z'),
    });
    expect(await store.get(id)).toMatchObject({
      status: 'done',
      payload: { score: 4 },
      submittedAt: null,
      deliveries: 1,
    });
  });

  it('insertPending twice keeps the first submission time', async () => {
    const id = newId();
    await store.insertPending({
      id,
      kind: 'news2',
      patientId: 'P-7',
      submittedAt: new Date('2024-01-01T00:00:00Z'),
    });
    await store.insertPending({
      id,
      kind: 'news2',
      patientId: 'P-7',
      submittedAt: new Date('2025-01-01T00:00:00Z'),
    });
    expect((await store.get(id))?.submittedAt).toBe('2024-01-01T00:00:00.000Z');
  });

  it('stores payloads as JSON with nesting, unicode and numbers intact', async () => {
    const id = newId();
    const payload = {
      score: 0.125,
      band: 'low-medium',
      nested: { list: [1, 'two', null, true] },
      note: 'SpO₂ 95 % – °C',
    };
    await store.upsertDone({
      id,
      kind: 'icu-admission',
      patientId: null,
      subject: 'Patient/9',
      model: 'm@1',
      payload,
    });
    expect(await store.get(id)).toMatchObject({
      kind: 'icu-admission',
      patientId: null,
      subject: 'Patient/9',
      payload,
    });
  });

  it('keeps quotes in ids and values as data (parameterised SQL)', async () => {
    const id = `${newId()}'); DROP TABLE results; --`;
    await store.upsertDone({
      id,
      kind: 'news2',
      patientId: "O'Brien",
      model: 'm@1',
      payload: { q: "it's" },
    });
    expect(await store.get(id)).toMatchObject({ id, patientId: "O'Brien", payload: { q: "it's" } });
  });
});

describe('[REQ-STORE-02] listing and counting', () => {
  let store: ResultStore;

  beforeAll(async () => {
    store = await ResultStore.open({ url: '', embeddedDir: 'memory://' });
  });

  afterAll(async () => {
    await store.close();
  });

  it('countByStatus is all zero on an empty store', async () => {
    expect(await store.countByStatus()).toEqual({ pending: 0, done: 0, failed: 0 });
  });

  it('listByPatient is newest first (by creation, not by id), with limit and offset', async () => {
    // created in the order c, b, a (reverse of id order) so ordering by id alone would be caught
    for (const id of ['c', 'b', 'a']) {
      await store.upsertDone({
        id: `list-${id}`,
        kind: 'news2',
        patientId: 'P-list',
        model: 'm@1',
        payload: { id },
      });
      await sleep(5);
    }
    await store.upsertDone({
      id: 'list-other',
      kind: 'news2',
      patientId: 'P-someone-else',
      model: 'm@1',
      payload: {},
    });

    const ids = async (limit?: number, offset?: number) =>
      (await store.listByPatient('P-list', limit, offset)).map((r) => r.id);
    expect(await ids()).toEqual(['list-a', 'list-b', 'list-c']);
    expect(await ids(2)).toEqual(['list-a', 'list-b']);
    expect(await ids(2, 2)).toEqual(['list-c']);
    expect(await ids(10, 3)).toEqual([]);
    expect(await store.listByPatient('P-nobody')).toEqual([]);
    const [newest] = await store.listByPatient('P-list', 1);
    expect(newest).toMatchObject({
      id: 'list-a',
      status: 'done',
      payload: { id: 'a' },
      deliveries: 1,
    });
  });

  it('countByStatus counts each status', async () => {
    // from the previous test: 4 done
    await store.insertPending({
      id: 'count-p1',
      kind: 'news2',
      patientId: 'P-c',
      submittedAt: new Date(),
    });
    await store.insertPending({
      id: 'count-p2',
      kind: 'news2',
      patientId: 'P-c',
      submittedAt: new Date(),
    });
    await store.insertPending({
      id: 'count-f1',
      kind: 'news2',
      patientId: 'P-c',
      submittedAt: new Date(),
    });
    await store.markFailed({ id: 'count-f1', kind: 'news2', error: { code: 'X', message: 'x' } });
    await store.upsertDone({
      id: 'count-p2',
      kind: 'news2',
      patientId: 'P-c',
      model: 'm@1',
      payload: {},
    });
    await store.upsertDone({
      id: 'count-p2',
      kind: 'news2',
      patientId: 'P-c',
      model: 'm@1',
      payload: {},
    });
    expect(await store.countByStatus()).toEqual({ pending: 1, done: 5, failed: 1 });
  });
});

describe('[REQ-STORE-03] closing', () => {
  it('operations after close fail with a store error', async () => {
    const store = await ResultStore.open({ url: '', embeddedDir: 'memory://' });
    await store.close();
    await expect(store.get('x')).rejects.toMatchObject({
      name: 'EngineError',
      code: 'STORE_UNAVAILABLE',
      retriable: true,
    });
  });

  it('countByStatus after close fails with STORE_UNAVAILABLE like every other query', async () => {
    const store = await ResultStore.open({ url: '', embeddedDir: 'memory://' });
    await store.close();
    await expect(store.countByStatus()).rejects.toMatchObject({
      name: 'EngineError',
      code: 'STORE_UNAVAILABLE',
    });
  });
});
