// oneDNN (Debian's libdnnl-dev) on the model's convolution layers, one thread: the measurement
// behind "do oneDNN's convolutions beat dae-dist's BLAS ones?" (see the README's performance
// notes). For each layer it times forward (training), backward-data and backward-weights (with
// bias), on the whole batch and on the 24 shard slices of it that dae-dist must multiply one
// at a time (10 or 11 images; world-size invariance), letting oneDNN pick its own (blocked)
// layouts (oneDNN's best case), and separately what reordering each slice's activations
// between dae-dist's channel-major layout and those would add.
//
//   apt-get install -y libdnnl-dev
//   g++ -O2 -std=c++17 bench/experiments/onednn_convs.cpp -o /tmp/onednn_convs -ldnnl
//   OMP_NUM_THREADS=1 /tmp/onednn_convs [batch]        (default 256)
//
// The transposed convolutions are timed twice: as oneDNN deconvolutions, and as the
// convolution they are the adjoint of (forward = that convolution's backward-data, and so on).
#include <dnnl.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

struct Layer {
    const char* name;
    bool transposed;  // ConvTranspose2d: in and out swapped relative to the convolution below
    int inChannels, outChannels, inSide, outSide, stride, padLeft, padRight;
};

// The model's layers (DESIGN.md), as oneDNN sees them. For a transposed layer the sizes are its
// own (in -> out); output_padding 1 becomes padRight 0.
static const Layer layers[] = {
    {"conv1", false, 1, 32, 28, 28, 1, 1, 1},   {"conv2", false, 32, 64, 28, 14, 2, 1, 1},
    {"conv3", false, 64, 64, 14, 7, 2, 1, 1},   {"deconv1", true, 64, 64, 7, 14, 2, 1, 0},
    {"deconv2", true, 64, 32, 14, 28, 2, 1, 0}, {"deconv3", true, 32, 1, 28, 28, 1, 1, 1},
};

static double medianMs(const std::function<void()>& body, int repeats = 5) {
    body();
    std::vector<double> times;
    for (int r = 0; r < repeats; r++) {
        auto start = std::chrono::steady_clock::now();
        body();
        times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(times.begin(), times.end());
    return times[repeats / 2];
}

static memory filled(const memory::desc& desc, const engine& eng) {
    memory m(desc, eng);
    auto* p = static_cast<float*>(m.get_data_handle());
    for (size_t i = 0; i < desc.get_size() / sizeof(float); i++) p[i] = float((i * 7) % 13) * 0.01f;
    return m;
}

struct Times { double forward, backwardData, backwardWeights, reorders; };

// Moves between dae-dist's layout and oneDNN's: images [0, batch) of a channel-major
// `[C][fullBatch][side][side]` buffer (a strided view) to `blocked` and back, median ms each way.
static std::pair<double, double> reorderMs(const engine& eng, stream& s, const memory::desc& blocked, int batch, int fullBatch,
                                           int channels, int side) {
    memory::dims dims = {batch, channels, side, side};
    memory::dims strides = {side * side, memory::dim(fullBatch) * side * side, side, 1};
    auto plainDesc = memory::desc(dims, dt::f32, strides);
    memory plain(memory::desc({memory::dim(fullBatch) * channels * side * side}, dt::f32, tag::x), eng);
    memory view(plainDesc, eng, plain.get_data_handle());
    auto inside = filled(blocked, eng);
    reorder in(view, inside), out(inside, view);
    double toBlocked = medianMs([&] { in.execute(s, view, inside); s.wait(); });
    double fromBlocked = medianMs([&] { out.execute(s, inside, view); s.wait(); });
    return {toBlocked, fromBlocked};
}

// Forward, backward-data and backward-weights of one convolution-like primitive family.
template <class Fwd, class BwdData, class BwdWeights>
static Times time(algorithm algo, int batch, int fullBatch, int ic, int oc, int inSide, int outSide, int stride, int padL, int padR) {
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    memory::dims strides = {stride, stride}, padLeft = {padL, padL}, padRight = {padR, padR};
    auto src = memory::desc({batch, ic, inSide, inSide}, dt::f32, tag::any);
    auto dst = memory::desc({batch, oc, outSide, outSide}, dt::f32, tag::any);
    auto weights = memory::desc({oc, ic, 3, 3}, dt::f32, tag::any);
    auto bias = memory::desc({oc}, dt::f32, tag::x);
    Times t{};

    typename Fwd::primitive_desc fpd({prop_kind::forward_training, algo, src, weights, bias, dst, strides, padLeft, padRight}, eng);
    auto x = filled(fpd.src_desc(), eng), w = filled(fpd.weights_desc(), eng), b = filled(bias, eng), y = filled(fpd.dst_desc(), eng);
    Fwd forward(fpd);
    t.forward = medianMs([&] {
        forward.execute(s, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_BIAS, b}, {DNNL_ARG_DST, y}});
        s.wait();
    });

    typename BwdData::primitive_desc dpd({algo, src, weights, dst, strides, padLeft, padRight}, eng, fpd);
    auto dx = filled(dpd.diff_src_desc(), eng), w2 = filled(dpd.weights_desc(), eng), dy = filled(dpd.diff_dst_desc(), eng);
    BwdData backwardData(dpd);
    t.backwardData = medianMs([&] {
        backwardData.execute(s, {{DNNL_ARG_DIFF_SRC, dx}, {DNNL_ARG_WEIGHTS, w2}, {DNNL_ARG_DIFF_DST, dy}});
        s.wait();
    });

    typename BwdWeights::primitive_desc wpd({algo, src, weights, bias, dst, strides, padLeft, padRight}, eng, fpd);
    auto x3 = filled(wpd.src_desc(), eng), dw = filled(wpd.diff_weights_desc(), eng), db = filled(bias, eng), dy3 = filled(wpd.diff_dst_desc(), eng);
    BwdWeights backwardWeights(wpd);
    t.backwardWeights = medianMs([&] {
        backwardWeights.execute(s, {{DNNL_ARG_SRC, x3}, {DNNL_ARG_DIFF_WEIGHTS, dw}, {DNNL_ARG_DIFF_BIAS, db}, {DNNL_ARG_DIFF_DST, dy3}});
        s.wait();
    });

    // Without oneDNN's layout end to end, every call reorders its activations: the input in
    // (forward and weight gradient), the output out, the output gradient in, the input
    // gradient out.
    auto source = reorderMs(eng, s, fpd.src_desc(), batch, fullBatch, ic, inSide);
    auto destination = reorderMs(eng, s, fpd.dst_desc(), batch, fullBatch, oc, outSide);
    t.reorders = 2 * source.first + destination.second + destination.first + source.second;
    return t;
}

