/* Models: loading, input checking, running. */
#include "engine/model.h"

#include "graph/canonize.h"
#include "base/error.h"
#include "base/clock.h"
#include "base/exec.h"
#include "engine/forward.h"
#include "onnx/onnx_load.h"
#include "ops/op.h"
#include "graph/shape_infer.h"
#include "base/tensor.h"

#include <stdlib.h>
#include <string.h>

void lrp_load_options_default(lrp_load_options *o)
{
    memset(o, 0, sizeof *o);
    o->canonize = 1;
    o->strip_softmax = 1;
    o->threads = lrp_exec_default_threads();
    o->openblas = lrp_exec_default_openblas();
}

/* Guesses the layout from the declared input shape. */
static void guess_layout(lrp_model_info *in)
{
    const int64_t *d = in->input_dims;
    in->channels = in->height = in->width = 0;
    if (in->input_ndim == 4) {
        bool c_first = d[1] == 1 || d[1] == 3 || d[1] == 4;
        bool c_last = d[3] == 1 || d[3] == 3 || d[3] == 4;
        if (c_last && !c_first) {
            in->layout = LRP_LAYOUT_NHWC;
            in->height = (int)d[1], in->width = (int)d[2], in->channels = (int)d[3];
        } else {
            in->layout = LRP_LAYOUT_NCHW;
            in->channels = (int)d[1], in->height = (int)d[2], in->width = (int)d[3];
        }
    } else if (in->input_ndim == 3) { /* (C,H,W) without batch */
        in->layout = LRP_LAYOUT_NCHW;
        in->channels = (int)d[0], in->height = (int)d[1], in->width = (int)d[2];
    } else {
        in->layout = LRP_LAYOUT_FLAT;
    }
}

lrp_status lrp_model_set_layout(lrp_model *m, lrp_layout layout, lrp_error *err)
{
    lrp_model_info *in = &m->info;
    const int64_t *d = in->input_dims;
    if (layout != LRP_LAYOUT_FLAT && in->input_ndim != 4)
        return lrp_fail(err, LRP_ERR_ARG, "%s: the input has rank %d, an image layout needs rank 4", in->path,
                        in->input_ndim);
    in->layout = layout;
    if (layout == LRP_LAYOUT_NCHW)
        in->channels = (int)d[1], in->height = (int)d[2], in->width = (int)d[3];
    else if (layout == LRP_LAYOUT_NHWC)
        in->height = (int)d[1], in->width = (int)d[2], in->channels = (int)d[3];
    else
        in->channels = in->height = in->width = 0;
    return LRP_OK;
}

/* Operator counts and parameter count as loaded. */
static lrp_status count_ops(lrp_model *m, lrp_error *err)
{
    const lrp_graph *g = m->g;
    m->op_types = calloc((size_t)g->n_nodes + 1, sizeof(char *));
    m->op_counts = calloc((size_t)g->n_nodes + 1, sizeof(int));
    m->op_supported = calloc((size_t)g->n_nodes + 1, sizeof(bool));
    if (!m->op_types || !m->op_counts || !m->op_supported)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (int k = 0; k < g->n_order; k++) {
        const lrp_node *n = &g->nodes[g->order[k]];
        int t;
        for (t = 0; t < m->n_op_types; t++)
            if (!strcmp(m->op_types[t], n->op_type))
                break;
        if (t == m->n_op_types) {
            if (!(m->op_types[t] = strdup(n->op_type)))
                return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
            m->op_supported[t] = n->op != NULL;
            m->n_op_types++;
        }
        m->op_counts[t]++;
    }
    m->n_nodes_loaded = g->n_order;
    for (int v = 0; v < g->n_values; v++) {
        const lrp_value *val = &g->values[v];
        if (val->constant && !val->folded && val->constant->dtype == LRP_REAL_DT && val->n_consumers > 0)
            m->n_params += val->constant->numel;
    }
    return LRP_OK;
}

lrp_model *lrp_model_load(const char *path, const lrp_load_options *opts, lrp_error *err)
{
    lrp_graph *g = NULL;
    double t0 = lrp_now();
    lrp_status st = lrp_onnx_load(path, &g, err);
    lrp_profile_add("load: onnx file to graph", lrp_now() - t0);
    if (st != LRP_OK)
        return NULL;
    t0 = lrp_now();
    lrp_model *m = lrp_model_from_graph(g, opts, err);
    lrp_profile_add("load: model from graph", lrp_now() - t0);
    return m;
}

