import {
  type AssociationPolicy,
  decideAssociation,
  decidePresentationContext,
  normaliseHost,
} from '../../../../../connectors/sources/dicom-dimse/association-policy';

const policy: AssociationPolicy = {
  aeTitle: 'MEDSTREAM',
  allowedCallingAeTitles: ['PACS1', 'MODALITY'],
  allowedHosts: ['10.1.2.3', '127.0.0.1'],
  maxAssociations: 2,
};
const request = { calledAe: 'MEDSTREAM', callingAe: 'PACS1', remoteHost: '127.0.0.1', active: 0 };

describe('[REQ-DCM-02] association policy (PS3.8 Table 9-21 reasons)', () => {
  it('accepts a known caller from an allowed host under the limit; AE titles compare trimmed', () => {
    expect(decideAssociation(policy, request)).toEqual({ accept: true });
    expect(decideAssociation(policy, { ...request, calledAe: 'MEDSTREAM       ' })).toEqual({
      accept: true,
    });
  });

  it('names the reason for each refusal', () => {
    expect(decideAssociation(policy, { ...request, calledAe: 'OTHER' })).toMatchObject({
      accept: false,
      result: 'rejected-permanent',
      source: 'service-user',
      reason: 'called-AE-title-not-recognized',
    });
    expect(decideAssociation(policy, { ...request, callingAe: 'ROGUE' })).toMatchObject({
      accept: false,
      result: 'rejected-permanent',
      reason: 'calling-AE-title-not-recognized',
      message: expect.stringContaining('ROGUE'),
    });
    expect(decideAssociation(policy, { ...request, remoteHost: '10.9.9.9' })).toMatchObject({
      accept: false,
      reason: 'no-reason-given',
      message: expect.stringContaining('10.9.9.9'),
    });
    expect(decideAssociation(policy, { ...request, active: 2 })).toMatchObject({
      accept: false,
      result: 'rejected-transient',
      source: 'service-provider-presentation',
      reason: 'local-limit-exceeded',
    });
  });

  it('empty allow-lists allow anyone; IPv4-mapped IPv6 equals IPv4', () => {
    const open = { ...policy, allowedCallingAeTitles: [], allowedHosts: [] };
    expect(decideAssociation(open, { ...request, callingAe: 'ANY', remoteHost: '::1' })).toEqual({
      accept: true,
    });
    expect(normaliseHost('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(decideAssociation(policy, { ...request, remoteHost: '::ffff:10.1.2.3' })).toEqual({
      accept: true,
    });
  });
});

describe('[REQ-DCM-01] presentation contexts', () => {
  const CR = '1.2.840.10008.5.1.4.1.1.1';
  it('accepts verification and storage classes with the caller’s first acceptable syntax', () => {
    expect(decidePresentationContext('1.2.840.10008.1.1', ['1.2.840.10008.1.2'])).toEqual({
      result: 'accept',
      transferSyntaxUid: '1.2.840.10008.1.2',
    });
    expect(
      decidePresentationContext(CR, ['1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.1']),
    ).toEqual({ result: 'accept', transferSyntaxUid: '1.2.840.10008.1.2.4.90' });
    expect(decidePresentationContext(CR, ['1.2.3.4.5.6', '1.2.840.10008.1.2.5'])).toEqual({
      result: 'accept',
      transferSyntaxUid: '1.2.840.10008.1.2.5',
    });
  });
  it('accepts the storage classes outside the usual root (hanging protocols, palettes)', () => {
    expect(
      decidePresentationContext('1.2.840.10008.5.1.4.38.1', ['1.2.840.10008.1.2.1']),
    ).toMatchObject({ result: 'accept' });
  });
  it('refuses non-storage services and unknown syntaxes', () => {
    // Study Root Query/Retrieve FIND is not a storage class
    expect(decidePresentationContext('1.2.840.10008.5.1.4.1.2.2.1', ['1.2.840.10008.1.2'])).toEqual(
      { result: 'abstract-syntax-not-supported' },
    );
    expect(decidePresentationContext(CR, ['1.2.840.10008.1.2.4.100'])).toEqual({
      result: 'transfer-syntaxes-not-supported',
    });
  });
});
