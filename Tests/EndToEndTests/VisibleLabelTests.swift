import Foundation
import Testing
import TestSupport

/// The visible label, checked on pixels decoded by the ffmpeg CLI: a labeled run is compared
/// with the same run under `--no-overlay`, so only the label differs beyond encoder noise.
@Suite(.serialized) struct VisibleLabelTests {
    struct Rect: CustomStringConvertible {
        var x0, y0, x1, y1: Int
        var width: Int { x1 - x0 + 1 }
        var height: Int { y1 - y0 + 1 }
        var description: String { "(\(x0),\(y0))-(\(x1),\(y1))" }
    }

    /// Bounding box of the pixels that differ by more than `threshold`, or nil.
    static func diffRect(_ a: [UInt8], _ b: [UInt8], width: Int, threshold: Int = 40) -> Rect? {
        var r: Rect? = nil
        for i in 0..<min(a.count, b.count) where abs(Int(a[i]) - Int(b[i])) > threshold {
            let x = i % width, y = i / width
            if r == nil { r = Rect(x0: x, y0: y, x1: x, y1: y) } else {
                r!.x0 = min(r!.x0, x); r!.x1 = max(r!.x1, x); r!.y0 = min(r!.y0, y); r!.y1 = max(r!.y1, y)
            }
        }
        return r
    }

    /// Mean absolute difference outside `rect` (all of the frame when nil).
    static func meanDiff(_ a: [UInt8], _ b: [UInt8], width: Int, outside rect: Rect?) -> Double {
        var sum = 0, n = 0
        for i in 0..<min(a.count, b.count) {
            if let r = rect {
                let x = i % width, y = i / width
                if x >= r.x0 - 2 && x <= r.x1 + 2 && y >= r.y0 - 2 && y <= r.y1 + 2 { continue }
            }
            sum += abs(Int(a[i]) - Int(b[i])); n += 1
        }
        return n == 0 ? 0 : Double(sum) / Double(n)
    }

    /// Runs labelcast twice (label on / off) on the same input and returns both outputs' luma.
    func labeledAndPlain(input: String, dir: String, width: Int, height: Int, extra: [String]) throws -> (labeled: [[UInt8]], plain: [[UInt8]]) {
        let a = dir + "/labeled.mkv", b = dir + "/plain.mkv"
        var r = try TestSupport.labelcast(["run", "-i", input, "-o", a, "--crf", "12"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        r = try TestSupport.labelcast(["run", "-i", input, "-o", b, "--crf", "12", "--no-overlay"] + extra)
        #expect(r.status == 0, "\(r.stderr)")
        return (try TestSupport.lumaFrames(a, width: width, height: height), try TestSupport.lumaFrames(b, width: width, height: height))
    }

    /// Frames carrying the label, by index.
    static func labeledFrames(_ pair: (labeled: [[UInt8]], plain: [[UInt8]]), width: Int) -> [Int] {
        zip(pair.labeled, pair.plain).enumerated().compactMap { i, f in diffRect(f.0, f.1, width: width) != nil ? i : nil }
    }

    @Test(arguments: [(1280, 720), (1920, 1080), (720, 1280)])
    func labelIsInTheCornerAtGBSize(width: Int, height: Int) throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mkv"
        // A flat grey picture: the label's white text is the only bright ink.
        try TestSupport.makeMedia(input, seconds: 1, video: "color=c=0x606060:size=\(width)x\(height):rate=10", audio: nil,
                                  extra: ["-c:v", "libx264", "-crf", "10", "-preset", "ultrafast"])
        let pair = try labeledAndPlain(input: input, dir: dir, width: width, height: height, extra: ["--synthetic", "all"])
        #expect(pair.labeled.count == 10 && pair.plain.count == 10)
        let shortSide = min(width, height)
        let frame = pair.labeled[5], plain = pair.plain[5]
        let rect = try #require(Self.diffRect(frame, plain, width: width))
        // Top-right corner with a margin of about 2% of the short side.
        let margin = Double(shortSide) * 0.02
        #expect(Double(width - 1 - rect.x1) >= margin * 0.5 && Double(width - 1 - rect.x1) <= margin * 2, "right margin, rect \(rect)")
        #expect(Double(rect.y0) >= margin * 0.5 && Double(rect.y0) <= margin * 2, "top margin, rect \(rect)")
        #expect(Double(rect.x0) >= margin * 0.5, "label fits inside the frame, rect \(rect)")
        // Everything outside the label is the encoder's noise only.
        #expect(Self.meanDiff(frame, plain, width: width, outside: rect) < 1.0)
        // Text height: the first glyph ("A") measured where ink covers at least half a pixel
        // (luma above the midpoint between the box and the white text), ≥ 5% of the short side.
        var inkColumns: [Int] = []
        for x in rect.x0...rect.x1 {
            var ink = false
            for y in rect.y0...rect.y1 where frame[y * width + x] > 140 { ink = true; break }
            if ink { inkColumns.append(x) } else if !inkColumns.isEmpty { break }
        }
        #expect(!inkColumns.isEmpty)
        var top = Int.max, bottom = Int.min
        for x in inkColumns { for y in rect.y0...rect.y1 where frame[y * width + x] > 140 { top = min(top, y); bottom = max(bottom, y) } }
        let glyphHeight = bottom - top + 1
        #expect(Double(glyphHeight) >= 0.05 * Double(shortSide), "glyph 'A' is \(glyphHeight) px; 5% of \(shortSide) is \(0.05 * Double(shortSide))")
    }

    @Test func labelsExactlyTheSyntheticFrames() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4"
        try TestSupport.makeMedia(input, seconds: 5, video: "testsrc2=size=640x360:rate=30", audio: "sine=f=440:sample_rate=48000",
                                  extra: ["-c:v", "libx264", "-crf", "10", "-preset", "ultrafast"])
        let pair = try labeledAndPlain(input: input, dir: dir, width: 640, height: 360, extra: ["--segments", "1-3.5"])
        #expect(pair.labeled.count == 150)
        // Media time t = frame / 30: 1.0 ≤ t < 3.5 is frames 30...104.
        #expect(Self.labeledFrames(pair, width: 640) == Array(30...104))
    }

