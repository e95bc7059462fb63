/**
 * What every model version's manifest.json says, whatever its task: which model and version it is
 * (equal to its folder names), what it does, and whether its results must carry the
 * synthetic-data disclaimer. Each task adds its own part (ModelManifest for images,
 * IcuRiskManifest in processors/icu-risk/learned-model.ts for tabular risk); the JSON schema of
 * this base is MANIFEST_BASE_SCHEMA in runtime/manifest-validation.ts.
 */
export interface ModelManifestBase<Task extends string = string> {
  /** Must equal the folder name `models/<name>/`. */
  name: string;
  /** Must equal the version folder name; compared numerically per dot-separated part. */
  version: string;
  task: Task;
  /** true when the weights were trained on synthetic data: every result then says so. */
  syntheticTrainingData: boolean;
  /** Shown with every result of this model (e.g. "synthetic training data — not for clinical use"). */
  disclaimer?: string;
}

/**
 * The manifest of one image-classifier version: `models/<name>/<version>/manifest.json`. Everything the
 * engine needs to serve a model without code: input geometry, preprocessing, labels, Grad-CAM
 * target, batching limits and which artifacts exist. A bring-your-own model needs only its
 * artifact and this file.
 */
export interface ModelManifest extends ModelManifestBase<'image-classification'> {
  /** false: one softmax over `labels`; true: independent sigmoid per label (e.g. 18 findings). */
  multiLabel: boolean;
  input: {
    height: number;
    width: number;
    /** 1 = grayscale; 3 = the gray image repeated into RGB. */
    channels: 1 | 3;
  };
  preprocessing: {
    /** stretch: resize to height×width ignoring aspect; letterbox: keep aspect, pad with 0. */
    resize: 'stretch' | 'letterbox';
    /**
     * Intensity window applied to the decoded gray image before normalisation:
     * none: full range of the bit depth; minmax: image min..max; percentile: [low, high] percentiles.
     */
    window: { mode: 'none' | 'minmax' | 'percentile'; low?: number; high?: number };
    /** After windowing values are in [0, 1]; then x = (x - mean) / std. */
    normalization: { mean: number; std: number };
  };
  labels: string[];
  /** Label whose probability the seed-compatible API reports as the COVID-19 probability. */
  positiveLabel?: string;
  gradcam?: {
    /**
     * tfjs: name of the layer whose output is differentiated (its activations A).
     * onnx: name of the graph tensor holding A; added as a graph output at load if needed.
     */
    targetLayer: string;
    onnxTensor?: string;
    /**
     * How the model maps A to logits, for the exact ONNX gradient:
     * gap-dense: logits = GAP(relu?(A)) · W + b. `weights` names the ONNX initializer of W,
     * `weightsLayout` says whether it is stored [K, C] (Keras Dense / Gemm transB=0) or
     * [C, K] (PyTorch Linear / Gemm transB=1); `relu` says a ReLU sits between A and GAP.
     * Logits are pre-softmax/pre-sigmoid scores; Grad-CAM differentiates those.
     */
    head?: { type: 'gap-dense'; weights: string; weightsLayout: 'KC' | 'CK'; relu?: boolean };
  };
  batching: { maxBatchSize: number; maxQueueDelayMs: number };
  artifacts: {
    /** tfjs LayersModel (tensorflowjs_converter output), NHWC input. */
    tfjs?: string;
    /** ONNX model file. */
    onnx?: string;
  };
  onnx?: {
    inputName: string;
    /** NCHW (PyTorch exports) or NHWC. */
    layout: 'NCHW' | 'NHWC';
    /** Output holding the per-class scores, and whether they are already probabilities. */
    outputName: string;
    outputIs: 'logits' | 'probabilities';
  };
}
