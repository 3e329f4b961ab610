import ArgumentParser
import DAECore
import Foundation

@main
struct DaeDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dae-dist",
        abstract: "Distributed data-parallel training of a convolutional denoising autoencoder on MNIST.",
        subcommands: [Train.self, Evaluate.self, Encode.self, Denoise.self, Anomaly.self, ProbeCommand.self, Manifold.self, Download.self, Bench.self, Init.self, SelfTest.self],
        defaultSubcommand: Train.self
    )

    /// Expands `--config FILE` before parsing (see `ConfigFile`), then parses and runs as
    /// `ParsableCommand.main` does, naming the config file when it supplied a refused flag.
    static func main() {
        // Loads the GEMM library while this is the only thread: loading may set OPENBLAS_CORETYPE.
        _ = BLAS.library
        let expanded: (arguments: [String], file: ConfigFile?)
        do { expanded = try ConfigFile.expand(Array(CommandLine.arguments.dropFirst())) } catch {
            FileHandle.standardError.write(Data("Error: \(error)\n".utf8))
            Foundation.exit(64)
        }
        do {
            var command = try parseAsRoot(expanded.arguments)
            try command.run()
        } catch {
            if let hint = expanded.file?.hint(for: fullMessage(for: error)) { FileHandle.standardError.write(Data((hint + "\n").utf8)) }
            exit(withError: error)
        }
    }
}