    @Test func shortSegmentKeepsTheLabelForTwoSeconds() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mp4"
        try TestSupport.makeMedia(input, seconds: 4, video: "testsrc2=size=320x240:rate=25", audio: nil,
                                  extra: ["-c:v", "libx264", "-crf", "10", "-preset", "ultrafast"])
        let pair = try labeledAndPlain(input: input, dir: dir, width: 320, height: 240, extra: ["--segments", "1-1.5"])
        // GB 45438: shown from t = 1.0 for at least 2 s, so frames 25...74 (t < 3.0).
        #expect(Self.labeledFrames(pair, width: 320) == Array(25...74))
    }

    @Test func otherCornerAndCJKText() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mkv"
        try TestSupport.makeMedia(input, seconds: 0.4, video: "color=c=0x606060:size=640x360:rate=10", audio: nil)
        let pair = try labeledAndPlain(input: input, dir: dir, width: 640, height: 360,
                                       extra: ["--synthetic", "all", "--label-position", "bottom-left", "--label-text", "人工智能合成"])
        let rect = try #require(Self.diffRect(pair.labeled[2], pair.plain[2], width: 640))
        #expect(rect.x0 < 20 && rect.y1 > 360 - 20, "bottom-left, rect \(rect)")
        #expect(rect.x1 < 320)
    }

    @Test func tenBitInputStaysTenBit() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mkv", output = dir + "/out.mkv"
        try TestSupport.makeMedia(input, seconds: 0.5, video: "testsrc2=size=320x240:rate=10", audio: nil,
                                  extra: ["-pix_fmt", "yuv420p10le", "-c:v", "libx264", "-preset", "ultrafast"])
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--synthetic", "all"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try TestSupport.probe(output).first?.pixelFormat == "yuv420p10le")
        #expect(r.stderr.contains("5 labeled"), "\(r.stderr)")
    }

    @Test func uncoveredCharacterIsAStartUpError() throws {
        let dir = try TestSupport.temporaryDirectory()
        try TestSupport.makeMedia(dir + "/in.mkv", seconds: 0.2, video: "testsrc2=size=320x240:rate=10", audio: nil)
        let r = try TestSupport.labelcast(["run", "-i", dir + "/in.mkv", "-o", dir + "/out.mkv", "--synthetic", "all", "--label-text", "AI生成 \u{E000}"])
        #expect(r.status >= 2)
        #expect(r.errorLines.count == 1, "\(r.stderr)")
        #expect(r.stderr.contains("U+E000"), "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mkv"])
    }

    @Test(arguments: [("--label-height", "0.01", "minimum"), ("--label-position", "middle", "--label-position 'middle'"),
                      ("--font", "/nonexistent.ttf", "--font")])
    func badLabelOptions(option: String, value: String, mentions: String) throws {
        let dir = try TestSupport.temporaryDirectory()
        try TestSupport.makeMedia(dir + "/in.mkv", seconds: 0.2, video: "testsrc2=size=320x240:rate=10", audio: nil)
        let r = try TestSupport.labelcast(["run", "-i", dir + "/in.mkv", "-o", dir + "/out.mkv", option, value])
        #expect(r.status >= 2)
        #expect(r.errorLines.count == 1 && r.stderr.contains(mentions), "\(r.stderr)")
    }
}
