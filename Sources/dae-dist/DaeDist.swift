import ArgumentParser

@main
struct DaeDist: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dae-dist",
        abstract: "Distributed data-parallel training of a convolutional denoising autoencoder on MNIST.",
        subcommands: [Train.self, Evaluate.self, Encode.self, Denoise.self, Download.self, Bench.self, SelfTest.self],
        defaultSubcommand: Train.self
    )
}
