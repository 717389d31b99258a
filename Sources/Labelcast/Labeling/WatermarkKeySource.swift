import AudioMark
import Foundation

/// Where the watermark key comes from: `--key-file FILE`, else `LABELCAST_KEY`, else the
/// built-in demo key (with a warning: it is public, so it proves nothing). The key's bytes are
/// never logged or put in an error message.
public enum WatermarkKeySource {
    public struct Loaded: Sendable {
        public var key: WatermarkKey
        public var isDemo: Bool
        /// Where it came from, for messages ("key file /path", "LABELCAST_KEY", "demo key").
        public var origin: String
    }

    public static func load(keyFile: String?, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Loaded {
        if let keyFile {
            guard FileManager.default.fileExists(atPath: keyFile) else {
                throw LabelcastError("--key-file '\(keyFile)' does not exist: make one with e.g. `head -c 32 /dev/urandom > \(keyFile)`")
            }
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: keyFile, isDirectory: &isDirectory), isDirectory.boolValue {
                throw LabelcastError("--key-file '\(keyFile)' is a folder: give the file that holds the key")
            }
            // Read through a handle, not by the file's size: a pipe works too (`--key-file
            // <(vault read …)`, a FIFO). Bounded, so /dev/urandom by mistake is an error, not a hang.
            let limit = 64 * 1024
            guard let handle = FileHandle(forReadingAtPath: keyFile),
                  let data = try? handle.read(upToCount: limit + 1) ?? Data() else {
                throw LabelcastError("--key-file '\(keyFile)' cannot be read (check its permissions)")
            }
            try? handle.close()
            guard data.count <= limit else {
                throw LabelcastError("--key-file '\(keyFile)' holds more than 64 KiB: a key is 16 to a few hundred bytes; is it the right file?")
            }
            var bytes = [UInt8](data)
            // A key typed into a text file ends with a newline that is not part of it.
            while let last = bytes.last, last == 0x0A || last == 0x0D { bytes.removeLast() }
            guard !bytes.isEmpty else { throw LabelcastError("--key-file '\(keyFile)' is empty: a key needs at least \(WatermarkKey.minimumLength) bytes") }
            guard bytes.count >= WatermarkKey.minimumLength else {
                throw LabelcastError("--key-file '\(keyFile)' holds \(bytes.count) bytes: a key needs at least \(WatermarkKey.minimumLength)")
            }
            return Loaded(key: try WatermarkKey(secret: bytes), isDemo: false, origin: "key file \(keyFile)")
        }
        if let env = environment["LABELCAST_KEY"] {
            let bytes = Array(env.utf8)
            guard bytes.count >= WatermarkKey.minimumLength else {
                throw LabelcastError("LABELCAST_KEY holds \(bytes.count) bytes: a key needs at least \(WatermarkKey.minimumLength)")
            }
            return Loaded(key: try WatermarkKey(secret: bytes), isDemo: false, origin: "LABELCAST_KEY")
        }
        return Loaded(key: .demo, isDemo: true, origin: "demo key")
    }

    /// Parses `--payload-id`: decimal or `0x…`, 32 bits.
    public static func parsePayloadID(_ text: String) throws -> UInt32 {
        let t = text.trimmingCharacters(in: .whitespaces).lowercased()
        let value: UInt64?
        if t.hasPrefix("0x") { value = UInt64(t.dropFirst(2), radix: 16) } else { value = UInt64(t) }
        guard let v = value, v <= UInt64(UInt32.max) else {
            throw LabelcastError("--payload-id '\(text)' is not a 32-bit number: use decimal (0 to 4294967295) or hex like 0x1A2B3C4D")
        }
        return UInt32(v)
    }
}