lrp_model *lrp_model_from_graph(lrp_graph *g, const lrp_load_options *opts, lrp_error *err)
{
    lrp_model *m = calloc(1, sizeof *m);
    if (!m) {
        lrp_graph_free(g);
        lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
        return NULL;
    }
    if (opts)
        m->opts = *opts;
    else
        lrp_load_options_default(&m->opts);
    m->opts.threads = lrp_exec_resolve_threads(m->opts.threads);
    pthread_mutex_init(&m->lock, NULL);
    m->g = g;
    const char *path = g->path;
    lrp_status st;
    if ((st = count_ops(m, err)) != LRP_OK)
        goto fail;
    m->supported = true;
    for (int k = 0; k < g->n_order; k++)
        if (!g->nodes[g->order[k]].op)
            m->supported = false;
    if (m->supported || !m->opts.allow_unsupported) {
        st = lrp_graph_init_ops(g, err);
        if (st != LRP_OK)
            goto fail;
    }
    if (g->n_inputs != 1) {
        st = lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: the model has %d inputs; lrp handles models with one input", path,
                      g->n_inputs);
        goto fail;
    }
    m->input = g->inputs[0];
    m->output = g->outputs[0];
    const lrp_value *iv = &g->values[m->input];
    lrp_model_info *in = &m->info;
    in->path = g->path;
    in->input_name = iv->name;
    in->input_elem_type = iv->decl_elem_type;
    if (iv->decl_elem_type && iv->decl_elem_type != 1 && iv->decl_elem_type != 10 && iv->decl_elem_type != 11) {
        st = lrp_fail(err, LRP_ERR_UNSUPPORTED, "%s: the input '%s' has element type %s; lrp needs a float input",
                      path, iv->name, lrp_onnx_dtype_name(iv->decl_elem_type));
        goto fail;
    }
    in->input_ndim = iv->decl_ndim;
    if (iv->decl_ndim > 0) {
        memcpy(in->input_dims, iv->decl_dims, sizeof in->input_dims);
        for (int i = 0; i < iv->decl_ndim; i++)
            in->input_dim_names[i] = iv->decl_dims[i] < 0 ? iv->decl_names[i] : NULL;
    }
    in->opset = g->opset;
    in->ir_version = g->ir_version;
    in->producer_name = g->producer_name;
    in->producer_version = g->producer_version;
    in->n_metadata = g->n_meta;
    in->metadata_keys = (const char *const *)g->meta_keys;
    in->metadata_values = (const char *const *)g->meta_values;
    guess_layout(in);
    in->output_name = g->values[m->output].name;
    m->residual_sum = m->opts.canonize != 0;
    /* Shapes (and canonizers) now if the input shape is fully declared. */
    if (m->supported && in->input_ndim > 0) {
        int64_t dims[LRP_MAX_DIMS];
        bool known = true;
        for (int i = 0; i < in->input_ndim; i++) {
            dims[i] = in->input_dims[i];
            if (dims[i] < 0) {
                if (i == 0)
                    dims[i] = 1;
                else
                    known = false;
            }
        }
        if (known && (st = lrp_model_prepare(m, in->input_ndim, dims, err)) != LRP_OK)
            goto fail;
    }
    return m;
fail:
    lrp_model_free(m);
    return NULL;
}

void lrp_model_free(lrp_model *m)
{
    if (!m)
        return;
    lrp_graph_free(m->g);
    pthread_mutex_destroy(&m->lock);
    for (int i = 0; i < m->n_op_types; i++)
        free(m->op_types[i]);
    free(m->op_types);
    free(m->op_counts);
    free(m->op_supported);
    free(m);
}

/* One declared dim: its value; for a symbolic dim "N" for the batch (the
 * first), else its dim_param name, or "?" when it has none. */
static const char *dim_str(bool batch, int64_t d, const char *name, char *buf, size_t size)
{
    if (d >= 0)
        snprintf(buf, size, "%lld", (long long)d);
    else
        snprintf(buf, size, "%s", batch ? "N" : name && *name ? name : "?");
    return buf;
}

