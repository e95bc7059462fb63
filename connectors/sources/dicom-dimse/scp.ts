/**
 * One DICOM association (one TCP connection), on dcmjs-dimse's Scp: association negotiation
 * by association-policy.ts, C-ECHO, and C-STORE of any storage SOP class with the dataset kept
 * as the bytes received.
 *
 * C-STORE contract: the response is sent only after the instance is durable (blob stored and
 * Kafka acknowledged): 0x0000 then. Anything else gets a failure status and nothing is claimed:
 * 0xA700 (out of resources: blob store or Kafka unavailable — the sender retries — or the
 * instance is larger than `maxInstanceBytes`), 0xA900
 * (dataset does not match the SOP class in the command), 0xC000 (cannot understand: not a
 * parseable dataset, or a required UID missing), 0x0110 (processing failure: anything else).
 */
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import dimse from 'dcmjs-dimse';
import { CSTORE_STATUS, dicomStoreStatusFor } from '../../../engine/error-tables/dicom-status';
import { EngineError, isEngineError } from '../../../engine/errors';
import type { Logger } from '../../../engine/logger';
import { isUnreadableDicom, readInstanceHeader, toPart10 } from '../../../dicom/part10';
import type { DicomInstanceReceived } from '../../../schemas/records';
import type { ReceivedInstance } from '../../shared/dicom/intake';
import {
  type AssociationPolicy,
  type AssociationDecision,
  decideAssociation,
  decidePresentationContext,
  normaliseHost,
} from './association-policy';

const { Scp } = dimse;
const { CEchoResponse, CStoreResponse } = dimse.responses;
const { PresentationContextResult, RejectResult, RejectSource, RejectReason, Status } =
  dimse.constants;

type CStoreRequest = InstanceType<typeof dimse.requests.CStoreRequest>;
type CEchoRequest = InstanceType<typeof dimse.requests.CEchoRequest>;
type Association = InstanceType<typeof dimse.association.Association>;

/** C-STORE status codes medstream answers with (PS3.4 Annex B.2.3, PS3.7 Annex C). */
export { CSTORE_STATUS };

/** What the SCP hands over: a received instance to make durable, plus its sinks for metrics/logs. */
export interface ScpDeps {
  policy: AssociationPolicy;
  /** Largest dataset accepted; a larger one is read to its end, discarded and refused 0xA700. */
  maxInstanceBytes: number;
  activeAssociations: () => number;
  publish: (received: ReceivedInstance) => Promise<DicomInstanceReceived>;
  logger: Logger;
  onStored: (event: DicomInstanceReceived) => void;
  onRefused: (status: number, reason: string) => void;
  onAssociation: (decision: AssociationDecision) => void;
}

/** The dataset of a C-STORE as received: the PDV bytes, in the accepted transfer syntax. */
class RawDataset {
  constructor(
    readonly bytes: Buffer,
    readonly transferSyntaxUid: string,
    /** Bytes that arrived past the limit (then `bytes` is empty: the instance is refused). */
    readonly overflow: number,
  ) {}
}

/**
 * Collects PDV fragments without parsing. Past `limit` bytes it keeps nothing more (the
 * instance will be refused), so one association's memory stays bounded by the limit.
 */
