import ArgumentParser

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "report", abstract: "(not yet implemented)")
    func run() throws { throw ValidationError("report: not yet implemented") }
}
