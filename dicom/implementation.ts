import dimse from 'dcmjs-dimse';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION } from './uids';

/**
 * medstream's DICOM identity in the library, which keeps it process-wide: Implementation Class
 * UID and version name in every A-ASSOCIATE (SCP and SCU alike), the max PDU length offered,
 * and the library's own console logging off (our components log what matters, without PHI).
 * Called by every component that speaks DIMSE before it opens or accepts an association.
 */
export function configureDicomImplementation(maxPduLength?: number): void {
  dimse.log.setLevel('silent');
  dimse.Implementation.setImplementationClassUid(IMPLEMENTATION_CLASS_UID);
  dimse.Implementation.setImplementationVersion(IMPLEMENTATION_VERSION);
  if (maxPduLength !== undefined) dimse.Implementation.setMaxPduLength(maxPduLength);
}
