/* Reading ONNX files into an lrp_graph. */
#ifndef LRP_ONNX_LOAD_H
#define LRP_ONNX_LOAD_H

#include "graph/graph.h"

struct Onnx__TensorProto;

/* Parses the model file into a sorted graph. Nodes of unsupported types get
 * op == NULL (so that `lrp inspect` can list them); lrp_graph_init_ops
 * refuses them. */
lrp_status lrp_onnx_load(const char *path, lrp_graph **out, lrp_error *err);

/* Checks every live node has a supported op and the right number of inputs,
 * and parses its attributes (op->init). */
lrp_status lrp_graph_init_ops(lrp_graph *g, lrp_error *err);

/* Converts a TensorProto (float types to float32, integer types to int64). */
lrp_status lrp_onnx_tensor(const char *model_path, const struct Onnx__TensorProto *tp, lrp_tensor **out,
                           lrp_error *err);

const char *lrp_onnx_dtype_name(int elem_type);

/* Reads a serialized TensorProto file (ONNX test data: input_0.pb ...). */
lrp_status lrp_onnx_read_tensor_file(const char *path, lrp_tensor **out, lrp_error *err);
#endif
