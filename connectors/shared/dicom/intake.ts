import { randomUUID } from 'node:crypto';
import type { ComponentContext } from '../../../engine/contracts';
import type { BlobRef } from '../../../engine/blob-store';
import { TOPICS } from '../../../engine/kafka/topics';
import type { InstanceHeader } from '../../../dicom/part10';
import type { DicomInstanceReceived } from '../../../schemas/records';

export interface ReceivedInstance {
  /** The Part-10 file as it will be stored: our File Meta header + the dataset as received. */
  part10: Buffer;
  header: InstanceHeader;
  source: 'dimse' | 'stow';
  callingAe?: string | null;
  calledAe?: string | null;
  remoteHost?: string | null;
}

/** The DicomInstanceReceived record (schemas/dicom-instance-received.v1.avsc) of an instance. */
export function dicomInstanceToEvent(
  received: ReceivedInstance,
  ids: { id: string; receivedAt: number; blob: BlobRef },
): DicomInstanceReceived {
  const h = received.header;
  return {
    id: ids.id,
    receivedAt: ids.receivedAt,
    source: received.source,
    callingAe: received.callingAe?.trim() || null,
    calledAe: received.calledAe?.trim() || null,
    remoteHost: received.remoteHost ?? null,
    sopClassUid: h.sopClassUid,
    sopInstanceUid: h.sopInstanceUid,
    studyInstanceUid: h.studyInstanceUid,
    seriesInstanceUid: h.seriesInstanceUid,
    transferSyntaxUid: h.transferSyntaxUid,
    modality: h.modality,
    bodyPartExamined: h.bodyPartExamined,
    patientId: h.patientId,
    accessionNumber: h.accessionNumber,
    rows: h.rows,
    columns: h.columns,
    bitsAllocated: h.bitsAllocated,
    numberOfFrames: h.numberOfFrames,
    photometricInterpretation: h.photometricInterpretation,
    hasPixelData: h.hasPixelData,
    blob: ids.blob,
  };
}

/**
 * The one intake path for DICOM (C-STORE and STOW-RS): store the file (claim check), publish
 * DicomInstanceReceived keyed by StudyInstanceUID and wait for Kafka's ack. Resolves only when
 * the instance is durable; rejects with the EngineError of the failing step (the caller answers
 * with a failure status the sender retries on, never a false success).
 */
export async function publishDicomInstance(
  ctx: ComponentContext,
  received: ReceivedInstance,
): Promise<DicomInstanceReceived> {
  const blob = await ctx.blobs.put(received.part10);
  const event = dicomInstanceToEvent(received, { id: randomUUID(), receivedAt: Date.now(), blob });
  await ctx.producer.send(
    [
      {
        topic: TOPICS.ingestDicom,
        key: event.studyInstanceUid,
        value: event,
        headers: { 'correlation-id': event.id },
      },
    ],
    `dicom-${received.source}`,
  );
  return event;
}
