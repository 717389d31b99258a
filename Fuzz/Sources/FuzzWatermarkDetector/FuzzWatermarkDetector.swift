// libFuzzer target: WatermarkDetector on arbitrary audio.
//
// Input layout: byte 0 seeds the chunk sizes, byte 1 sets the length, byte 2 the gain; the rest
// are raw little-endian Float32 bit patterns, so NaN, ±Inf, denormals, ±0 and huge values all
// occur. The detector evaluates every 0.5 s once it has 1 s of audio, so those samples are
// repeated (each repetition as is, reversed, negated or both, by the next two seed bits, so the
// audio is not simply periodic) to 1.5-3.5 s at 16 kHz.
//
// The same audio goes to two detectors with the demo key: one fed in random chunk sizes
// (including empty chunks), one fed at once. Checked:
//  - no crash (ASan: no memory error) in process()/finish();
//  - both detectors report the same ranges, sync score and decode attempts (chunking must not
//    change the answer);
//  - no detection: random audio carrying a payload whose keyed CRC verifies is a false positive.
//    A false positive is reported on stderr and its input saved to $FUZZ_FINDINGS_DIR (if set);
//    the target only aborts if false positives repeat (a second distinct input in one run).
import AudioMark
import Foundation

private let minimumSamples = 24_000   // 1.5 s: at least one evaluation (1 s on; 1.4 s before 20c0d13)
private let maximumExtra = 32_000     // up to 2 s more: a few evaluations and the full 3 s window

nonisolated(unsafe) private var falsePositives: Set<Int> = []

@_cdecl("LLVMFuzzerTestOneInput")
public func labelcastFuzzWatermarkDetector(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size >= 7 else { return 0 }
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var rng = SplitMix(seed: UInt64(bytes[0]) &* 0x9E37_79B9 &+ UInt64(size))
    let total = minimumSamples + Int(bytes[1]) * (maximumExtra / 255)
    // Gain: 1 (raw bit patterns) or a power of two from 2^-64 to 2^63, to reach denormals and
    // overflow from ordinary values.
    let gain: Float = bytes[2] == 0 ? 1 : Float(sign: .plus, exponent: Int(bytes[2] & 0x7F) - 64, significand: 1)

    var pattern: [Float] = []
    var i = 3
    while i + 4 <= size {
        let bits = UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24
        pattern.append(Float(bitPattern: bits) * gain)
        i += 4
    }
    var audio: [Float] = []
    audio.reserveCapacity(total)
    var flips = rng.next()
    while audio.count < total {
        switch flips & 3 {
        case 0: audio += pattern
        case 1: audio += pattern.reversed()
        case 2: audio += pattern.map { -$0 }
        default: audio += pattern.reversed().map { -$0 }
        }
        flips = flips >> 2 == 0 ? rng.next() : flips >> 2
    }
    audio.removeLast(audio.count - total)

    let chunked = WatermarkDetector(key: .demo)
    var streamed: [WatermarkDetection] = []
    audio.withUnsafeBufferPointer { all in
        var at = 0
        while at < all.count {
            // Mostly small chunks (a packet's worth), sometimes empty, sometimes large.
            let r = rng.next()
            let n: Int
            switch r & 7 {
            case 0: n = 0
            case 1: n = Int((r >> 8) % 8192)
            default: n = 1 + Int((r >> 8) % 1200)
            }
            let chunk = UnsafeBufferPointer(rebasing: all[at..<min(all.count, at + n)])
            streamed += chunked.process(chunk)
            _ = chunked.openRanges
            at += chunk.count
        }
    }
    let found = chunked.finish()

    let whole = WatermarkDetector(key: .demo)
    let streamedWhole = whole.process(audio)
    let foundWhole = whole.finish()

    check(found == foundWhole && streamed == streamedWhole,
          "chunking changed the result: \(found) vs \(foundWhole), streamed \(streamed) vs \(streamedWhole)")
    check(chunked.strongestSync.bitPattern == whole.strongestSync.bitPattern,
          "chunking changed strongestSync: \(chunked.strongestSync) vs \(whole.strongestSync)")
    check(chunked.decodeAttempts == whole.decodeAttempts,
          "chunking changed decodeAttempts: \(chunked.decodeAttempts) vs \(whole.decodeAttempts)")
    check(streamed.allSatisfy { s in found.contains(s) }, "a range process() returned is missing from finish(): \(streamed) / \(found)")
    for d in found {
        check(d.start.isFinite && d.end.isFinite && d.start <= d.end && d.start >= 0, "bad range \(d)")
    }

    if !found.isEmpty {
        var hasher = Hasher()
        hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        let key = hasher.finalize()
        let line = "fuzz-watermark-detector: FALSE POSITIVE on random audio: \(found) (sync z=\(chunked.strongestSync), \(chunked.decodeAttempts) decode attempts)\n"
        FileHandle.standardError.write(Data(line.utf8))
        if let dir = ProcessInfo.processInfo.environment["FUZZ_FINDINGS_DIR"] {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: "\(dir)/false-positive-\(String(UInt(bitPattern: key), radix: 16))",
                                           contents: Data(bytes))
        }
        falsePositives.insert(key)
        check(falsePositives.count < 2, "false positives repeat: \(falsePositives.count) distinct inputs decoded a payload")
    }
    return 0
}

private func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("fuzz-watermark-detector: \(message())") }
}

/// Small deterministic generator (SplitMix64) for chunk sizes and repetition order.
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