class CollectingStream extends Writable {
  chunks: Buffer[] = [];
  size = 0;
  constructor(private readonly limit: number) {
    super({ highWaterMark: 64 * 1024 * 1024 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.size += chunk.length;
    if (this.size <= this.limit) this.chunks.push(chunk);
    else this.chunks = [];
    done();
  }
}

const REJECT_RESULT = {
  'rejected-permanent': RejectResult.Permanent,
  'rejected-transient': RejectResult.Transient,
} as const;
const REJECT_SOURCE = {
  'service-user': RejectSource.ServiceUser,
  'service-provider-presentation': RejectSource.ServiceProviderPresentation,
} as const;
const REJECT_REASON = {
  'no-reason-given': RejectReason.NoReasonGiven,
  'calling-AE-title-not-recognized': RejectReason.CallingAeNotRecognized,
  'called-AE-title-not-recognized': RejectReason.CalledAeNotRecognized,
  'local-limit-exceeded': RejectReason.LocalLimitExceeded,
} as const;

export class MedstreamScp extends Scp {
  private readonly remoteHost: string;
  private association: Association | undefined;

  constructor(
    private readonly connection: Socket,
    options: ConstructorParameters<typeof Scp>[1],
    private readonly deps: ScpDeps,
  ) {
    super(connection, options);
    this.remoteHost = normaliseHost(connection.remoteAddress ?? '');
  }

  override associationRequested(association: Association): void {
    this.association = association;
    const decision = decideAssociation(this.deps.policy, {
      calledAe: association.getCalledAeTitle(),
      callingAe: association.getCallingAeTitle(),
      remoteHost: this.remoteHost,
      active: this.deps.activeAssociations() - 1,
    });
    this.deps.onAssociation(decision);
    if (!decision.accept) {
      this.deps.logger.warn(
        {
          callingAe: association.getCallingAeTitle(),
          host: this.remoteHost,
          reason: decision.reason,
        },
        `association rejected: ${decision.message}`,
      );
      this.sendAssociationReject(
        REJECT_RESULT[decision.result],
        REJECT_SOURCE[decision.source],
        REJECT_REASON[decision.reason],
      );
      return;
    }
    for (const { context } of association.getPresentationContexts()) {
      const choice = decidePresentationContext(
        context.getAbstractSyntaxUid(),
        context.getTransferSyntaxUids(),
      );
      if (choice.result === 'accept')
        context.setResult(PresentationContextResult.Accept, choice.transferSyntaxUid);
      else
        context.setResult(
          choice.result === 'abstract-syntax-not-supported'
            ? PresentationContextResult.RejectAbstractSyntaxNotSupported
            : PresentationContextResult.RejectTransferSyntaxesNotSupported,
        );
    }
    this.sendAssociationAccept();
  }

  override associationReleaseRequested(): void {
    this.sendAssociationReleaseResponse();
  }

  override cEchoRequest(
    request: CEchoRequest,
    callback: (r: InstanceType<typeof CEchoResponse>) => void,
  ): void {
    const response = CEchoResponse.fromRequest(request);
    response.setStatus(Status.Success);
    callback(response);
  }

  /** Keeps the dataset as bytes: no parsing, no transcoding. */
  override createStoreWritableStream(): Writable {
    return new CollectingStream(this.deps.maxInstanceBytes);
  }

  override createDatasetFromStoreWritableStream(
    writable: Writable,
    acceptedPresentationContext: { getAcceptedTransferSyntaxUid(): string | undefined },
    callback: (dataset: never) => void,
  ): void {
    const collected = writable as CollectingStream;
    const over = Math.max(0, collected.size - this.deps.maxInstanceBytes);
    const bytes = over > 0 ? Buffer.alloc(0) : Buffer.concat(collected.chunks);
    const ts = acceptedPresentationContext.getAcceptedTransferSyntaxUid() ?? '';
    callback(new RawDataset(bytes, ts, over) as never);
  }

  override cStoreRequest(
    request: CStoreRequest,
    callback: (r: InstanceType<typeof CStoreResponse>) => void,
  ): void {
    const respond = (status: number, comment?: string) => {
      const response = CStoreResponse.fromRequest(request);
      response.setStatus(status);
      if (comment) response.setErrorComment(comment.slice(0, 64));
      callback(response);
    };
    this.store(request).then(
      (event) => {
        this.deps.onStored(event);
        respond(CSTORE_STATUS.success);
      },
      (err: unknown) => {
        const [status, reason] = this.failureStatus(err);
        this.deps.onRefused(status, reason);
        this.deps.logger.warn(
          { status: `0x${status.toString(16).padStart(4, '0')}`, err },
          `C-STORE refused: ${reason}`,
        );
        respond(status, reason);
      },
    );
  }

  private async store(request: CStoreRequest): Promise<DicomInstanceReceived> {
    const raw = request.getDataset() as unknown as RawDataset | undefined;
    if (!(raw instanceof RawDataset))
      throw new EngineError('DECODE_FAILED', 'C-STORE without a dataset');
    if (raw.overflow > 0)
      throw new EngineError(
        'INSTANCE_TOO_LARGE',
        `instance larger than maxInstanceBytes (${this.deps.maxInstanceBytes} bytes)`,
        { details: { maxInstanceBytes: this.deps.maxInstanceBytes } },
      );
    const sopClassUid = request.getAffectedSopClassUid();
    const sopInstanceUid = request.getAffectedSopInstanceUid();
    const part10 = toPart10(
      {
        sopClassUid,
        sopInstanceUid,
        transferSyntaxUid: raw.transferSyntaxUid,
        sourceAe: this.association?.getCallingAeTitle(),
      },
      raw.bytes,
    );
    const header = readInstanceHeader(part10);
    if (header.sopClassUid !== sopClassUid)
      throw new EngineError(
        'SOP_CLASS_MISMATCH',
        `dataset SOP Class ${header.sopClassUid} differs from the command's ${sopClassUid}`,
      );
    if (header.sopInstanceUid !== sopInstanceUid)
      throw new EngineError(
        'DECODE_FAILED',
        `dataset SOP Instance UID differs from the command's Affected SOP Instance UID`,
      );
    return this.deps.publish({
      part10,
      header,
      source: 'dimse',
      callingAe: this.association?.getCallingAeTitle() ?? null,
      calledAe: this.association?.getCalledAeTitle() ?? null,
      remoteHost: this.remoteHost,
    });
  }

  private failureStatus(err: unknown): [number, string] {
    if (isUnreadableDicom(err)) return [CSTORE_STATUS.cannotUnderstand, err.message];
    if (isEngineError(err)) {
      const status = dicomStoreStatusFor(err);
      // a refusal to be tried later names the code, not the internals
      const tryLater = err.retriable || err.code === 'STORE_FAILED';
      return [status, tryLater ? `${err.code}: try again later` : err.message];
    }
    return [CSTORE_STATUS.processingFailure, err instanceof Error ? err.message : String(err)];
  }

  override abort(): void {
    this.deps.logger.info({ host: this.remoteHost }, 'association aborted by the peer');
    this.connection.destroy();
  }
}
