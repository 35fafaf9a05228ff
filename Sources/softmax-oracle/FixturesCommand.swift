import ArgumentParser

struct FixturesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fixtures", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("fixtures: not yet implemented") }
}
