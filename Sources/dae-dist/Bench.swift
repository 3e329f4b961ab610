import ArgumentParser
import DAECore
import DAEData
import Foundation

/// `dae-dist bench`: images per second of the full training step (forward, backward, Adam)
/// on random noisy batches, for each batch size and BLAS thread count. Compare with
/// `python3 bench/pytorch_step.py`, which times the same step in PyTorch.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the training step (forward, backward, Adam) and print images per second.")

    @Option(name: .customLong("batch-sizes"), parsing: .upToNextOption, help: "Batch sizes to time.")
    var batchSizes: [Int] = [64, 128, 256]

    @Option(parsing: .upToNextOption, help: "Compute thread counts to time (BLAS and the element-wise loops).")
    var threads: [Int] = [1, 2]

    @Option(name: .customLong("latent-dim"), help: "Latent size.")
    var latentDim: Int = 2

    @Option(help: "Untimed steps before measuring.")
    var warmup: Int = 3

    @Option(help: "Timed repeats; the median is reported.")
    var repeats: Int = 5

    @Option(help: "Steps per timed repeat.")
    var steps: Int = 5

    @Flag(help: "Print one JSON object per line instead of a table.")
    var json = false

    func validate() throws {
        guard batchSizes.allSatisfy({ $0 > 1 }) else { throw ValidationError("--batch-sizes must all be at least 2 (BatchNorm needs two values per channel).") }
        guard threads.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--threads must all be at least 1.") }
        guard latentDim >= 1 else { throw ValidationError("--latent-dim must be at least 1.") }
        guard repeats >= 1, steps >= 1, warmup >= 0 else { throw ValidationError("--repeats and --steps must be at least 1, --warmup at least 0.") }
    }

    func run() throws {
        if !json {
            print("dae-dist training step (images/s, median of \(repeats) x \(steps) steps)")
            print("  batch  threads   images/s      ms/step   GFLOP/s   peak RSS MB")
        }
        for threadCount in threads {
            ComputeThreads.set(threadCount)
            for batch in batchSizes {
                let rate = try measure(batch: batch)
                let gflops = rate * Double(Architecture.trainingFLOPsPerImage(latentDim: latentDim)) / 1e9
                let rss = Bench.peakResidentMegabytes()
                if json {
                    print("{\"impl\": \"dae-dist\", \"batch\": \(batch), \"threads\": \(threadCount), \"images_per_sec\": \(String(format: "%.1f", rate)), \"gflops\": \(String(format: "%.1f", gflops)), \"peak_rss_mb\": \(String(format: "%.0f", rss))}")
                } else {
                    print(String(format: "%7d %8d %10.1f %12.2f %9.1f %13.0f", batch, threadCount, rate, 1000 * Double(batch) / rate, gflops, rss))
                }
                fflush(nil)  // nil flushes every stream; `stdout` is not concurrency-safe to name
            }
        }
        for threadCount in threads {
            ComputeThreads.set(threadCount)
            let rate = Bench.sgemmGFLOPs(size: 1024)
            if json {
                print("{\"impl\": \"openblas\", \"what\": \"sgemm-1024\", \"threads\": \(threadCount), \"gflops\": \(String(format: "%.1f", rate))}")
            } else {
                print(String(format: "cblas_sgemm 1024 x 1024 x 1024, %d thread(s): %.1f GFLOP/s", threadCount, rate))
            }
        }
        ComputeThreads.set(1)
        let batch = 128
        let perSecond = measureBatchAssembly(batch: batch)
        if json {
            print("{\"impl\": \"dae-dist\", \"what\": \"batch-assembly\", \"batch\": \(batch), \"batches_per_sec\": \(String(format: "%.1f", perSecond))}")
        } else {
            print(String(format: "batch assembly (gather + noise, batch %d, 1 thread): %.3f ms", batch, 1000 / perSecond))
        }
    }

    /// The BLAS roofline for the step: GFLOP/s of a large square product (median of 5).
    static func sgemmGFLOPs(size n: Int) -> Double {
        let a = FloatBuffer(count: n * n), b = FloatBuffer(count: n * n), c = FloatBuffer(count: n * n)
        for i in 0..<(n * n) { a[i] = Float(i % 7) * 0.1; b[i] = Float(i % 5) * 0.1 }
        var rates: [Double] = []
        for _ in 0..<6 {
            let start = DispatchTime.now().uptimeNanoseconds
            BLAS.gemm(transposeA: false, transposeB: false, m: n, n: n, k: n, a: a.pointer, lda: n, b: b.pointer, ldb: n, c: c.pointer, ldc: n)
            rates.append(2 * Double(n * n * n) / Double(DispatchTime.now().uptimeNanoseconds - start))
        }
        return rates.dropFirst().sorted()[2]
    }

    /// The process's peak resident memory so far (getrusage), in MB.
    static func peakResidentMegabytes() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024  // kilobytes on Linux
    }

    /// Gathering a batch of 128 shard images and adding their noise, as a training step does.
    private func measureBatchAssembly(batch: Int) -> Double {
        let digits = SyntheticDigits.make(count: 1024, seed: 0)
        let clean = FloatBuffer(count: batch * 784), noisy = FloatBuffer(count: batch * 784)
        let noise = NoiseGenerator(seed: 0)
        let rounds = 200
        let start = DispatchTime.now().uptimeNanoseconds
        for round in 0..<rounds {
            BatchAssembler.assemble(count: batch, digits: digits, row: { ($0 * 7 + round) % 1024 }, sampleIndex: { $0 + round * batch },
                                    noise: noise, epoch: 0, factor: 0.1, clean: clean.pointer, noisy: noisy.pointer)
        }
        return Double(rounds) / (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
    }

    private func measure(batch: Int) throws -> Double {
        let model = Autoencoder(latentDim: latentDim, maxBatch: batch, seed: 0)
        let step = TrainingStep(model: model, optimizer: Adam(parameterCount: model.parameters.count))
        var rng = SplitMix64(seed: 1)
        let clean = FloatBuffer(count: batch * Architecture.imagePixels)
        for i in 0..<clean.count {
            clean[i] = rng.nextUnitFloat()
            model.input[i] = min(1, max(0, clean[i] + 0.1 * (rng.nextUnitFloat() - 0.5)))
        }
        // The step as a single-rank run takes it: summed by the 24 default shard slices.
        let plan = try ShardPlan(trainCount: 60_000, shards: min(24, batch), globalBatch: batch, worldSize: 1)
        let segments = plan.sliceSizes
        for _ in 0..<warmup { try step.run(target: clean.pointer, batch: batch, globalBatch: batch, segments: segments) }
        var rates: [Double] = []
        for _ in 0..<repeats {
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<steps { try step.run(target: clean.pointer, batch: batch, globalBatch: batch, segments: segments) }
            let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            rates.append(Double(batch * steps) / seconds)
        }
        return rates.sorted()[rates.count / 2]
    }
}