/* "(N, 3, height, width)" into buf. */
static const char *decl_shape_str(int ndim, const int64_t *dims, char *const *names, char *buf, size_t size)
{
    size_t used = (size_t)snprintf(buf, size, "(");
    for (int i = 0; i < ndim && used < size; i++) {
        char d[80];
        used += (size_t)snprintf(buf + used, size - used, "%s%s", i ? ", " : "",
                                 dim_str(i == 0, dims[i], names ? names[i] : NULL, d, sizeof d));
    }
    if (used < size)
        snprintf(buf + used, size - used, ndim == 1 ? ",)" : ")");
    return buf;
}

static void print_dims(FILE *out, int ndim, const int64_t *dims, char *const *names)
{
    char buf[LRP_MAX_DIMS * 84 + 8];
    fputs(decl_shape_str(ndim, dims, names, buf, sizeof buf), out);
}

/* The nodes computed once from constants and the input shape (shapes, Swin's shift masks, position indices):
 * "N nodes folded into constants: Type count, ...", the types by count then name. */
static void describe_folded(const lrp_graph *g, FILE *out)
{
    int n_folded = 0, n_types = 0;
    const char *types[64];
    int counts[64];
    for (int i = 0; i < g->n_nodes; i++) {
        const lrp_node *n = &g->nodes[i];
        bool folded = !n->removed && n->n_outputs > 0;
        for (int k = 0; k < n->n_outputs && folded; k++)
            folded = n->outputs[k] < 0 || g->values[n->outputs[k]].folded;
        if (!folded)
            continue;
        n_folded++;
        int t = 0;
        while (t < n_types && strcmp(types[t], n->op_type) != 0)
            t++;
        if (t == n_types && n_types < 64) {
            types[n_types] = n->op_type;
            counts[n_types++] = 0;
        }
        if (t < n_types)
            counts[t]++;
    }
    if (!n_folded)
        return;
    fprintf(out, "            %d node%s folded into constants at load:", n_folded, n_folded == 1 ? "" : "s");
    bool shown[64] = {0};
    for (int j = 0; j < n_types; j++) {
        int best = -1;
        for (int t = 0; t < n_types; t++)
            if (!shown[t] && (best < 0 || counts[t] > counts[best] ||
                              (counts[t] == counts[best] && strcmp(types[t], types[best]) < 0)))
                best = t;
        shown[best] = true;
        fprintf(out, "%s %s %d", j ? "," : "", types[best], counts[best]);
    }
    fputc('\n', out);
}

