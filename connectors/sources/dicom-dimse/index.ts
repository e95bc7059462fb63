import { type Server, type Socket, createServer } from 'node:net';
import { Counter, Gauge } from 'prom-client';
import type { Component } from '../../../engine/contracts';
import { publishDicomInstance } from '../../shared/dicom/intake';
import { configureDicomImplementation } from '../../../dicom/implementation';
import { MedstreamScp } from './scp';

interface DicomDimseConfig {
  enabled: boolean;
  host: string;
  port: number;
  aeTitle: string;
  allowedCallingAeTitles: string[];
  allowedHosts: string[];
  maxAssociations: number;
  maxPduLength: number;
  maxInstanceBytes: number;
  associationTimeoutMs: number;
  idleTimeoutMs: number;
  drainTimeoutMs: number;
}

const AE_TITLE = { type: 'string', pattern: '^[^\\\\\\x00-\\x1f]{1,16}$' } as const;

/** The fields dcmjs-dimse keeps for its timers; a server-side socket never fires 'connect'. */
interface ScpTimers {
  connected: boolean;
  connectedTime: number | undefined;
}

/**
 * connectors/sources/dicom-dimse — a DICOM node a PACS or modality can push to: C-ECHO and
 * C-STORE SCP for every storage SOP class and the common transfer syntaxes (the caller's
 * proposal wins), listening on one configured address (not all interfaces).
 *  1. A-ASSOCIATE-RQ: wrong called AE, calling AE or host not allowed → A-ASSOCIATE-RJ with the
 *     PS3.8 reason; then, with `maxAssociations` connections already open (silent ones count
 *     too) → A-ASSOCIATE-RJ (transient, local limit); otherwise each presentation context is
 *     accepted or rejected on its own.
 *  3. C-STORE: the dataset bytes as received + a File Meta header → blob store →
 *     DicomInstanceReceived on medstream.ingest.dicom.v1 (key StudyInstanceUID) → Kafka ack →
 *     status 0x0000. Any failure → a failure status (scp.ts), never a false success.
 *  4. A-ABORT or a dropped connection: the socket is destroyed; instances already answered with
 *     success are durable, the one in flight was never confirmed (the sender resends it).
 *  5. Idle past `idleTimeoutMs`, or no A-ASSOCIATE-RQ within `associationTimeoutMs`: the
 *     connection is aborted / closed (whichever of the library's two timers fires first).
 */
