import ArgumentParser

struct ImplCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "impl", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("impl: not yet implemented") }
}
