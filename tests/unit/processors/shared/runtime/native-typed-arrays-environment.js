// @ts-check
const { TestEnvironment } = require('jest-environment-node');

/**
 * Jest's node environment runs each test file in its own V8 context, with its own typed-array
 * constructors. onnxruntime-node's native binding returns its output tensors as typed arrays of
 * the main context, which its own JS then rejects (`data instanceof Float32Array` is false):
 * "A float32 tensor's data must be type of function Float32Array()". Test files that run ONNX
 * in-process use this environment (docblock `@jest-environment`), which hands the sandbox the
 * main context's typed arrays so that both sides agree. Production (no sandbox) needs nothing.
 */
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

class NativeTypedArraysEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = NativeTypedArraysEnvironment;
