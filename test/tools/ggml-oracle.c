/*
 * Test-only helper: calls llama.cpp's own shared libraries (shipped by the node-llama-cpp
 * devDependency) so tests can compare spechub with ggml bit for bit. Never part of the package.
 * Compiled at test time by test/tools/ggml-oracle.ts with the machine's gcc.
 *
 *   ggml-oracle LIBDIR ref-quantize   TYPE N           stdin f32[N]  -> stdout blocks   (quantize_row_<type>_ref)
 *   ggml-oracle LIBDIR chunk-quantize TYPE ROWS COLS   stdin f32     -> stdout blocks   (ggml_quantize_chunk, no imatrix:
 *                                                                                       what llama_model_quantize calls)
 *   ggml-oracle LIBDIR dequantize     TYPE N           stdin blocks  -> stdout f32[N]   (dequantize_row_<type>)
 *   ggml-oracle LIBDIR act-quantize   CPULIB TYPE N    stdin f32[N]  -> stdout blocks   (the CPU backend's quantize_row_<type>,
 *                                                                                       how llama.cpp quantises activations)
 *   ggml-oracle LIBDIR model-quantize IN OUT FTYPE                                       (llama_model_quantize, 1 thread)
 *
 * TYPE is a ggml type name as in its symbols (q4_0, q4_K, iq4_nl, ...). Exit status 0 on success;
 * any failure prints one line on stderr and exits 1.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdbool.h>

static void die(const char * what, const char * detail) {
    fprintf(stderr, "ggml-oracle: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(1);
}

static void * open_lib(const char * dir, const char * name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    void * h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    if (!h) die("dlopen failed", dlerror());
    return h;
}

static void * sym(void * lib, const char * name) {
    void * f = dlsym(lib, name);
    if (!f) die("missing symbol", name);
    return f;
}

/* Reads all of stdin. */
static unsigned char * read_all(size_t * len) {
    size_t cap = 1 << 20, n = 0;
    unsigned char * buf = malloc(cap);
    for (;;) {
        if (n == cap) buf = realloc(buf, cap *= 2);
        size_t got = fread(buf + n, 1, cap - n, stdin);
        if (got == 0) break;
        n += got;
    }
    *len = n;
    return buf;
}

static void write_all(const void * p, size_t n) {
    if (fwrite(p, 1, n, stdout) != n) die("short write", NULL);
    fflush(stdout);
}

/* ggml type codes (enum ggml_type) and block geometry of the types the tests use. */
struct type_info { const char * name; int code; int block; int bytes; };
static const struct type_info TYPES[] = {
    { "f32", 0, 1, 4 },     { "f16", 1, 1, 2 },     { "q4_0", 2, 32, 18 },  { "q4_1", 3, 32, 20 },
    { "q5_0", 6, 32, 22 },  { "q5_1", 7, 32, 24 },  { "q8_0", 8, 32, 34 },  { "q8_1", 9, 32, 36 },
    { "q2_K", 10, 256, 84 }, { "q3_K", 11, 256, 110 }, { "q4_K", 12, 256, 144 }, { "q5_K", 13, 256, 176 },
    { "q6_K", 14, 256, 210 }, { "q8_K", 15, 256, 292 }, { "iq4_nl", 20, 32, 18 }, { "iq4_xs", 23, 256, 136 },
    { "bf16", 30, 1, 2 },
};

static const struct type_info * type_of(const char * name) {
    for (size_t i = 0; i < sizeof TYPES / sizeof TYPES[0]; i++) if (strcmp(TYPES[i].name, name) == 0) return &TYPES[i];
    die("unknown type", name);
    return NULL;
}

/* The ABI of llama.h's llama_model_quantize_params at the pinned llama.cpp release. */
struct quantize_params {
    int32_t nthread;
    int ftype;
    int output_tensor_type;
    int token_embedding_type;
    bool allow_requantize;
    bool quantize_output_tensor;
    bool only_copy;
    bool pure;
    bool keep_split;
    bool dry_run;
    const void * imatrix;
    const void * kv_overrides;
    const void * tt_overrides;
    const int32_t * prune_layers;
    size_t max_buf_size;
};

