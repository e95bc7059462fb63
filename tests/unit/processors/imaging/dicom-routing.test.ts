import {
  DEFAULT_DICOM_ROUTES,
  routeDicomInstance,
} from '../../../../processors/imaging/dicom-routing';

const CR = '1.2.840.10008.5.1.4.1.1.1';
const DX = '1.2.840.10008.5.1.4.1.1.1.1';
const CT = '1.2.840.10008.5.1.4.1.1.2';
const BASIC_TEXT_SR = '1.2.840.10008.5.1.4.1.1.88.11';
const PDF = '1.2.840.10008.5.1.4.1.1.104.1';

describe('[REQ-DCM-09] DICOM routing is configuration', () => {
  it('by default sends CR and DX images to the chest X-ray model, and nothing else', () => {
    const r = (sopClassUid: string, modality: string | null) =>
      routeDicomInstance(DEFAULT_DICOM_ROUTES, { sopClassUid, modality, bodyPartExamined: null });
    expect(r(CR, 'CR')).toEqual({ route: true, model: 'cxr-demo', frame: 0 });
    expect(r(DX, 'dx ')).toEqual({ route: true, model: 'cxr-demo', frame: 0 });
    expect(r(CT, 'CT')).toMatchObject({ route: false, reason: 'no-route' });
    expect(r(BASIC_TEXT_SR, 'SR')).toMatchObject({
      route: false,
      reason: 'not-an-image',
      detail: expect.stringMatching(/structured report/i),
    });
    expect(r(PDF, 'DOC')).toMatchObject({ route: false, reason: 'not-an-image' });
  });

  it('first matching rule wins; every given criterion must match', () => {
    const routes = [
      { modalities: ['DX'], bodyParts: ['CHEST'], model: 'chest@2', frame: 1 },
      { sopClassUids: [CT], model: 'ct-model' },
      { modalities: ['DX', 'CR'], model: 'fallback' },
    ];
    const at = (sopClassUid: string, modality: string, bodyPartExamined: string | null) =>
      routeDicomInstance(routes, { sopClassUid, modality, bodyPartExamined });
    expect(at(DX, 'DX', 'chest')).toEqual({ route: true, model: 'chest@2', frame: 1 });
    expect(at(DX, 'DX', 'HAND')).toEqual({ route: true, model: 'fallback', frame: 0 });
    expect(at(DX, 'DX', null)).toEqual({ route: true, model: 'fallback', frame: 0 });
    expect(at(CT, 'CT', null)).toEqual({ route: true, model: 'ct-model', frame: 0 });
    expect(
      routeDicomInstance([], { sopClassUid: DX, modality: 'DX', bodyPartExamined: null }),
    ).toMatchObject({
      route: false,
      reason: 'no-route',
    });
  });

  it('a storage class unknown to medstream is routed only by a rule that names it', () => {
    const unknown = '1.2.840.10008.5.1.4.1.1.999.1';
    const instance = { sopClassUid: unknown, modality: 'OT', bodyPartExamined: null };
    expect(routeDicomInstance([{ model: 'any' }], instance)).toMatchObject({ route: false });
    expect(routeDicomInstance([{ sopClassUids: [unknown], model: 'special' }], instance)).toEqual({
      route: true,
      model: 'special',
      frame: 0,
    });
  });
});
