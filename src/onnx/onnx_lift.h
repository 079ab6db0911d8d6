/* A model file read without its weights' bytes: the protobuf message with every large raw_data of the top-level
 * graph's initializers left out (the lengths of the messages around them re-encoded), and where each of those
 * payloads lies in the file. protobuf-c then unpacks a message of a few hundred kilobytes instead of copying the
 * weights twice (file buffer, unpacked message), and each weight is read from the file straight into its tensor:
 * for ResNet-50, 100 MB of memory touched instead of 300 MB. */
#ifndef LRP_ONNX_LIFT_H
#define LRP_ONNX_LIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t off, len; /* the payload's bytes in the file; len < 0: not lifted (the message holds it) */
} lrp_lift_span;

typedef struct {
    uint8_t *buf; /* the message without the lifted payloads */
    size_t len;
    lrp_lift_span *spans; /* one per initializer of the graph, in the file's order (protobuf-c's order) */
    size_t n_spans;
} lrp_lifted;

/* Walks the file (fd, size bytes) and lifts out every initializer's raw_data of at least min_len bytes. false
 * (and nothing to free) where the file is not laid out as one plain ModelProto with one graph field and at most one
 * raw_data per initializer, is malformed, or cannot be read: the caller then unpacks the whole file as before, which
 * names what is wrong. */
bool lrp_onnx_lift(int fd, int64_t size, size_t min_len, lrp_lifted *out);
void lrp_lifted_free(lrp_lifted *l);

/* The whole of the file's bytes [off, off + n) into buf; false on a short read or an error. */
bool lrp_onnx_read_at(int fd, int64_t off, void *buf, int64_t n);

#endif
