#include "refset_common.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lrp_render.h"
#include "testutil.h"

int rs_read_cases(const char *dir, rs_case **out)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/cases.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[4096];
    int n = 0, cap = 0;
    rs_case *v = NULL;
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "model\t", 6))
            continue;
        rs_case c;
        memset(&c, 0, sizeof c);
        long long t;
        int got = sscanf(
            line,
            "%255[^\t]\t%255[^\t]\t%63[^\t]\t%255[^\t]\t%lld\t%255[^\t]\t%255[^\t]\t%lf\t%d\t%15[^\t]\t%15[^\t\n]",
            c.model, c.input, c.method, c.params, &t, c.relevance, c.logits, &c.tolerance, &c.opset, c.gate,
            c.attention);
        if (got < 8)
            continue;
        if (got < 9)
            c.opset = 0;
        if (got < 10 || !c.gate[0])
            snprintf(c.gate, sizeof c.gate, "-");
        if (got < 11 || !c.attention[0])
            snprintf(c.attention, sizeof c.attention, "-");
        c.target = t;
        c.f32err = NAN;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = realloc(v, sizeof *v * (size_t)cap);
        }
        v[n++] = c;
    }
    fclose(f);
    *out = v;
    return n;
}

/* The start of the value of "key" in [p, end) (after the colon and blanks), or NULL. */
static const char *json_value(const char *p, const char *end, const char *key)
{
    char k[80];
    snprintf(k, sizeof k, "\"%s\"", key);
    size_t kl = strlen(k);
    for (const char *q = p; (q = strstr(q, k)) && q < end; q += kl) {
        const char *v = q + kl;
        while (v < end && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r'))
            v++;
        if (v >= end || *v != ':')
            continue;
        v++;
        while (v < end && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r'))
            v++;
        return v < end ? v : NULL;
    }
    return NULL;
}

/* The string value of "key" in [p, end) into out; 0, or -1 if absent. */
static int json_string(const char *p, const char *end, const char *key, char *out, size_t size)
{
    const char *v = json_value(p, end, key);
    const char *q = v && *v == '"' ? strchr(v + 1, '"') : NULL;
    if (!q || q >= end)
        return -1;
    snprintf(out, size, "%.*s", (int)(q - v - 1), v + 1);
    return 0;
}

/* The heatmaps of one entry, [p, end): objects {"cmap", "symmetric", "png"} in any order. */
static void read_heatmaps(const char *p, const char *end, rs_case *c)
{
    const char *list = json_value(p, end, "heatmaps");
    if (!list || *list != '[')
        return;
    for (const char *o = list; (o = strchr(o, '{')) && o < end && c->n_heatmaps < RS_MAX_HEATMAPS;) {
        const char *close = strchr(o, '}');
        if (!close || close > end)
            break;
        rs_heatmap *h = &c->heatmaps[c->n_heatmaps];
        const char *sym = json_value(o, close, "symmetric");
        if (!json_string(o, close, "png", h->png, sizeof h->png) &&
            !json_string(o, close, "cmap", h->cmap, sizeof h->cmap) && sym) {
            h->symmetric = !strncmp(sym, "true", 4);
            c->n_heatmaps++;
        }
        o = close;
    }
}

void rs_read_case_json(const char *dir, rs_case *cases, int n)
{
    for (int i = 0; i < n; i++) {
        cases[i].f32err = NAN;
        cases[i].n_heatmaps = 0;
    }
    char path[1200];
    snprintf(path, sizeof path, "%s/cases.json", dir);
    size_t len;
    char *text = (char *)tu_read_file(path, &len);
    if (!text)
        return;
    text[len] = '\0';
    for (int i = 0; i < n; i++) {
        char key[320];
        snprintf(key, sizeof key, "\"relevance\": \"%s\"", cases[i].relevance);
        const char *p = strstr(text, key);
        if (!p)
            continue;
        const char *end = strstr(p + strlen(key), "\"relevance\":");
        if (!end)
            end = text + len;
        const char *v = json_value(p, end, "f32_vs_f64_rel_l2");
        if (v)
            cases[i].f32err = strtod(v, NULL);
        read_heatmaps(p, end, &cases[i]);
    }
    free(text);
}

double rs_param(const char *params, const char *key, double dflt)
{
    if (!strcmp(params, "-"))
        return dflt;
    size_t kl = strlen(key);
    for (const char *p = params; p && *p;) {
        if (!strncmp(p, key, kl) && p[kl] == '=')
            return atof(p + kl + 1);
        p = strpbrk(p, ",;");
        if (p)
            p++;
    }
    return dflt;
}

const char *rs_case_id(const rs_case *c, char *buf, size_t size)
{
    const char *m = strrchr(c->model, '/');
    m = m ? m + 1 : c->model;
    size_t ml = strlen(m);
    if (ml > 5 && !strcmp(m + ml - 5, ".onnx"))
        ml -= 5;
    const char *g = strrchr(c->relevance, '/');
    g = g ? g + 1 : c->relevance;
    const char *rest = strstr(g, "--");
    rest = rest ? rest : g;
    size_t gl = strlen(rest);
    if (gl > 4 && !strcmp(rest + gl - 4, ".npy"))
        gl -= 4;
    snprintf(buf, size, "%.*s%.*s", (int)ml, m, (int)gl, rest);
    return buf;
}

static lrp_model *load(const char *path, int canonize, char *why, size_t why_size)
{
    lrp_load_options o;
    lrp_load_options_default(&o);
    o.canonize = canonize;
    lrp_error err = {0};
    lrp_model *m = lrp_model_load(path, &o, &err);
    if (!m)
        snprintf(why, why_size, "%s", err.message);
    return m;
}

int rs_model_open(rs_model *ms, const char *path)
{
    if (!strcmp(ms->path, path))
        return ms->canon && ms->plain ? 0 : -1;
    rs_model_close(ms);
    snprintf(ms->path, sizeof ms->path, "%s", path);
    ms->canon = load(path, 1, ms->why, sizeof ms->why);
    ms->plain = ms->canon ? load(path, 0, ms->why, sizeof ms->why) : NULL;
    return ms->canon && ms->plain ? 0 : -1;
}

void rs_model_close(rs_model *ms)
{
    lrp_model_free(ms->canon);
    lrp_model_free(ms->plain);
    memset(ms, 0, sizeof *ms);
}

void rs_result_clear(rs_result *r)
{
    lrp_tensor_free(r->relevance);
    memset(r, 0, sizeof *r);
}

static const lrp_real imagenet_mean[3] = {(lrp_real)0.485, (lrp_real)0.456, (lrp_real)0.406},
                      imagenet_std[3] = {(lrp_real)0.229, (lrp_real)0.224, (lrp_real)0.225};

/* The parameters rs_run_case passes on; another key in a case's params is an option lrp lacks. */
static const char *const known_params[] = {"epsilon",     "gamma",  "gamma_conv", "gamma_linear",
                                           "beta_smooth", "n_iter", "window",     "stride"};

static int unknown_param(const char *params, char *why, size_t why_size)
{
    if (!strcmp(params, "-"))
        return 0;
    for (const char *p = params; p && *p;) {
        size_t kl = strcspn(p, "=,;");
        size_t i, n = sizeof known_params / sizeof known_params[0];
        for (i = 0; i < n; i++)
            if (strlen(known_params[i]) == kl && !strncmp(p, known_params[i], kl))
                break;
        if (i == n) {
            snprintf(why, why_size, "parameter %.*s not available", (int)kl, p);
            return 1;
        }
        p = strpbrk(p, ",;");
        if (p)
            p++;
    }
    return 0;
}

void rs_run_case(rs_model *ms, const char *dir, const rs_case *c, rs_result *r)
{
    char p[1200];
    lrp_error err = {0};
    memset(r, 0, sizeof *r);
    r->rel_l2 = r->logit_err = INFINITY;
    snprintf(p, sizeof p, "%s/%s", dir, c->input);
    lrp_tensor *x = NULL, *gold = NULL, *gl = NULL, *logits = NULL;
    if (lrp_npy_read(p, &x, &err) != LRP_OK) {
        snprintf(r->why, sizeof r->why, "%s", err.message);
        return;
    }
    snprintf(p, sizeof p, "%s/%s", dir, c->relevance);
    lrp_npy_read(p, &gold, &err);
    snprintf(p, sizeof p, "%s/%s", dir, c->logits);
    lrp_npy_read(p, &gl, &err);
    if (!gold || !gl) {
        snprintf(r->why, sizeof r->why, "%s", err.message);
        goto done;
    }
    /* logits of the model as exported (no canonizers) */
    lrp_tensor *pl = NULL;
    if (lrp_model_run(ms->plain, x, &pl, &err) == LRP_OK && pl->numel == gl->numel) {
        double mx = 0;
        for (int64_t i = 0; i < gl->numel; i++)
            mx = fmax(mx, fabs(((lrp_real *)gl->data)[i]));
        r->logit_err = tu_max_abs_diff(pl->data, gl->data, (size_t)gl->numel) / (mx > 0 ? mx : 1);
    }
    lrp_tensor_free(pl);
    if (unknown_param(c->params, r->why, sizeof r->why))
        goto done;
    /* squeeze-excitation: "signal" (lrp's default) or "uniform" (--gate uniform); "gradient" for the rule-less
     * methods */
    bool uniform = !strcmp(c->gate, "uniform");
    if (strcmp(c->gate, "-") && strcmp(c->gate, "signal") && strcmp(c->gate, "gradient") && !uniform) {
        snprintf(r->why, sizeof r->why, "gate=%s not available", c->gate);
        goto done;
    }
    lrp_explain_options eo;
    lrp_explain_options_default(&eo);
    lrp_attributor_options ao;
    lrp_attributor_options_default(&ao);
    int attr = lrp_attributor_from_name(c->method);
    if (attr >= 0 && attr != LRP_ATTRIBUTOR_GRADIENT) {
        eo.composite = "gradient";
        ao.kind = (lrp_attributor_kind)attr;
    } else {
        eo.composite = c->method;
    }
    eo.epsilon = (lrp_real)rs_param(c->params, "epsilon", 1e-6);
    eo.gamma = (lrp_real)rs_param(c->params, "gamma", 0.25);
    eo.gamma_conv = (lrp_real)rs_param(c->params, "gamma_conv", 0.25);
    eo.gamma_linear = (lrp_real)rs_param(c->params, "gamma_linear", 0.05);
    eo.beta_smooth = (lrp_real)rs_param(c->params, "beta_smooth", 10.0);
    eo.gate_uniform = uniform;
    ao.steps = (int)rs_param(c->params, "n_iter", 20);
    int S = (int)x->dims[x->ndim - 1];
    int win = S / 8 > 4 ? S / 8 : 4;
    ao.window = (int)rs_param(c->params, "window", win);
    ao.stride = (int)rs_param(c->params, "stride", ao.window);
    lrp_real low[3], high[3];
    for (int k = 0; k < 3; k++) {
        low[k] = (lrp_real)((0.0 - imagenet_mean[k]) / imagenet_std[k]);
        high[k] = (lrp_real)((1.0 - imagenet_mean[k]) / imagenet_std[k]);
    }
    eo.n_bounds = 3;
    eo.low = low;
    eo.high = high;
    /* The beta-smooth goldens follow the documented rule, sigmoid(beta*x)
     * of the ReLU's input, for every model (the in-place-ReLU artefact of
     * an earlier reference is gone): default options, no override. */
    /* zennit applies canonizers with a composite only: the rule-less
     * gradient and the attributors without a composite ran on the model as
     * exported. */
    lrp_model *model = strcmp(eo.composite, "gradient") ? ms->canon : ms->plain;
    lrp_explainer *e = lrp_explainer_new(model, &eo, &err);
    if (!e) {
        snprintf(r->why, sizeof r->why, "%s", err.message);
        goto done;
    }
    int64_t t = c->target, used;
    lrp_status st = lrp_attribute(e, &ao, x, &t, LRP_SEED_ONE, &r->relevance, &logits, &used, &err);
    lrp_explainer_free(e);
    if (st != LRP_OK) {
        snprintf(r->why, sizeof r->why, "%s", err.message);
        goto done;
    }
    if (r->relevance->numel != gold->numel) {
        snprintf(r->why, sizeof r->why, "relevance has %lld values, golden %lld", (long long)r->relevance->numel,
                 (long long)gold->numel);
        goto done;
    }
    r->rel_l2 = tu_rel_l2(r->relevance->data, gold->data, (size_t)gold->numel);
done:
    lrp_tensor_free(x);
    lrp_tensor_free(gold);
    lrp_tensor_free(gl);
    lrp_tensor_free(logits);
}

int rs_heatmap_matches(const lrp_tensor *rel, const char *cmap, int symmetric, const char *png, char *why,
                       size_t why_size)
{
    return rs_heatmap_diff(rel, cmap, symmetric, png, why, why_size) == 0;
}

long rs_heatmap_diff(const lrp_tensor *rel, const char *cmap, int symmetric, const char *png, char *why,
                     size_t why_size)
{
    lrp_error err = {0, ""};
    uint8_t pal[256][3];
    lrp_raster *idx = NULL, *mine = NULL, *gold = NULL;
    long differ = -1;
    lrp_heatmap_opts o;
    lrp_heatmap_opts_init(&o);
    o.norm = symmetric ? LRP_NORM_SYMMETRIC : LRP_NORM_UNALIGNED;
    if (lrp_palette_for(cmap, 1.0, pal, &err) || lrp_heatmap_indices(rel, &o, 0, &idx, &err) ||
        lrp_raster_colorize(idx, pal, &mine, &err) || lrp_png_read_rgb(png, &gold, &err)) {
        snprintf(why, why_size, "%s", err.message);
        goto done;
    }
    if (gold->width != mine->width || gold->height != mine->height) {
        snprintf(why, why_size, "size %dx%d, golden %dx%d", mine->width, mine->height, gold->width, gold->height);
        goto done;
    }
    size_t n = (size_t)mine->width * (size_t)mine->height, bad = 0, first = 0;
    for (size_t i = 0; i < n; i++)
        if (memcmp(mine->data + 3 * i, gold->data + 3 * i, 3) && bad++ == 0)
            first = i;
    if (bad)
        snprintf(why, why_size, "%zu of %zu pixels differ, first at (%zu,%zu): %02x%02x%02x vs golden %02x%02x%02x",
                 bad, n, first % (size_t)mine->width, first / (size_t)mine->width, mine->data[3 * first],
                 mine->data[3 * first + 1], mine->data[3 * first + 2], gold->data[3 * first],
                 gold->data[3 * first + 1], gold->data[3 * first + 2]);
    differ = (long)bad;
done:
    lrp_raster_free(idx);
    lrp_raster_free(mine);
    lrp_raster_free(gold);
    return differ;
}

double rs_rel_l2_32_64(const lrp_tensor *a, const lrp_tensor *b)
{
    if (!a || !b || a->dtype != LRP_FLOAT32 || b->dtype != LRP_FLOAT64 || a->numel != b->numel)
        return INFINITY;
    const float *x = a->data;
    const double *y = b->data;
    double d = 0, n = 0;
    for (int64_t i = 0; i < a->numel; i++) {
        d += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
        n += y[i] * y[i];
    }
    return n > 0 ? sqrt(d / n) : (d > 0 ? INFINITY : 0);
}
