import { PassThrough } from 'node:stream';
import { createLogger, resolveLogFormat } from '../../../engine/logger';

/** Collects what a logger writes, line by line. */
function capture(isTTY: boolean) {
  const stream = Object.assign(new PassThrough(), { isTTY });
  const chunks: string[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  return { stream, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

describe('[REQ-LOG-01] log format', () => {
  it('auto is pretty on a terminal and JSON otherwise; json and pretty are forced', () => {
    expect(resolveLogFormat('auto', true)).toBe('pretty');
    expect(resolveLogFormat('auto', false)).toBe('json');
    expect(resolveLogFormat('json', true)).toBe('json');
    expect(resolveLogFormat('json', false)).toBe('json');
    expect(resolveLogFormat('pretty', false)).toBe('pretty');
    expect(resolveLogFormat('pretty', true)).toBe('pretty');
  });

  it('JSON: one object per line, patient fields redacted', async () => {
    const out = capture(false);
    const log = createLogger('info', { roles: 'api' }, { format: 'auto', destination: out.stream });
    log.info({ record: { patientId: 'p-secret', score: 3 } }, 'scored');
    log.warn('second');
    await new Promise((r) => setImmediate(r));
    const lines = out.lines();
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0]!);
    expect(first).toMatchObject({
      level: 30,
      msg: 'scored',
      service: 'medstream',
      roles: 'api',
      record: { patientId: '[redacted]', score: 3 },
    });
    expect(lines.join('\n')).not.toContain('p-secret');
  });

  it('pretty on a terminal: one readable line per event (a stack indented below), not JSON, patient fields redacted', async () => {
    const out = capture(true);
    const log = createLogger('info', { roles: 'api' }, { format: 'auto', destination: out.stream });
    log.info({ record: { patientId: 'p-secret', score: 3 } }, 'scored');
    log.error({ component: 'http', err: new Error('boom') }, 'second');
    await new Promise((r) => setImmediate(r));
    // eslint-disable-next-line no-control-regex
    const plain = out.lines().map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''));
    // every event starts a line; only an error's stack follows, indented
    const events = plain.filter((l) => !/^\s/.test(l));
    expect(events).toHaveLength(2);
    expect(events[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: scored /);
    expect(events[0]).toContain('"patientId":"[redacted]"');
    expect(events[1]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] ERROR: second /);
    expect(plain.slice(plain.indexOf(events[1]!) + 1).join('\n')).toContain('Error: boom');
    expect(() => JSON.parse(events[0]!)).toThrow();
    expect(plain.join('\n')).not.toContain('p-secret');
  });
});
