import Foundation
import Labelcast

/// Where a value that may be secret comes from: the option (visible to every local user in
/// `ps`), else a file named by another option, else an environment variable (which only the
/// process's user and root can read, `/proc/PID/environ` being mode 0400). The sample systemd
/// unit uses the file and environment forms, so no credential is ever in a command line.
enum SecretSource {
    /// The first of option, file (its first line, trimmed), environment that is given; two of
    /// option and file both given is an error, since one would silently win.
    static func value(option: String?, optionName: String, file: String?, fileOption: String, environment name: String,
                      environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if option != nil && file != nil { throw LabelcastError("\(optionName) and \(fileOption) both given: use one") }
        if let option { return option }
        if let file { return try firstLine(of: file, option: fileOption) }
        return environment[name]
    }

    /// The file's first line without surrounding white space; bounded (64 KiB), so a wrong
    /// path such as /dev/zero is an error, not a hang.
    static func firstLine(of path: String, option: String) throws -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw LabelcastError("\(option) '\(path)' does not exist")
        }
        guard !isDirectory.boolValue else { throw LabelcastError("\(option) '\(path)' is a folder: give the file that holds the value") }
        guard let handle = FileHandle(forReadingAtPath: path), let data = try? handle.read(upToCount: 64 * 1024) ?? Data() else {
            throw LabelcastError("\(option) '\(path)' cannot be read (check its permissions)")
        }
        try? handle.close()
        let line = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let value = line.trimmingCharacters(in: .whitespaces)
        guard !value.isEmpty else { throw LabelcastError("\(option) '\(path)' is empty: put the value on its first line") }
        return value
    }
}
