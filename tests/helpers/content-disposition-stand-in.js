/**
 * content-disposition 3 is an ES-module-only package, which jest's CommonJS runtime cannot
 * require (Node itself can). @fastify/static (serving /docs assets of @fastify/swagger-ui) loads
 * it only to name downloads (`reply.download`), which medstream never sends; under jest it is
 * stood in by this module, which refuses every use so a test can never pass through it silently.
 */
'use strict';

function unsupported() {
  throw new Error('content-disposition is not available under jest (ES module only)');
}

module.exports = { create: unsupported, parse: unsupported, format: unsupported };
