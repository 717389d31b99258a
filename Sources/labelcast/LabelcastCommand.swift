import ArgumentParser
import Foundation
import Labelcast

/// The `labelcast` command: option parsing, wiring and error printing only; the work is in the
/// Labelcast library.
@main
struct LabelcastCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "labelcast",
        abstract: "Labels AI-generated audio and video while it streams.",
        discussion: """
        Burns a visible "AI-generated" label into synthetic video segments and embeds an inaudible \
        audio watermark, re-encoding any libavformat input to any output.
        Exit status: 0 success; 1 nothing found (detect); 2 or more an error; 130/143 stopped by \
        SIGINT/SIGTERM after finalizing the output.
        """,
        version: LabelcastVersion.string,
        subcommands: [RunCommand.self, DetectCommand.self, InspectCommand.self, ServeCommand.self, DemoCommand.self, ReportCommand.self]
    )

    /// Errors come out as one line on stderr (`labelcast: error: …`) with a non-zero status;
    /// help and version go to stdout with status 0.
    static func main() async {
        EarlySignals.install()
        // Before any thread allocates: a run that lasts days must not grow (Allocator).
        Allocator.fixMmapThreshold()
        if let foreign = ForeignOptions.firstError(in: Array(CommandLine.arguments.dropFirst())) {
            FileHandle.standardError.write(Data("labelcast: error: \(Redaction.text(foreign))\n".utf8))
            Foundation.exit(2)
        }
        do {
            var command = try parseAsRoot()
            if !(command is RunCommand || command is DetectCommand) { EarlySignals.restoreDefault() }
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                print(fullMessage(for: error))
                Foundation.exit(0)
            }
            if let exit = error as? ExitCode { Foundation.exit(exit.rawValue) }
            if let unknown = ForeignOptions.unknownOptionError(parserMessage: message(for: error), arguments: Array(CommandLine.arguments.dropFirst())) {
                FileHandle.standardError.write(Data("labelcast: error: \(Redaction.text(unknown))\n".utf8))
                Foundation.exit(2)
            }
            let text = message(for: error)
                .split(whereSeparator: \.isNewline)
                .map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty && !$0.hasPrefix("Usage:") && !$0.hasPrefix("See '") }
                .joined(separator: "; ")
            FileHandle.standardError.write(Data("labelcast: error: \(Redaction.text(text))\n".utf8))
            // Usage errors (64) and run errors (2) are both "2 or more", as the contract says.
            Foundation.exit(code.rawValue == 1 ? 2 : code.rawValue)
        }
    }
}

enum LabelcastVersion {
    static let string = "0.1.0"
}
