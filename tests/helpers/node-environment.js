/**
 * Jest's node environment, with the host's typed-array constructors.
 *
 * Jest runs each test file in its own vm context, whose `Float32Array` is not the host's. Native
 * addons (onnxruntime-node, sharp) create their typed arrays in the host realm, and
 * onnxruntime-common checks tensor data with `instanceof Float32Array`: without this, every ONNX
 * output fails that check under Jest ("A float32 tensor's data must be type of function
 * Float32Array()"), though the same code works in a plain Node process.
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
