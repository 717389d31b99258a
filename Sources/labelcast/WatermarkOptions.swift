import ArgumentParser
import Foundation
import Labelcast
import Synchronization

/// `--key-file`, `--payload-id`, `--no-watermark`, `--no-video-mark`: the inaudible audio
/// watermark and the invisible video mark (one key, one payload id for both).
struct WatermarkOptions: ParsableArguments {
    @Option(help: "Watermark key file (also LABELCAST_KEY); without either, a public demo key and a warning.")
    var keyFile: String?
    @Option(parsing: .unconditional, help: "32-bit id carried by the watermark, decimal or 0x… (default 0).")
    var payloadId: String = "0"
    @Flag(help: "Leave the audio watermark out (for measurement).")
    var noWatermark = false
    @Flag(help: "Leave the invisible video mark out (for measurement).")
    var noVideoMark = false

    /// The key as read by `validate()`, so it is read once: a key from a pipe or FIFO
    /// (`--key-file <(vault read …)`) can be read only once.
    private static let loadedKey = Mutex<WatermarkKeySource.Loaded?>(nil)

    private func loadKey() throws -> WatermarkKeySource.Loaded {
        if let loaded = Self.loadedKey.withLock({ $0 }) { return loaded }
        let loaded = try WatermarkKeySource.load(keyFile: keyFile)
        Self.loadedKey.withLock { $0 = loaded }
        return loaded
    }

    func validate() throws {
        do {
            _ = try WatermarkKeySource.parsePayloadID(payloadId)
            if !noWatermark || !noVideoMark { _ = try loadKey() }
        } catch let e as LabelcastError { throw ValidationError(e.message) }
    }

    func settings() throws -> (WatermarkSettings?, WatermarkKeySource.Loaded?) {
        guard !noWatermark else { return (nil, nil) }
        let loaded = try loadKey()
        return (WatermarkSettings(key: loaded.key, payloadID: try WatermarkKeySource.parsePayloadID(payloadId), usesDemoKey: loaded.isDemo), loaded)
    }

    /// The video mark's settings (same key and id as the audio mark), nil with `--no-video-mark`.
    func videoMarkSettings() throws -> WatermarkSettings? {
        guard !noVideoMark else { return nil }
        let loaded = try loadKey()
        return WatermarkSettings(key: loaded.key, payloadID: try WatermarkKeySource.parsePayloadID(payloadId), usesDemoKey: loaded.isDemo)
    }
}
