// swift-tools-version:6.0
import PackageDescription

/// Targets, one concern each:
/// - `CBLAS`: OpenBLAS on Linux, loaded at first use with the kernel for the CPU's features
///   (macOS uses Accelerate instead).
/// - `CZlib`: zlib, to read gzip-compressed IDX files.
/// - `CHTTP`: downloads on libcurl, bounded in bytes and seconds whatever the server does.
/// - `CKernels`: the direct 3x3 convolutions of the single-channel layers and the halving
///   convolutions' im2col and col2im, in C so they can be built for AVX-512 and AVX2 + FMA
///   beside the baseline (see `KernelBuild.swift`); the halving convolutions' fused forward
///   product and the bf16 GEMM (AVX-512 only); the CPU's features (CPUID); and the
///   compute threads' shared slice counter (an atomic add, which Swift's standard library
///   offers only from macOS 15).
/// - `DAECore`: the model (built from the table in `Architecture`), its layers and kernels, one
///   training step, Adam and the `Communicator` seam; no I/O but checkpoints.
/// - `CMPI`, `MPIShim`: OpenMPI, and plain C wrappers for what Swift cannot import (MPI's handle macros).
/// - `DAEDistributed`: `MPICommunicator`, the MPI implementation of `Communicator`.
/// - `DAETraining`: one rank's training loop, validation and early stopping, and the files of a run.
/// - `DAEPictures`: PNG pictures of a run (sample grids, loss curve, latent scatter).
/// - `DAEData`: MNIST (IDX files, download, virtual shards, sampler, noise) and synthetic digits.
/// - `dae-dist`: the command-line program.
/// - `CAllocationCounter` (tests only): counts heap allocations, to check that a step makes none.
/// - `LoopbackMirror` (tests only): a local HTTP server standing in for an MNIST mirror.
let package = Package(
    name: "dae-dist",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "dae-dist", targets: ["dae-dist"]),
        .library(name: "DAECore", targets: ["DAECore"]),
        .library(name: "DAEData", targets: ["DAEData"]),
        .library(name: "DAEDistributed", targets: ["DAEDistributed"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "CBLAS",
            dependencies: ["CKernels"],
            linkerSettings: [.linkedLibrary("dl")]
        ),
        .systemLibrary(
            name: "CZlib",
            path: "Sources/CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(
            name: "CMPI",
            path: "Sources/CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev"])]
        ),
        .target(
            name: "MPIShim",
            dependencies: ["CMPI"]
        ),
        .target(
            name: "DAEDistributed",
            dependencies: ["MPIShim", "DAECore"]
        ),
        .target(
            name: "DAEPictures",
            dependencies: ["CZlib", "DAECore"]
        ),
        .target(
            name: "DAETraining",
            dependencies: ["DAECore", "DAEData", "DAEPictures"]
        ),
        .target(
            name: "CHTTP",
            linkerSettings: [.linkedLibrary("curl")]
        ),
        .target(
            name: "DAEData",
            dependencies: ["CZlib", "CHTTP", "DAECore"]
        ),
        .target(
            name: "CKernels"
        ),
        .target(
            name: "DAECore",
            dependencies: ["CKernels", .target(name: "CBLAS", condition: .when(platforms: [.linux]))]
        ),
        .executableTarget(
            name: "dae-dist",
            dependencies: [
                "DAECore",
                "DAEData",
                "DAEDistributed",
                "DAETraining",
                "DAEPictures",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .target(
            name: "CAllocationCounter",
            path: "Tests/CAllocationCounter"
        ),
        .target(
            name: "LoopbackMirror",
            path: "Tests/LoopbackMirror"
        ),
        .testTarget(
            name: "DAECoreTests",
            dependencies: ["DAECore", "CAllocationCounter"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "DAEDataTests",
            dependencies: ["DAEData", "CAllocationCounter", "LoopbackMirror"]
        ),
        .testTarget(
            name: "DAETrainingTests",
            dependencies: ["DAETraining"]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["dae-dist", "DAECore", "DAEPictures", "LoopbackMirror"]
        ),
    ]
)