int main(int argc, char ** argv) {
    if (argc < 3) die("usage: ggml-oracle LIBDIR COMMAND ...", NULL);
    const char * dir = argv[1];
    const char * cmd = argv[2];
    char name[128];

    if (strcmp(cmd, "model-quantize") == 0) {
        if (argc != 6) die("usage: model-quantize IN OUT FTYPE", NULL);
        open_lib(dir, "libggml-base.so");
        void * ggml = open_lib(dir, "libggml.v0.5.0.so");
        void * llama = open_lib(dir, "libllama.v0.5.0.so");
        void (*load_all)(const char *) = (void (*)(const char *)) sym(ggml, "ggml_backend_load_all_from_path");
        load_all(dir);
        void (*backend_init)(void) = (void (*)(void)) sym(llama, "llama_backend_init");
        backend_init();
        struct quantize_params (*defaults)(void) = (struct quantize_params (*)(void)) sym(llama, "llama_model_quantize_default_params");
        uint32_t (*quantize)(const char *, const char *, const struct quantize_params *) =
            (uint32_t (*)(const char *, const char *, const struct quantize_params *)) sym(llama, "llama_model_quantize");
        struct quantize_params p = defaults();
        p.nthread = 1;
        p.ftype = atoi(argv[5]);
        if (quantize(argv[3], argv[4], &p) != 0) die("llama_model_quantize failed", argv[4]);
        return 0;
    }

    void * base = open_lib(dir, "libggml-base.so");
    size_t len;
    unsigned char * in = read_all(&len);

    if (strcmp(cmd, "ref-quantize") == 0 || strcmp(cmd, "act-quantize") == 0) {
        bool act = cmd[0] == 'a';
        if (argc != (act ? 6 : 5)) die("usage: ref-quantize TYPE N | act-quantize CPULIB TYPE N", NULL);
        const struct type_info * t = type_of(argv[act ? 4 : 3]);
        long n = atol(argv[act ? 5 : 4]);
        if (n % t->block != 0 || (size_t) n * 4 != len) die("input length does not match N", NULL);
        unsigned char * out = calloc((size_t) (n / t->block) * t->bytes, 1);
        void * lib = base;
        if (act) {
            lib = open_lib(dir, argv[3]);
            snprintf(name, sizeof name, "quantize_row_%s", t->name);
        } else {
            snprintf(name, sizeof name, "quantize_row_%s_ref", t->name);
        }
        void (*q)(const float *, void *, int64_t) = (void (*)(const float *, void *, int64_t)) sym(lib, name);
        q((const float *) in, out, n);
        write_all(out, (size_t) (n / t->block) * t->bytes);
        return 0;
    }
    if (strcmp(cmd, "chunk-quantize") == 0) {
        if (argc != 6) die("usage: chunk-quantize TYPE ROWS COLS", NULL);
        const struct type_info * t = type_of(argv[3]);
        long rows = atol(argv[4]), cols = atol(argv[5]);
        if (cols % t->block != 0 || (size_t) (rows * cols) * 4 != len) die("input length does not match ROWS x COLS", NULL);
        size_t bytes = (size_t) rows * (cols / t->block) * t->bytes;
        unsigned char * out = calloc(bytes, 1);
        size_t (*chunk)(int, const float *, void *, int64_t, int64_t, int64_t, const float *) =
            (size_t (*)(int, const float *, void *, int64_t, int64_t, int64_t, const float *)) sym(base, "ggml_quantize_chunk");
        if (chunk(t->code, (const float *) in, out, 0, rows, cols, NULL) != bytes) die("ggml_quantize_chunk wrote an unexpected size", NULL);
        write_all(out, bytes);
        return 0;
    }
    if (strcmp(cmd, "dequantize") == 0) {
        if (argc != 5) die("usage: dequantize TYPE N", NULL);
        const struct type_info * t = type_of(argv[3]);
        long n = atol(argv[4]);
        if (n % t->block != 0 || (size_t) (n / t->block) * t->bytes != len) die("input length does not match N", NULL);
        float * out = malloc((size_t) n * 4 + 4);
        snprintf(name, sizeof name, "dequantize_row_%s", t->name);
        void (*dq)(const void *, float *, int64_t) = (void (*)(const void *, float *, int64_t)) sym(base, name);
        dq(in, out, n);
        write_all(out, (size_t) n * 4);
        return 0;
    }
    die("unknown command", cmd);
    return 1;
}
