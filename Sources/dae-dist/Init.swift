import ArgumentParser
import DAECore
import DAEData
import DAEPictures
import DAETraining
import Foundation

/// `dae-dist init`: the untrained model a seed gives (PyTorch's default initialisation), as a
/// state_dict checkpoint: to start PyTorch from exactly the weights `train --seed S` starts from.
struct Init: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write the initial model of --seed (as train starts it) as a state_dict checkpoint.")

    @OptionGroup var latent: LatentOptions
    @Option(help: "Seed of the initialisation (as dae-dist train --seed).")
    var seed: UInt64 = 0
    @Option(help: "The safetensors file to write.")
    var output: String

    func run() throws {
        let latentDim = latent.latentDim
        let model = Autoencoder(latentDim: latentDim, maxBatch: 1, seed: seed)
        try ModelCheckpoint.save(model, to: output, metadata: ["seed": String(seed), "latent_dim": String(latentDim)])
        print("wrote the initial model of seed \(seed) to \(output)")
    }
}
