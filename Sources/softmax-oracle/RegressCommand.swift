import ArgumentParser

struct RegressCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "regress", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("regress: not yet implemented") }
}
