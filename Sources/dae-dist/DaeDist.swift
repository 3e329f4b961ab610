import ArgumentParser
import DAECore
import Foundation

@main
struct DaeDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dae-dist",
        abstract: "Distributed data-parallel training of a convolutional denoising autoencoder on MNIST.",
        subcommands: [Train.self, Evaluate.self, Encode.self, Denoise.self, Download.self, Bench.self, Init.self, SelfTest.self],
        defaultSubcommand: Train.self
    )

    /// Expands `--config FILE` before parsing (see `ConfigFile`).
    static func main() {
        // Loads the GEMM library while this is the only thread: loading may set OPENBLAS_CORETYPE.
        _ = BLAS.library
        do {
            main(try ConfigFile.expand(Array(CommandLine.arguments.dropFirst())))
        } catch {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            Foundation.exit(64)
        }
    }
}
