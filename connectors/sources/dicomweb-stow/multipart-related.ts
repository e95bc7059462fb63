/**
 * RFC 2387 multipart/related bodies, as STOW-RS clients send them (PS3.18 §10.5): parsed from a
 * buffer without copying the parts' bodies. A body that is not multipart/related is refused with
 * MEDIA_TYPE_UNSUPPORTED (HTTP 415), a malformed one with MULTIPART_INVALID (HTTP 400); see
 * engine/error-tables/http-problem.ts.
 */

import { EngineError } from '../../../engine/errors';

export interface RelatedPart {
  /** Header names lower-cased. */
  headers: Record<string, string>;
  body: Buffer;
}

export interface MultipartRelatedType {
  boundary: string;
  /** The `type` parameter: the media type of the root (here every) part. */
  type: string | undefined;
}

const malformed = (message: string) => new EngineError('MULTIPART_INVALID', message);

/** `multipart/related; type="application/dicom"; boundary=xyz` → its parameters. */
export function parseMultipartRelatedType(contentType: string | undefined): MultipartRelatedType {
  const [mediaType, ...params] = (contentType ?? '').split(';');
  if (mediaType?.trim().toLowerCase() !== 'multipart/related')
    throw new EngineError(
      'MEDIA_TYPE_UNSUPPORTED',
      `content type ${mediaType?.trim() || '(none)'} is not multipart/related`,
    );
  const values: Record<string, string> = {};
  for (const p of params) {
    const eq = p.indexOf('=');
    if (eq < 0) continue;
    const name = p.slice(0, eq).trim().toLowerCase();
    let value = p.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    values[name] = value;
  }
  if (!values.boundary) throw malformed('multipart/related without a boundary parameter');
  // RFC 2046 allows 70 characters; Orthanc's DICOMweb plugin sends 73. Be lenient, not unbounded.
  if (values.boundary.length > 256) throw malformed('boundary longer than 256 characters');
  return { boundary: values.boundary, type: values.type?.toLowerCase() };
}

/**
 * Splits a body into its parts. Each delimiter is CRLF "--boundary" (the first may start the
 * body); the closing one ends in "--". Throws MULTIPART_INVALID for a body with no parts or no
 * closing delimiter (a truncated upload).
 */
export function parseMultipartRelated(body: Buffer, boundary: string): RelatedPart[] {
  const delimiter = Buffer.from(`--${boundary}`, 'latin1');
  const parts: RelatedPart[] = [];
  let at = body.indexOf(delimiter);
  if (at < 0) throw malformed('no part delimiter in the body');
  for (;;) {
    let start = at + delimiter.length;
    if (body[start] === 0x2d && body[start + 1] === 0x2d) return finish(parts); // closing "--"
    // transport padding then CRLF after the delimiter
    while (body[start] === 0x20 || body[start] === 0x09) start++;
    if (body[start] === 0x0d && body[start + 1] === 0x0a) start += 2;
    else if (body[start] === 0x0a) start += 1;
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), start);
    if (next < 0) throw malformed('the body ends without the closing delimiter (truncated?)');
    parts.push(parsePart(body.subarray(start, next)));
    at = next + 2;
  }

  function finish(found: RelatedPart[]): RelatedPart[] {
    if (found.length === 0) throw malformed('the body holds no parts');
    return found;
  }
}

function parsePart(raw: Buffer): RelatedPart {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) {
    // A part with no headers starts with the blank line itself.
    if (raw[0] === 0x0d && raw[1] === 0x0a) return { headers: {}, body: raw.subarray(2) };
    throw malformed('a part has no blank line between its headers and its body');
  }
  const headers: Record<string, string> = {};
  for (const line of raw.toString('latin1', 0, end).split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body: raw.subarray(end + 4) };
}