// The layer's three products, as oneDNN deconvolution (`asDeconvolution`) or convolution.
static Times timeLayer(const Layer& l, int batch, int fullBatch, bool asDeconvolution) {
    if (!l.transposed)
        return time<convolution_forward, convolution_backward_data, convolution_backward_weights>(
            algorithm::convolution_direct, batch, fullBatch, l.inChannels, l.outChannels, l.inSide, l.outSide, l.stride, l.padLeft, l.padRight);
    if (asDeconvolution)
        return time<deconvolution_forward, deconvolution_backward_data, deconvolution_backward_weights>(
            algorithm::deconvolution_direct, batch, fullBatch, l.inChannels, l.outChannels, l.inSide, l.outSide, l.stride, l.padLeft, l.padRight);
    // The adjoint convolution (out -> in, padding 1 on both sides): its backward-data is this
    // layer's forward and its forward this layer's backward-data.
    Times c = time<convolution_forward, convolution_backward_data, convolution_backward_weights>(
        algorithm::convolution_direct, batch, fullBatch, l.outChannels, l.inChannels, l.outSide, l.inSide, l.stride, l.padLeft, l.padLeft);
    return {c.backwardData, c.forward, c.backwardWeights, c.reorders};
}

// The batch's 24 shard slices, one call each (dae-dist's shard plan: the first batch % 24
// slices one image larger).
static Times timeSlices(const Layer& l, int batch, bool asDeconvolution) {
    int shards = std::min(24, batch), base = batch / shards, extra = batch % shards;
    Times large = timeLayer(l, base + 1, batch, asDeconvolution), small = timeLayer(l, base, batch, asDeconvolution);
    auto total = [&](double a, double b) { return extra * a + (shards - extra) * b; };
    return {total(large.forward, small.forward), total(large.backwardData, small.backwardData),
            total(large.backwardWeights, small.backwardWeights), total(large.reorders, small.reorders)};
}

int main(int argc, char** argv) {
    int batch = argc > 1 ? std::atoi(argv[1]) : 256;
    std::printf("oneDNN %d.%d.%d, batch %d, ms per step (forward, backward-data, backward-weights+bias; sum)\n",
                dnnl_version()->major, dnnl_version()->minor, dnnl_version()->patch, batch);
    std::printf("%-25s %28s %28s %9s\n", "layer", "whole batch", "24 slices", "reorders");
    for (const Layer& l : layers) {
        for (bool asDeconvolution : l.transposed ? std::vector<bool>{true, false} : std::vector<bool>{false}) {
            Times whole = timeLayer(l, batch, batch, asDeconvolution), sliced = timeSlices(l, batch, asDeconvolution);
            char label[64];
            std::snprintf(label, sizeof label, "%s%s", l.name, !l.transposed ? "" : asDeconvolution ? " (deconvolution)" : " (as convolution)");
            std::printf("%-25s %6.2f %6.2f %6.2f = %6.2f %6.2f %6.2f %6.2f = %6.2f %9.2f\n", label, whole.forward, whole.backwardData,
                        whole.backwardWeights, whole.forward + whole.backwardData + whole.backwardWeights, sliced.forward,
                        sliced.backwardData, sliced.backwardWeights, sliced.forward + sliced.backwardData + sliced.backwardWeights,
                        sliced.reorders);
        }
    }
}
