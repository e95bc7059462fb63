/**
 * Loading and running the WebAssembly codecs (the cornerstone "_decode" builds): each module is
 * instantiated lazily on first use and cached for the life of the process (or worker thread),
 * and re-instantiated after a trap.
 */
import { ImageRejected } from '../../../processors/shared/image-decode';
import { describeThrown } from '../../part10';
import { checkDimensions } from '../pixel-module';
import type { DecodedFrame, PixelModule } from '../types';

export interface WasmFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}

/** The shape shared by the cornerstone decoders (embind classes). */
export interface WasmDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): WasmFrameInfo;
  delete(): void;
}

export interface WasmModuleBase {
  /** Present in some builds: text of a C++ exception thrown as a pointer. */
  getExceptionMessage?: (exceptionPointer: number) => string | string[];
}

interface EmscriptenModuleArg {
  print: (line: string) => void;
  printErr: (line: string) => void;
}
type EmscriptenFactory<M> = (moduleArg: EmscriptenModuleArg) => Promise<M>;

interface LoadedCodec<M> {
  module: M;
  /** What the module printed during the current decode (openjpeg reports errors this way). */
  log: string[];
}

/** One lazily initialised module per codec; reset after a WebAssembly trap. */
export class CodecSlot<M> {
  private loading: Promise<LoadedCodec<M>> | undefined;

  constructor(
    readonly label: string,
    private readonly load: () => EmscriptenFactory<M>,
  ) {}

  get(): Promise<LoadedCodec<M>> {
    if (!this.loading) {
      const log: string[] = [];
      const push = (line: string) => {
        // keep the last few lines only: they are for error messages, not for a log file
        if (log.length >= 20) log.shift();
        log.push(line);
      };
      this.loading = this.load()({ print: push, printErr: push }).then(
        (module) => ({ module, log }),
        (err: unknown) => {
          this.loading = undefined;
          throw new Error(`${this.label} codec failed to initialise: ${describeThrown(err)}`, {
            cause: err,
          });
        },
      );
    }
    return this.loading;
  }

  /** After a trap (abort, out of memory) the module's state is undefined: start afresh. */
  reset(): void {
    this.loading = undefined;
  }
}

/**
 * The common protocol of the cornerstone decoders: copy the codestream into WASM memory, decode,
 * read the frame info, copy the pixels out (the view dies with the decoder), delete.
 */
export async function runWasmDecoder<M extends WasmModuleBase, D extends WasmDecoder>(
  slot: CodecSlot<M>,
  create: (module: M) => D,
  bytes: Uint8Array,
  px: PixelModule,
  layout: (info: WasmFrameInfo, decoder: D) => { planar: boolean; rgb: boolean },
): Promise<DecodedFrame> {
  const where = `${px.ts.name} (${px.ts.uid})`;
  const { module, log } = await slot.get();
  log.length = 0;
  let decoder: D | undefined;
  try {
    decoder = create(module);
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    decoder.decode();
    const info = decoder.getFrameInfo();
    if (info.width === 0 || info.height === 0) {
      // OpenJPEG reports failures by printing them and leaving an empty frame
      throw new ImageRejected(
        'corrupt',
        `${where}: ${slot.label} could not decode the frame` +
          (log.length
            ? `: ${log.filter((l) => l.includes('ERROR')).join('; ') || log.join('; ')}`
            : ''),
      );
    }
    checkDimensions(where, info.width, info.height, px);
    if (info.componentCount !== px.samplesPerPixel) {
      throw new ImageRejected(
        'corrupt',
        `${where}: codestream has ${info.componentCount} component(s); SamplesPerPixel ` +
          `(0028,0002) is ${px.samplesPerPixel}`,
      );
    }
    const bytesPerSample = info.bitsPerSample > 8 ? 2 : 1;
    const count = info.width * info.height * info.componentCount;
    const raw = decoder.getDecodedBuffer();
    if (raw.length < count * bytesPerSample) {
      throw new ImageRejected(
        'corrupt',
        `${where}: ${slot.label} returned ${raw.length} bytes for ${count} samples`,
      );
    }
    const copy = raw.slice(0, count * bytesPerSample);
    const samples =
      bytesPerSample === 1
        ? new Uint8Array(copy.buffer, 0, count)
        : info.isSigned
          ? new Int16Array(copy.buffer, 0, count)
          : new Uint16Array(copy.buffer, 0, count);
    return { samples, components: info.componentCount, cells: false, ...layout(info, decoder) };
  } catch (err) {
    if (err instanceof ImageRejected) throw err;
    // C++ exceptions arrive as pointers (numbers); a trap (WebAssembly.RuntimeError, checked by
    // name: no DOM/wasm typings here, and Jest realms differ) leaves the module unusable, so it
    // is re-instantiated on next use.
    if (err instanceof Error && err.name === 'RuntimeError') slot.reset();
    const text =
      typeof err === 'number' && module.getExceptionMessage
        ? [module.getExceptionMessage(err)].flat().join(': ')
        : describeThrown(err);
    throw new ImageRejected('corrupt', `${where}: ${slot.label} failed: ${text}`, err);
  } finally {
    decoder?.delete();
  }
}