lrp_status lrp_model_describe(lrp_model *m, FILE *out, lrp_error *err)
{
    const lrp_graph *g = m->g;
    const lrp_model_info *in = &m->info;
    static const char *layouts[] = {"NCHW", "NHWC", "flat"};
    fprintf(out, "model       %s\n", g->path);
    fprintf(out, "producer    %s%s%s, IR version %lld, opset %lld\n", g->producer_name[0] ? g->producer_name : "?",
            g->producer_version[0] ? " " : "", g->producer_version, (long long)g->ir_version, (long long)g->opset);
    fprintf(out, "input       %s %s ", in->input_name,
            lrp_onnx_dtype_name(in->input_elem_type ? in->input_elem_type : 1));
    if (in->input_ndim >= 0)
        print_dims(out, in->input_ndim, in->input_dims, (char *const *)in->input_dim_names);
    else
        fputs("(shape not declared)", out);
    fprintf(out, "  %s", layouts[in->layout]);
    if (in->layout != LRP_LAYOUT_FLAT) {
        /* where in input_dims channels, height and width are */
        bool nhwc = in->layout == LRP_LAYOUT_NHWC;
        int nd = in->input_ndim, ci = nhwc ? nd - 1 : nd - 3, hi = nhwc ? nd - 3 : nd - 2, wi = hi + 1;
        char c[80], h[80], w[80];
        const char *const *nm = in->input_dim_names;
        dim_str(false, in->channels, ci >= 0 ? nm[ci] : NULL, c, sizeof c);
        dim_str(false, in->height, hi >= 0 ? nm[hi] : NULL, h, sizeof h);
        dim_str(false, in->width, wi >= 0 ? nm[wi] : NULL, w, sizeof w);
        /* "32x32", but "H x W" for names, which would run together */
        bool named = (in->height < 0 && strcmp(h, "?")) || (in->width < 0 && strcmp(w, "?"));
        fprintf(out, ", %s channel%s, %s%sx%s%s", c, in->channels == 1 ? "" : "s", h, named ? " " : "",
                named ? " " : "", w);
    }
    fputc('\n', out);
    for (int k = 0; k < g->n_outputs; k++) {
        const lrp_value *v = &g->values[g->outputs[k]];
        fprintf(out, "output      %s", v->name);
        if (v->shape_known) {
            fputc(' ', out);
            print_dims(out, v->ndim, v->dims, NULL);
        } else if (v->decl_ndim >= 0) {
            fputc(' ', out);
            print_dims(out, v->decl_ndim, v->decl_dims, v->decl_names);
        }
        if (k == 0 && m->canonized)
            fputs("  (explained)", out);
        fputc('\n', out);
    }
    for (int i = 0; i < g->n_meta; i++) { /* one line each: a value of several lines by its line count */
        const char *v = g->meta_values[i];
        int lines = 1;
        for (const char *c = v; *c; c++)
            lines += *c == '\n';
        fputs(i ? "            " : "metadata    ", out);
        for (const char *c = g->meta_keys[i]; *c && c - g->meta_keys[i] < 80; c++)
            fputc((unsigned char)*c < 0x20 || *c == 0x7f ? '?' : *c, out);
        fputs(" = ", out);
        if (lines > 1)
            fprintf(out, "(%d lines)\n", lines);
        else {
            size_t len = strlen(v);
            for (size_t c = 0; c < len && c < 80; c++) /* the file's text, control characters shown as '?' */
                fputc((unsigned char)v[c] < 0x20 || v[c] == 0x7f ? '?' : v[c], out);
            fputs(len > 80 ? "...\n" : "\n", out);
        }
    }
    fprintf(out, "parameters  %lld\n", (long long)m->n_params);
    fprintf(out, "nodes       %d:", m->n_nodes_loaded);
    /* by count, then name */
    int *idx = malloc(sizeof(int) * (size_t)(m->n_op_types + 1));
    if (!idx)
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    for (int t = 0; t < m->n_op_types; t++)
        idx[t] = t;
    for (int i = 1; i < m->n_op_types; i++)
        for (int j = i; j > 0; j--) {
            int a = idx[j - 1], b = idx[j];
            if (m->op_counts[a] > m->op_counts[b] ||
                (m->op_counts[a] == m->op_counts[b] && strcmp(m->op_types[a], m->op_types[b]) <= 0))
                break;
            idx[j - 1] = b;
            idx[j] = a;
        }
    for (int i = 0; i < m->n_op_types; i++)
        fprintf(out, "%s %s %d", i ? "," : "", m->op_types[idx[i]], m->op_counts[idx[i]]);
    fputc('\n', out);
    int unsupported = 0;
    for (int i = 0; i < m->n_op_types; i++)
        if (!m->op_supported[idx[i]]) {
            fprintf(out, "%s %s", unsupported ? "," : "unsupported", m->op_types[idx[i]]);
            unsupported++;
        }
    fputs(unsupported ? "\n" : "unsupported none\n", out);
    free(idx);
    if (m->canonized && !m->opts.canonize) {
        fputs("canonizers  off", out);
        for (int i = 0; i < g->n_notes; i++)
            fprintf(out, "%s%s", i ? "; " : " (", g->notes[i]);
        fputs(g->n_notes ? ")\n" : "\n", out);
    } else if (m->canonized) {
        if (g->n_notes == 0)
            fputs("canonizers  nothing to do\n", out);
        for (int i = 0; i < g->n_notes; i++)
            fprintf(out, "%s%s\n", i ? "            " : "canonizers  ", g->notes[i]);
        describe_folded(g, out);
        if (m->residual_sum) {
            int sums = 0;
            for (int k = 0; k < g->n_order; k++)
                sums += lrp_node_group(g, &g->nodes[g->order[k]]) == LRP_GROUP_SUM;
            if (sums)
                fprintf(out, "            %d residual Add/Sum node%s treated as zennit Sum\n", sums,
                        sums == 1 ? "" : "s");
        }
    } else if (!m->opts.canonize) {
        fputs("canonizers  off\n", out);
    } else if (!m->supported) {
        fputs("canonizers  not run (the model has unsupported operators)\n", out);
    } else {
        fputs("canonizers  not run yet (the input shape is not fully declared)\n", out);
    }
    return LRP_OK;
}

