/**
 * The project's tfjs → ONNX toolkit, shared by every model converter (tools/model-builder/convert-*.ts).
 * See tools/model-builder/onnx/README.md for the API and the conventions (NCHW inside, TF-layout kernels in).
 */
export * from './graph.js';
export * from './layers.js';
export * from './tfjs.js';
export { decodeModel, encodeModel, DataType, onnxProto } from './proto.js';
export type { ModelProtoObject, GraphProtoObject, NodeProtoObject, TensorProtoObject } from './proto.js';
export * from './keras.js';
export * from './converter.js';
