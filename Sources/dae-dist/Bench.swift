import ArgumentParser
import DAECore
import DAETraining
import DAEData
import DAEDistributed
import Foundation

/// `dae-dist bench`: images per second of the full training step (forward, backward,
/// all-reduce, Adam) on random noisy batches, for each batch size and thread count, with
/// the GFLOP/s it reaches, the GEMM rate it is measured against and peak memory.
///
/// Under `mpirun -n R` every rank runs its share of each global batch (24 shard slices, as
/// training does) and rank 0 prints global images/s and the time spent in collectives.
/// `python3 bench/compare.py` runs this and the PyTorch reference, interleaved, in one table.
struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Time the training step (forward, backward, all-reduce, Adam) and print images per second.")

    @Option(name: .customLong("batch-sizes"), parsing: .upToNextOption, help: "Global batch sizes to time.")
    var batchSizes: [Int] = [64, 128, 256]

    @Option(parsing: .upToNextOption, help: "Compute thread counts per rank to time (they share out the shard slices; BLAS stays at one). Default: 1 and train's default, the rank's share of the processors.")
    var threads: [Int] = []

    @OptionGroup var latent: LatentOptions
    @Option(name: .setting(RunSetting.precision), help: .setting(RunSetting.precision)) var precision = TrainingConfig.defaults.precision
    @Option(name: .setting(RunSetting.bn), help: .setting(RunSetting.bn)) var bn = TrainingConfig.defaults.batchNorm

    @Option(help: "Untimed steps before measuring.")
    var warmup: Int = 3

    @Option(help: "Timed repeats; the median is reported.")
    var repeats: Int = 5

    @Option(help: "Steps per timed repeat.")
    var steps: Int = 5

    @Flag(inversion: .prefixedNo, help: "Also time cblas_sgemm on a 1024 square and on the step's own products (single process only).")
    var sgemm = true

    @Flag(help: "With --sgemm, also time the step's products one shape at a time.")
    var gemmShapes = false

    @Flag(help: "Also time each convolution layer alone, forward and backward, as a step runs it (single process only).")
    var layers = false

    @Flag(help: "Print one JSON object per line instead of a table.")
    var json = false

    @OptionGroup var collective: CollectiveOptions

    func validate() throws {
        guard batchSizes.allSatisfy({ $0 > 1 }) else { throw ValidationError("--batch-sizes must all be at least 2 (BatchNorm needs two values per channel).") }
        for batch in batchSizes { try Bounds.batch(batch, latentDim: latent.latentDim, "--batch-sizes") }
        guard threads.allSatisfy({ $0 >= 1 }) else { throw ValidationError("--threads must all be at least 1.") }
        guard repeats >= 1, steps >= 1, warmup >= 0 else { throw ValidationError("--repeats and --steps must be at least 1, --warmup at least 0.") }
        if let reason = precision.unavailableReason { throw ValidationError(reason + ".") }
    }

    /// `--threads`, or 1 and what train would use by default (the rank's share of the processors).
    private func threadCounts(ranksOnNode: Int) -> [Int] {
        threads.isEmpty ? Array(Set([1, ComputeThreads.automatic(ranksOnNode: ranksOnNode, limit: 24)])).sorted() : threads
    }

    /// One configuration's result, as printed.
    struct StepResult {
        var batch = 0, threads = 0, ranks = 1
        var imagesPerSecond = 0.0, gflops = 0.0, peakResidentMB = 0.0, communicationShare = 0.0, communicationMs = 0.0
        /// The part of `communicationMs` in blocking collectives (BatchNorm statistics, the loss).
        var blockingMs = 0.0
        /// CPU seconds per second of a step, per process: how much of its threads' time the
        /// step keeps busy (MPI waits spin while each rank has a processor, so waiting counts).
        var cpusBusy = 0.0
    }

    func run() throws {
        BLAS.precision = precision
        let communicator = TimedCommunicator(try Communicators.make(timeout: collective.collectiveTimeout))
        defer { communicator.finish() }
        let printer = communicator.rank == 0
        let gemm = BLAS.library
        if printer {
            if let warning = gemm.narrowerThanCPUWarning { FileHandle.standardError.write(Data(("dae-dist: " + warning + "\n").utf8)) }
            if json {
                print(JSON.encode(["impl": "dae-dist", "what": "machine", "machine": RunReporter.machine] as KeyValuePairs<String, Any?>))
            } else {
                print("CPU: \(CPU.description); GEMM: \(gemm.description), \(gemm.choiceDescription); C kernels: \(KernelBuild.name)")
            }
        }
        if printer && !json {
            print("dae-dist training step, \(communicator.size) rank(s), --bn \(bn.rawValue), --precision \(precision.rawValue) (products: \(precision.kernel)), \(KernelBuild.name) kernels (images/s, median of \(repeats) x \(steps) steps)")
            print("  batch  threads   images/s   ms/step   GFLOP/s   peak RSS MB   comm ms/step   blocking   comm %   CPUs busy")
        }
        for threadCount in threadCounts(ranksOnNode: communicator.node.ranks) {
            ComputeThreads.set(threadCount)
            if let warning = ComputeThreads.affinityWarning(threads: threadCount, rank: communicator.rank) {
                FileHandle.standardError.write(Data((warning + "\n").utf8))
            }
            for batch in batchSizes {
                let result = try measure(batch: batch, threads: threadCount, communicator: communicator)
                guard printer else { continue }
                if json {
                    print(String(format: "{\"impl\": \"dae-dist\", \"bn\": \"\(bn.rawValue)\", \"precision\": \"\(precision.rawValue)\", \"product_kernel\": \"\(precision.kernel)\", \"ranks\": %d, \"threads\": %d, \"batch\": %d, \"images_per_sec\": %.1f, \"gflops\": %.2f, \"peak_rss_mb\": %.0f, \"comm_ms_per_step\": %.3f, \"comm_blocking_ms_per_step\": %.3f, \"comm_share\": %.4f, \"cpus_busy\": %.3f}",
                                 result.ranks, threadCount, batch, result.imagesPerSecond, result.gflops, result.peakResidentMB,
                                 result.communicationMs, result.blockingMs, result.communicationShare, result.cpusBusy))
                } else {
                    print(String(format: "%7d %8d %10.1f %9.2f %9.1f %13.0f %14.2f %10.2f %8.1f %11.2f", batch, threadCount, result.imagesPerSecond,
                                 1000 * Double(batch) / result.imagesPerSecond, result.gflops, result.peakResidentMB,
                                 result.communicationMs, result.blockingMs, 100 * result.communicationShare, result.cpusBusy))
                }
                fflush(nil)  // nil flushes every stream; `stdout` is not concurrency-safe to name
            }
        }
        if sgemm && communicator.size == 1 { try printRoofline() }
        if layers && communicator.size == 1 { try printLayers() }
        if printer { printBatchAssembly(batch: 128) }
    }

    /// Each convolution's forward and backward alone, at every batch size and thread count.
    private func printLayers() throws {
        for threadCount in threadCounts(ranksOnNode: 1) {
            ComputeThreads.set(threadCount)
            for batch in batchSizes {
                let slices = try StepSetup.slices(batch: batch, communicator: SingleProcessCommunicator())
                if !json { print("layers alone, batch \(batch) in \(slices.count) slices, \(threadCount) thread(s): forward ms, backward ms, GFLOP/s") }
                for row in LayerBench.run(slices: slices, repeats: repeats) {
                    let gflops = Double(row.flops) / (row.forwardMs + row.backwardMs) / 1e6
                    if json {
                        print(String(format: "{\"impl\": \"dae-dist\", \"what\": \"layer\", \"layer\": \"%@\", \"threads\": %d, \"batch\": %d, \"forward_ms\": %.3f, \"backward_ms\": %.3f, \"gflops\": %.2f}",
                                     row.name, threadCount, batch, row.forwardMs, row.backwardMs, gflops))
                    } else {
                        print(String(format: "  %-8@ %8.2f %8.2f %8.1f", row.name as NSString, row.forwardMs, row.backwardMs, gflops))
                    }
                }
                fflush(nil)
            }
        }
    }

    /// What feeding a step costs: gathering a batch of shard images and adding their noise.
    private func printBatchAssembly(batch: Int) {
        ComputeThreads.set(1)
        let digits = SyntheticDigits.make(count: 1024, seed: 0)
        let clean = FloatBuffer(count: batch * Architecture.imagePixels), noisy = FloatBuffer(count: batch * Architecture.imagePixels)
        let noise = NoiseGenerator(seed: 0)
        var round = 0
        let seconds = Roofline.medianSeconds(repeats: 5) {
            round += 1
            BatchAssembler.assemble(count: batch, digits: digits, row: { ($0 * 7 + round) % 1024 }, sampleIndex: { $0 + round * batch },
                                    noise: noise, epoch: 0, factor: 0.1, clean: clean.pointer, noisy: noisy.pointer)
        }
        if json {
            print(String(format: "{\"impl\": \"dae-dist\", \"what\": \"batch-assembly\", \"batch\": %d, \"ms\": %.3f}", batch, 1000 * seconds))
        } else {
            print(String(format: "batch assembly (gather + noise, batch %d, 1 thread): %.3f ms", batch, 1000 * seconds))
        }
    }

    /// cblas_sgemm's rate on a large square and on the products of one step at each batch size.
    private func printRoofline() throws {
        for threadCount in threads {
            // Here BLAS itself runs on the threads (the step keeps BLAS at one, see `Parallel`).
            ComputeThreads.set(1)
            BLAS.setThreads(threadCount)
            let square = Roofline.squareGFLOPs(size: 1024)
            if json {
                print(String(format: "{\"impl\": \"openblas\", \"what\": \"sgemm-1024\", \"threads\": %d, \"gflops\": %.2f}", threadCount, square))
            } else {
                print(String(format: "cblas_sgemm 1024 x 1024 x 1024, %d thread(s): %.1f GFLOP/s", threadCount, square))
            }
            for batch in batchSizes {
                let setup = try StepSetup(batch: batch, latentDim: latent.latentDim, batchNorm: bn, communicator: SingleProcessCommunicator())
                let shapes = try Roofline.stepProducts(of: setup.step, target: setup.clean.pointer, batch: setup.batch, slices: setup.slices)
                // sgemm always (the roofline), and the run's own products when they are bf16.
                for timed in precision == .fp32 ? [Precision.fp32] : [.fp32, precision] {
                    BLAS.precision = timed
                    defer { BLAS.precision = precision }
                    let (seconds, gflops) = Roofline.replay(shapes)
                    let (impl, what, name) = timed == .fp32 ? ("openblas", "sgemm", "cblas_sgemm") : ("dae-dist", "bf16", "bf16 GEMM (\(timed.kernel))")
                    if json {
                        print(String(format: "{\"impl\": \"%@\", \"what\": \"%@-step-products\", \"threads\": %d, \"batch\": %d, \"calls\": %d, \"ms_per_step\": %.3f, \"gflops\": %.2f}",
                                     impl, what, threadCount, batch, shapes.count, 1000 * seconds, gflops))
                    } else {
                        print(String(format: "%@ on one step's %d products, batch %d, %d thread(s): %.1f GFLOP/s, %.2f ms", name, shapes.count, batch, threadCount, gflops, 1000 * seconds))
                    }
                    if gemmShapes { printByShape(shapes, impl: impl, what: what) }
                }
                fflush(nil)
            }
        }
    }

    /// The step's products grouped by exact shape, in the order the step first makes them.
    private func printByShape(_ shapes: [GemmShape], impl: String, what: String) {
        var order: [GemmShape] = [], calls: [GemmShape: Int] = [:]
        for shape in shapes {
            if calls[shape] == nil { order.append(shape) }
            calls[shape, default: 0] += 1
        }
        for shape in order {
            let (seconds, gflops) = Roofline.replay(Array(repeating: shape, count: calls[shape]!))
            let label = String(format: "%@%@ m %4d n %5d k %5d%@", shape.transposeA ? "T" : "N", shape.transposeB ? "T" : "N", shape.m, shape.n, shape.k,
                               shape.beta == 0 ? "" : " +C")
            if json {
                print(String(format: "{\"impl\": \"%@\", \"what\": \"%@-shape\", \"shape\": \"%@\", \"calls\": %d, \"ms_per_step\": %.3f, \"gflops\": %.2f, "
                             + "\"transpose_a\": %d, \"transpose_b\": %d, \"m\": %d, \"n\": %d, \"k\": %d, \"lda\": %d, \"ldb\": %d, \"ldc\": %d, \"beta\": %.0f}",
                             impl, what, label, calls[shape]!, 1000 * seconds, gflops, shape.transposeA ? 1 : 0, shape.transposeB ? 1 : 0,
                             shape.m, shape.n, shape.k, shape.lda, shape.ldb, shape.ldc, shape.beta))
            } else {
                print(String(format: "  %@  x%-3d %8.2f ms  %6.1f GFLOP/s", label, calls[shape]!, 1000 * seconds, gflops))
            }
        }
    }

    private func measure(batch: Int, threads: Int, communicator: TimedCommunicator) throws -> StepResult {
        let setup = try StepSetup(batch: batch, latentDim: latent.latentDim, batchNorm: bn, communicator: communicator)
        func step() throws { try setup.step.run(target: setup.clean.pointer, batch: setup.batch, globalBatch: batch, slices: setup.slices) }
        for _ in 0..<warmup { try step() }
        var rates: [Double] = [], communication: [Double] = [], blocking: [Double] = [], busy: [Double] = []
        for _ in 0..<repeats {
            try communicator.barrier()
            communicator.reset()
            let start = Clock.seconds(), cpuStart = Roofline.processCPUSeconds()
            for _ in 0..<steps { try step() }
            let seconds = Clock.seconds() - start
            busy.append((Roofline.processCPUSeconds() - cpuStart) / seconds)
            communication.append(communicator.seconds / seconds)
            blocking.append(communicator.blockingSeconds / seconds)
            rates.append(Double(batch * steps) / seconds)
        }
        // Every rank's view: the slowest rank's rate, the mean shares spent in collectives and
        // the mean CPUs busy.
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let fields = 5
        let gathered = DoubleBuffer(count: fields * communicator.size)
        for (i, value) in [median(rates), median(communication), Roofline.peakResidentMegabytes(), median(busy), median(blocking)].enumerated() {
            gathered[fields * communicator.rank + i] = value
        }
        try communicator.inner.allReduceSum(gathered.buffer)
        let ranks = 0..<communicator.size
        func field(_ i: Int) -> [Double] { ranks.map { gathered[fields * $0 + i] } }
        var result = StepResult(batch: batch, threads: threads, ranks: communicator.size)
        result.imagesPerSecond = field(0).min()!
        result.communicationShare = field(1).reduce(0, +) / Double(communicator.size)
        result.peakResidentMB = field(2).max()!
        result.cpusBusy = field(3).reduce(0, +) / Double(communicator.size)
        result.gflops = result.imagesPerSecond * Double(Architecture.standard(latentDim: latent.latentDim).trainingFLOPsPerImage) / 1e9
        // A share of the step's wall time, in milliseconds per step at the slowest rank's rate.
        let rate = result.imagesPerSecond
        func millisecondsPerStep(_ share: Double) -> Double { share * 1000 * Double(batch) / rate }
        result.communicationMs = millisecondsPerStep(result.communicationShare)
        result.blockingMs = millisecondsPerStep(field(4).reduce(0, +) / Double(communicator.size))
        return result
    }
}

