/**
 * A minimal ONNX model writer for the kernel table: `copies` independent MatMul nodes
 * Y_i = X · W_i (X [B, K] with a symbolic batch B, W_i [K, M] f32 initializers), so one session
 * serves every batch and a pool of copies larger than the last-level cache gives "cold" weights
 * (docs/performance.md §2.1: the small shapes ran as parallel MatMul nodes, each with its own weights).
 *
 * Only the protobuf fields this needs are written (onnx.proto3 field numbers):
 *   ModelProto     ir_version 1, opset_import 8, producer_name 2, graph 7
 *   OperatorSetId  domain 1, version 2
 *   GraphProto     node 1, name 2, initializer 5, input 11, output 12
 *   NodeProto      input 1, output 2, name 3, op_type 4
 *   TensorProto    dims 1, data_type 2 (1 = FLOAT), name 8, raw_data 9
 *   ValueInfoProto name 1, type 2;  TypeProto tensor_type 1;  TypeProto.Tensor elem_type 1, shape 2
 *   TensorShapeProto dim 1;  Dimension dim_value 1, dim_param 2
 */
import { joinParts } from '../../src/io/source.js';

class Pb {
  private chunks: Uint8Array[] = [];
  length = 0;
  private push(b: Uint8Array): this {
    this.chunks.push(b);
    this.length += b.length;
    return this;
  }
  private varint(v: number | bigint): this {
    let x = BigInt(v);
    const out: number[] = [];
    do {
      let byte = Number(x & 0x7fn);
      x >>= 7n;
      if (x !== 0n) byte |= 0x80;
      out.push(byte);
    } while (x !== 0n);
    return this.push(Uint8Array.from(out));
  }
  /** Varint field (wire type 0). */
  int(field: number, v: number | bigint): this {
    return this.varint(field << 3).varint(v);
  }
  /** Length-delimited field (wire type 2): bytes, string or nested message. */
  bytes(field: number, b: Uint8Array | Pb | string): this {
    const data = typeof b === 'string' ? new TextEncoder().encode(b) : b instanceof Pb ? b.finish() : b;
    return this.varint((field << 3) | 2).varint(data.length).push(data);
  }
  finish(): Uint8Array {
    return joinParts({ totalBytes: this.length, parts: this.chunks });
  }
}

function valueInfo(name: string, dims: readonly (number | string)[]): Pb {
  const shape = new Pb();
  for (const d of dims) shape.bytes(1, typeof d === 'number' ? new Pb().int(1, d) : new Pb().bytes(2, d));
  const tensorType = new Pb().int(1, 1).bytes(2, shape);
  return new Pb().bytes(1, name).bytes(2, new Pb().bytes(1, tensorType));
}

/**
 * ONNX bytes of `weights.length` MatMul nodes: Y<i> [B, M] = X [B, K] · W<i> [K, M].
 * Each weight is given row-major [K, M] (ONNX MatMul's B operand).
 */
export function matmulModel(weights: readonly Float32Array[], k: number, m: number): Uint8Array {
  const graph = new Pb().bytes(2, 'matmuls');
  weights.forEach((w, i) => {
    if (w.length !== k * m) throw new Error(`matmulModel: weight ${i} has ${w.length} values, expected ${k}×${m}`);
    graph.bytes(1, new Pb().bytes(1, 'X').bytes(1, `W${i}`).bytes(2, `Y${i}`).bytes(3, `mm${i}`).bytes(4, 'MatMul'));
  });
  weights.forEach((w, i) => {
    graph.bytes(5, new Pb().int(1, k).int(1, m).int(2, 1).bytes(8, `W${i}`).bytes(9, new Uint8Array(w.buffer, w.byteOffset, w.byteLength)));
  });
  graph.bytes(11, valueInfo('X', ['B', k]));
  weights.forEach((_, i) => graph.bytes(12, valueInfo(`Y${i}`, ['B', m])));
  return new Pb()
    .int(1, 8) // IR version 8
    .bytes(2, 'spechub-bench')
    .bytes(7, graph)
    .bytes(8, new Pb().bytes(1, '').int(2, 17))
    .finish();
}