const lrp_model_info *lrp_model_get_info(const lrp_model *m) { return &m->info; }

const char *lrp_model_metadata(const lrp_model_info *info, const char *key)
{
    /* a key given twice: the later entry counts, as protobuf's maps do */
    for (int i = info && key ? info->n_metadata - 1 : -1; i >= 0; i--)
        if (!strcmp(info->metadata_keys[i], key))
            return info->metadata_values[i];
    return NULL;
}

int64_t lrp_model_classes(const lrp_model *m)
{
    const lrp_value *ov = &m->g->values[m->output];
    int64_t n = 1;
    if (m->prepared && ov->shape_known && ov->ndim >= 1) {
        for (int i = 1; i < ov->ndim; i++)
            n *= ov->dims[i];
        return n;
    }
    if (ov->decl_ndim < 1)
        return -1;
    for (int i = 1; i < ov->decl_ndim; i++) {
        if (ov->decl_dims[i] < 0)
            return -1;
        n *= ov->decl_dims[i];
    }
    return n;
}

/* Frees initializers that the canonizers left without consumers. */
static void drop_unused_constants(lrp_graph *g)
{
    for (int v = 0; v < g->n_values; v++) {
        lrp_value *val = &g->values[v];
        if (val->constant && !val->folded && val->n_consumers == 0 && !val->is_output) {
            lrp_tensor_free(val->constant);
            val->constant = NULL;
        }
    }
}

static lrp_status model_prepare(lrp_model *m, int ndim, const int64_t *dims, lrp_error *err)
{
    if (!m->supported)
        return lrp_graph_init_ops(m->g, err); /* reports the first unsupported op */
    if (m->prepared && lrp_dims_equal(ndim, dims, m->cur_ndim, m->cur_dims))
        return LRP_OK;
    m->prepared = false;
    lrp_graph *g = m->g;
    int64_t d[1][LRP_MAX_DIMS];
    memcpy(d[0], dims, sizeof(int64_t) * (size_t)ndim);
    lrp_status st = lrp_graph_infer(g, &ndim, (const int64_t(*)[LRP_MAX_DIMS])d, err);
    if (st != LRP_OK)
        return st;
    if (!m->canonized) {
        unsigned passes = m->opts.canonize ? LRP_CANON_ALL : (m->opts.strip_softmax ? LRP_CANON_STRIP_SOFTMAX : 0);
        if (m->opts.zero_biases)
            passes |= LRP_CANON_ZERO_BIASES;
        if (passes) {
            if ((st = lrp_canonize(g, passes, err)) != LRP_OK)
                return st;
            if ((st = lrp_graph_init_ops(g, err)) != LRP_OK)
                return st;
            drop_unused_constants(g);
            if ((st = lrp_graph_infer(g, &ndim, (const int64_t(*)[LRP_MAX_DIMS])d, err)) != LRP_OK)
                return st;
        }
        m->canonized = true;
        m->output = g->outputs[0];
        m->info.output_name = g->values[m->output].name;
    }
    const lrp_value *ov = &g->values[m->output];
    if (ov->dtype != LRP_REAL_DT || ov->ndim < 1 || ov->dims[0] != dims[0] || ov->constant)
        return lrp_fail(err, LRP_ERR_UNSUPPORTED,
                        "%s: the output '%s' is not a float tensor with the batch as its first dimension", g->path,
                        ov->name);
    m->cur_ndim = ndim;
    memcpy(m->cur_dims, dims, sizeof(int64_t) * (size_t)ndim);
    m->prepared = true;
    return LRP_OK;
}

void lrp_model_exec_enter(const lrp_model *m, lrp_exec *saved)
{
    lrp_exec_enter(m->opts.threads, m->opts.openblas != 0, saved);
}

bool lrp_model_is_prepared(lrp_model *m)
{
    pthread_mutex_lock(&m->lock);
    bool p = m->prepared;
    pthread_mutex_unlock(&m->lock);
    return p;
}

lrp_status lrp_model_prepare(lrp_model *m, int ndim, const int64_t *dims, lrp_error *err)
{
    pthread_mutex_lock(&m->lock);
    double t0 = lrp_now();
    lrp_status st = model_prepare(m, ndim, dims, err);
    lrp_profile_add("load: prepare (shapes, canonizers)", lrp_now() - t0);
    pthread_mutex_unlock(&m->lock);
    return st;
}

