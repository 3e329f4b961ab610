// swift-tools-version:6.0
import PackageDescription

/// Targets, one concern each:
/// - `CBLAS`: OpenBLAS's C interface on Linux (macOS uses Accelerate instead).
/// - `DAECore`: the autoencoder's layers, model, initialisation, Adam and the `Communicator` seam.
/// - `dae-dist`: the command-line program.
let package = Package(
    name: "dae-dist",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "dae-dist", targets: ["dae-dist"]),
        .library(name: "DAECore", targets: ["DAECore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            path: "Sources/CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "DAECore",
            dependencies: [.target(name: "CBLAS", condition: .when(platforms: [.linux]))]
        ),
        .executableTarget(
            name: "dae-dist",
            dependencies: [
                "DAECore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(
            name: "DAECoreTests",
            dependencies: ["DAECore"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
