// @ts-check
/**
 * Jest's node environment, with the host's typed-array constructors (every test file runs in it).
 *
 * Jest runs each test file in its own vm context, with its own typed-array constructors.
 * onnxruntime-node's native binding returns output tensors as typed arrays of the main context,
 * which its own JS then rejects (`data instanceof Float32Array` is false): "A float32 tensor's
 * data must be type of function Float32Array()". Handing the sandbox the main context's typed
 * arrays makes both sides agree. Production (no sandbox) needs nothing.
 */
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer',
  'SharedArrayBuffer',
  'DataView',
  'Int8Array',
  'Uint8Array',
  'Uint8ClampedArray',
  'Int16Array',
  'Uint16Array',
  'Int32Array',
  'Uint32Array',
  'Float32Array',
  'Float64Array',
  'BigInt64Array',
  'BigUint64Array',
];

class HostTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = HostTypedArraysEnvironment;