lrp_status lrp_model_conform_input(lrp_model *m, const lrp_tensor *input, lrp_tensor **out, lrp_error *err)
{
    *out = NULL;
    const lrp_model_info *in = &m->info;
    char a[160], b[160];
    int nd = in->input_ndim;
    if (input->dtype != LRP_REAL_DT)
        return lrp_fail(err, LRP_ERR_ARG, "the input must be a float tensor");
    lrp_tensor *t = lrp_tensor_clone(input, err);
    if (!t)
        return err ? err->status : LRP_ERR_NOMEM;
    if (nd > 0 && input->ndim == nd - 1) { /* no batch dim: add one */
        memmove(t->dims + 1, t->dims, sizeof(int64_t) * (size_t)input->ndim);
        t->dims[0] = 1;
        t->ndim = nd;
    }
    bool ok = nd <= 0 || t->ndim == nd;
    for (int i = 1; ok && nd > 0 && i < nd; i++)
        if (in->input_dims[i] >= 0 && in->input_dims[i] != t->dims[i])
            ok = false;
    if (nd > 0 && ok && in->input_dims[0] > 1 && t->dims[0] != in->input_dims[0])
        ok = false;
    if (!ok) {
        lrp_shape_str(input->ndim, input->dims, a, sizeof a);
        decl_shape_str(nd, in->input_dims, (char *const *)in->input_dim_names, b, sizeof b);
        lrp_tensor_free(t);
        return lrp_fail(err, LRP_ERR_SHAPE, "input of shape %s does not fit the model input %s %s", a, in->input_name,
                        b);
    }
    if (t->numel == 0) {
        lrp_shape_str(input->ndim, input->dims, a, sizeof a);
        lrp_tensor_free(t);
        return lrp_fail(err, LRP_ERR_SHAPE, "the input of shape %s is empty", a);
    }
    *out = t;
    return LRP_OK;
}

lrp_status lrp_model_nonfinite(lrp_model *m, const lrp_tensor *const *inputs, const unsigned char *exact,
                               lrp_error *err)
{
    lrp_status st = lrp_forward_locate_nonfinite(m->g, inputs, exact, err);
    if (st == LRP_OK) /* not found again: say what is known */
        st =
            lrp_fail(err, LRP_ERR_NUMERIC, "%s: the model output '%s' is not finite", m->g->path, m->info.output_name);
    return st;
}

static lrp_status model_run(lrp_model *m, const lrp_tensor *input, lrp_tensor **logits, lrp_error *err)
{
    *logits = NULL;
    lrp_tensor *x;
    lrp_status st = lrp_model_conform_input(m, input, &x, err);
    if (st != LRP_OK)
        return st;
    if ((st = lrp_model_prepare(m, x->ndim, x->dims, err)) != LRP_OK) {
        lrp_tensor_free(x);
        return st;
    }
    lrp_graph *g = m->g;
    lrp_tensor **vals = calloc((size_t)g->n_values, sizeof *vals);
    if (!vals) {
        lrp_tensor_free(x);
        return lrp_fail(err, LRP_ERR_NOMEM, "out of memory");
    }
    const lrp_tensor *ins[1] = {x};
    st = lrp_forward(g, ins, NULL, vals, err);
    if (st == LRP_OK && lrp_find_nonfinite(vals[m->output]) >= 0) {
        /* name the node where it started (one more pass, on failure only) */
        lrp_vals_clear(g, vals);
        st = lrp_model_nonfinite(m, ins, NULL, err);
    }
    lrp_tensor_free(x);
    if (st == LRP_OK) {
        lrp_tensor *y = vals[m->output];
        vals[m->output] = NULL;
        int64_t n = y->dims[0];
        y->ndim = 2;
        y->dims[0] = n;
        y->dims[1] = n ? y->numel / n : 0;
        *logits = y;
    }
    lrp_vals_clear(g, vals);
    free(vals);
    return st;
}

lrp_status lrp_model_run(lrp_model *m, const lrp_tensor *input, lrp_tensor **logits, lrp_error *err)
{
    lrp_exec saved;
    lrp_model_exec_enter(m, &saved);
    lrp_status st = model_run(m, input, logits, err);
    lrp_exec_leave(&saved);
    return st;
}
