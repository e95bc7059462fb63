import type { FastifyReply } from 'fastify';

/** One entry per offending field, named by its dotted path in the request body. */
export interface FieldProblem {
  field: string;
  message: string;
}

/**
 * An RFC 9457 problem answer. Thrown from a route, it becomes `application/problem+json`
 * with the given status; `type` is a stable URN clients can switch on.
 */
export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly problemType: string,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldProblem[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }
}

/** 422 for a body that parsed but is not valid, naming each offending field. */
export function validationProblem(
  errors: FieldProblem[],
  title = 'The request body is not valid',
): HttpProblem {
  return new HttpProblem(
    422,
    'validation-failed',
    title,
    errors.map((e) => `${e.field} ${e.message}`).join('; '),
    errors,
  );
}

export function sendProblem(
  reply: FastifyReply,
  problem: HttpProblem,
  instance?: string,
): FastifyReply {
  for (const [name, value] of Object.entries(problem.headers)) reply.header(name, value);
  return reply
    .code(problem.status)
    .type('application/problem+json')
    .send({
      type: `urn:medstream:problem:${problem.problemType}`,
      title: problem.title,
      status: problem.status,
      ...(problem.detail ? { detail: problem.detail } : {}),
      ...(instance ? { instance } : {}),
      ...(problem.errors ? { errors: problem.errors } : {}),
    });
}
