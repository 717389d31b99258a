import Foundation
import Testing
import TestSupport

/// Per-picture copying with a schedule known ahead (`--realtime` paces a file as a live input;
/// no control API, so `--copy-decode ahead` by default): the decoder sleeps through copied
/// stretches and wakes at the IDR before each scheduled start — or, when a GOP turns out longer
/// than any before it, mid-GOP, decoding the pictures it slept through first. Either way the
/// re-encoded pictures must be the input's pictures (plus the label), not a decoder's guess
/// from missing references. Oracles: ffmpeg's framemd5 of input and output, its decoder's
/// warnings, decoded luma. Runs on a clock (8 s per case): serial.
@Suite(.serialized) struct LiveCopyAheadTests {
    static let width = 480, height = 270

    /// 8 s of mandelbrot at 25 fps from a live-style encoder (no B-frames), IDRs where given.
    static func makeClip(_ path: String, keyframes: [Double]) throws {
        let times = keyframes.map { String(format: "%.2f", $0) }.joined(separator: ",")
        try TestSupport.makeMedia(path, seconds: 8, video: "mandelbrot=size=\(width)x\(height):rate=25",
                                  audio: "sine=frequency=660:sample_rate=48000",
                                  extra: ["-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
                                          "-x264-params", "keyint=400:min-keyint=1:scenecut=0", "-force_key_frames", times, "-c:a", "aac"])
    }

    /// Mean absolute luma difference over the bottom half (away from the label).
    static func bottomDiff(_ a: [UInt8], _ b: [UInt8]) -> Double { meanDiff(a, b, width: width, fromRow: height / 2) }

    /// Mean absolute luma difference from row `fromRow` down.
    static func meanDiff(_ a: [UInt8], _ b: [UInt8], width: Int, fromRow: Int) -> Double {
        let from = width * fromRow
        let n = min(a.count, b.count) - from
        guard n > 0 else { return .infinity }
        var sum = 0
        for i in from..<(from + n) { sum += abs(Int(a[i]) - Int(b[i])) }
        return Double(sum) / Double(n)
    }

    /// (keyframes, segments, pictures expected to be the input's own as ranges, pictures to check).
    /// Regular GOPs of 1 s and two segments: awake from the IDR before each (2 s, 6 s).
    /// A GOP of 3 s after three of 1 s, segment at 4.5 s: asleep from the IDR at 3 s (the next
    /// start was 1.5 s away, more than the longest GOP seen), woken at 3.42 s, mid-GOP: the
    /// pictures from 3 s are decoded first.
    @Test(arguments: [
        ("regular", [0.0, 1, 2, 3, 4, 5, 6, 7], "2.5-3,6.1-6.4", [0..<63, 75..<153, 175..<200], [63, 70, 153, 158]),
        ("long-gop", [0.0, 1, 2, 3, 6, 7], "4.5-5", [0..<113, 150..<200], [113, 118, 124]),
    ])
    func reencodedPicturesAreTheInputs(_ name: String, keyframes: [Double], segments: String, copiedRanges: [Range<Int>], checked: [Int]) throws {
        let copied = Set(copiedRanges.joined())
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in-\(name).mp4", output = dir + "/out-\(name).mp4"
        try Self.makeClip(input, keyframes: keyframes)
        let run = try CopyUnlabeledTests.run(input, output, segments: segments, extra: ["--realtime", "-v"])
        #expect(run.stderr.contains("--copy-decode ahead"), "\(run.stderr)")
        let complaints = try CopyUnlabeledTests.decodeComplaints(output)
        #expect(complaints.isEmpty, "the output does not decode cleanly: \(complaints.prefix(3))")
        let a = try CopyUnlabeledTests.pictureHashes(input), b = try CopyUnlabeledTests.pictureHashes(output)
        #expect(a.count == 200 && b.count == 200, "\(a.count) pictures in, \(b.count) out")
        let same = Set(zip(a, b).enumerated().filter { $0.element.0 == $0.element.1 }.map(\.offset))
        #expect(same == copied, "identical: \(same.count) (expected \(copied.count)); first differing \(Set(0..<200).subtracting(same).min() ?? -1), unexpected \(same.symmetricDifference(copied).sorted().prefix(8))")
        let fin = try TestSupport.lumaFrames(input, width: Self.width, height: Self.height)
        let fout = try TestSupport.lumaFrames(output, width: Self.width, height: Self.height)
        try #require(fin.count == 200 && fout.count == 200)
        for i in checked {
            // Re-encoded from what the decoder made of the input: coding noise only.
            let d = Self.bottomDiff(fin[i], fout[i])
            #expect(d < 3, "picture \(i): mean difference \(String(format: "%.2f", d)) from the input's below the label")
            let ink = zip(fin[i], fout[i]).filter { abs(Int($0) - Int($1)) > 100 }.count
            #expect(ink > 300, "no label on synthetic picture \(i): \(ink) changed pixels")
        }
        #expect(run.copied == same.count && run.copiedCount == same.count, "frame log \(run.copied), report \(run.copiedCount), identical \(same.count)")
    }
}