export const dicomDimseSource: Component<DicomDimseConfig> = {
  name: 'dicom-dimse',
  role: 'ingest',
  description: 'DICOM C-ECHO / C-STORE SCP (DIMSE) into medstream.ingest.dicom.v1',
  configSchema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      enabled: { type: 'boolean', default: true },
      host: {
        type: 'string',
        default: '127.0.0.1',
        description: 'Address to bind (0.0.0.0 or :: for every interface — on purpose only).',
      },
      port: {
        type: 'integer',
        minimum: 0,
        maximum: 65535,
        default: 11112,
        description: '0 = any free port',
      },
      aeTitle: {
        ...AE_TITLE,
        default: 'MEDSTREAM',
        description: 'Our AE title; calls to any other are rejected.',
      },
      allowedCallingAeTitles: {
        type: 'array',
        items: AE_TITLE,
        default: [],
        description: 'Calling AE titles allowed to associate; empty = any.',
      },
      allowedHosts: {
        type: 'array',
        items: { type: 'string' },
        default: [],
        description: 'Peer IP addresses allowed to associate; empty = any.',
      },
      maxAssociations: { type: 'integer', minimum: 1, default: 16 },
      maxPduLength: {
        type: 'integer',
        minimum: 4096,
        maximum: 4194304,
        default: 262144,
        description: 'Largest PDU we receive (bytes), offered in A-ASSOCIATE-AC.',
      },
      maxInstanceBytes: {
        type: 'integer',
        minimum: 1024,
        default: 1073741824,
        description:
          'Largest instance accepted (bytes); it is held in memory while it arrives. Larger ones are refused with 0xA700.',
      },
      associationTimeoutMs: {
        type: 'integer',
        minimum: 100,
        default: 30000,
        description: 'A connection must send its A-ASSOCIATE-RQ within this.',
      },
      idleTimeoutMs: {
        type: 'integer',
        minimum: 100,
        default: 60000,
        description: 'An association idle this long is aborted.',
      },
      drainTimeoutMs: {
        type: 'integer',
        minimum: 0,
        default: 10000,
        description: 'On shutdown, how long open associations may finish before they are closed.',
      },
    },
  },
  create(config, ctx) {
    const associations = new Counter({
      name: 'medstream_dicom_associations_total',
      help: 'A-ASSOCIATE requests, by outcome (accepted or the rejection reason)',
      labelNames: ['outcome'],
      registers: [ctx.metrics.registry],
    });
    const instances = new Counter({
      name: 'medstream_dicom_instances_total',
      help: 'C-STORE requests, by status (hex)',
      labelNames: ['source', 'status'],
      registers: [ctx.metrics.registry],
    });
    const open = new Gauge({
      name: 'medstream_dicom_open_associations',
      help: 'TCP connections of the DICOM SCP open now',
      registers: [ctx.metrics.registry],
    });
    const sockets = new Set<Socket>();
    let server: Server | undefined;
    let address = '';

    const accept = (socket: Socket) => {
      sockets.add(socket);
      open.set(sockets.size);
      socket.setNoDelay(true);
      const scp = new MedstreamScp(
        socket,
        {
          connectTimeout: config.idleTimeoutMs,
          associationTimeout: config.associationTimeoutMs,
          pduTimeout: config.idleTimeoutMs,
        },
        {
          policy: {
            aeTitle: config.aeTitle,
            allowedCallingAeTitles: config.allowedCallingAeTitles,
            allowedHosts: config.allowedHosts,
            maxAssociations: config.maxAssociations,
          },
          maxInstanceBytes: config.maxInstanceBytes,
          activeAssociations: () => sockets.size,
          publish: (received) => publishDicomInstance(ctx, received),
          logger: ctx.logger,
          onStored: () => instances.inc({ source: 'dimse', status: '0000' }),
          onRefused: (status) =>
            instances.inc({ source: 'dimse', status: status.toString(16).padStart(4, '0') }),
          onAssociation: (d) => associations.inc({ outcome: d.accept ? 'accepted' : d.reason }),
        },
      );
      const timers = scp as unknown as ScpTimers;
      timers.connected = true;
      timers.connectedTime = Date.now();
      scp.on('networkError', (err: Error) => {
        ctx.logger.warn({ err: err.message, host: socket.remoteAddress }, 'DICOM connection error');
        socket.destroy();
      });
      socket.once('close', () => {
        sockets.delete(socket);
        open.set(sockets.size);
      });
    };

    ctx.addReadinessCheck('scp', async () => {
      if (config.enabled && !server?.listening) throw new Error('DICOM SCP is not listening');
      return { listening: address || 'disabled', associations: sockets.size };
    });

    return {
      start: async () => {
        if (!config.enabled) return;
        configureDicomImplementation(config.maxPduLength);
        const s = createServer(accept);
        server = s;
        await new Promise<void>((resolve, reject) => {
          s.once('error', reject);
          s.listen({ host: config.host, port: config.port }, () => {
            s.off('error', reject);
            resolve();
          });
        });
        s.on('error', (err) => ctx.logger.error({ err }, 'DICOM SCP server error'));
        const bound = s.address();
        const port = typeof bound === 'object' && bound ? bound.port : config.port;
        const host = config.host.includes(':') ? `[${config.host}]` : config.host;
        address = `dicom://${host}:${port}?aet=${config.aeTitle}`;
        ctx.announceListener(address);
        ctx.logger.info({ address }, 'DICOM SCP listening');
      },
      stop: async () => {
        const s = server;
        if (!s) return;
        server = undefined;
        const closed = new Promise<void>((resolve) => s.close(() => resolve()));
        const deadline = Date.now() + config.drainTimeoutMs;
        while (sockets.size > 0 && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 50));
        for (const socket of sockets) socket.destroy();
        await closed;
      },
    };
  },
};