/// A model, its training step and one random noisy batch: this rank's share of a global
/// batch split into 24 shard slices, as a training run with the default shards splits it.
struct StepSetup {
    let step: TrainingStep
    let clean: FloatBuffer
    let batch: Int
    let slices: [Int]

    /// This rank's shard slices of a global batch, with the default 24 shards.
    static func slices(batch globalBatch: Int, communicator: Communicator) throws -> [Int] {
        let plan = try ShardPlan(trainCount: 60_000, shards: min(24, globalBatch), globalBatch: globalBatch, worldSize: communicator.size)
        return plan.shardsOwned(rank: communicator.rank, worldSize: communicator.size).map { plan.sliceSizes[$0] }
    }

    init(batch globalBatch: Int, latentDim: Int, batchNorm: BatchNormStatistics, communicator: Communicator) throws {
        slices = try Self.slices(batch: globalBatch, communicator: communicator)
        batch = slices.reduce(0, +)
        let model = Autoencoder(latentDim: latentDim, maxBatch: batch, batchNormStatistics: batchNorm, seed: 0)
        step = TrainingStep(model: model, optimizer: Adam(parameterCount: model.parameters.count), communicator: communicator)
        var rng = SplitMix64(seed: 1 + UInt64(communicator.rank))
        clean = FloatBuffer(count: batch * Architecture.imagePixels)
        for i in 0..<clean.count {
            clean[i] = rng.nextUnitFloat()
            model.input[i] = min(1, max(0, clean[i] + 0.1 * (rng.nextUnitFloat() - 0.5)))
        }
    }
}
