import Foundation
import Testing
import TestSupport

/// Label profiles (cn, eu, cn+eu, custom), modes and badges, checked on the pixels of whole
/// `labelcast run`s decoded by the ffmpeg CLI: each labeled run is compared with the same run
/// under `--no-overlay`, so only the label differs beyond encoder noise.
@Suite(.serialized) struct LabelProfileTests {
    typealias Rect = VisibleLabelTests.Rect

    /// Runs labelcast with the label and without; both outputs' luma, frame by frame.
    func pair(_ input: String, _ dir: String, width: Int, height: Int, _ args: [String]) throws -> (labeled: [[UInt8]], plain: [[UInt8]]) {
        let a = dir + "/labeled.mkv", b = dir + "/plain.mkv"
        var r = try TestSupport.labelcast(["run", "-i", input, "-o", a, "--crf", "12"] + args)
        #expect(r.status == 0, "\(r.stderr)")
        let timing = ["--label-mode", "--label-every", "--label-for", "--label-image", "--label-image-text-height", "--label-profile", "--label-text"]
        var plainArgs: [String] = []
        var i = 0
        while i < args.count {
            if timing.contains(args[i]) { i += 2; continue }
            if args[i] == "--label-short" { i += 1; continue }
            plainArgs.append(args[i]); i += 1
        }
        r = try TestSupport.labelcast(["run", "-i", input, "-o", b, "--crf", "12", "--no-overlay"] + plainArgs)
        #expect(r.status == 0, "\(r.stderr)")
        return (try TestSupport.lumaFrames(a, width: width, height: height), try TestSupport.lumaFrames(b, width: width, height: height))
    }

    static func labeled(_ p: (labeled: [[UInt8]], plain: [[UInt8]]), width: Int) -> [Int] {
        zip(p.labeled, p.plain).enumerated().compactMap { i, f in VisibleLabelTests.diffRect(f.0, f.1, width: width) != nil ? i : nil }
    }

    /// Grey 640x360 at 10 fps: frame n is media time n / 10.
    func greyInput(_ dir: String, seconds: Double) throws -> String {
        let input = dir + "/in.mkv"
        try TestSupport.makeMedia(input, seconds: seconds, video: "color=c=0x606060:size=640x360:rate=10", audio: nil,
                                  extra: ["-c:v", "libx264", "-crf", "10", "-preset", "ultrafast"])
        return input
    }

    /// Tallest run of bright (text) rows in the first glyph inside `rect`, `inset` px in from its
    /// edges (past the EU icon's white frame).
    static func firstGlyphHeight(_ frame: [UInt8], width: Int, rect: Rect, inset: Int) -> Int {
        let x0 = rect.x0 + inset, x1 = rect.x1 - inset, y0 = rect.y0 + inset, y1 = rect.y1 - inset
        var columns: [Int] = []
        for x in x0...x1 {
            var ink = false
            for y in y0...y1 where frame[y * width + x] > 140 { ink = true; break }
            if ink { columns.append(x) } else if !columns.isEmpty { break }
        }
        var top = Int.max, bottom = Int.min
        for x in columns { for y in y0...y1 where frame[y * width + x] > 140 { top = min(top, y); bottom = max(bottom, y) } }
        return columns.isEmpty ? 0 : bottom - top + 1
    }

    /// The label's rectangle is in the top-right corner, within about 2% of the short side.
    static func expectTopRight(_ rect: Rect, width: Int, shortSide: Int) {
        let margin = Double(shortSide) * 0.02
        #expect(Double(width - 1 - rect.x1) <= margin * 2 && Double(rect.y0) <= margin * 2 && Double(rect.y0) >= margin * 0.5, "rect \(rect)")
    }

    // MARK: timing

    @Test func euShowsAtTheStartAndAtIntervals() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try greyInput(dir, seconds: 14)
        let p = try pair(input, dir, width: 640, height: 360, ["--segments", "1-12.5", "--label-profile", "eu", "--label-every", "5", "--label-for", "2.5"])
        #expect(p.labeled.count == 140)
        // From 1.0 for 2.5 s, and again at 6.0 and 11.0 (the last cut short by the segment's end at 12.5).
        #expect(Self.labeled(p, width: 640) == Array(10...34) + Array(60...84) + Array(110...124))
        let rect = try #require(VisibleLabelTests.diffRect(p.labeled[20], p.plain[20], width: 640))
        Self.expectTopRight(rect, width: 640, shortSide: 360)
        let h = Self.firstGlyphHeight(p.labeled[20], width: 640, rect: rect, inset: 4)
        #expect(h >= 18, "'A' of AI GENERATED is \(h) px; 5% of 360 is 18")
    }

    @Test func euDefaultsToFiveSecondsAtTheStartOfEachSegment() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try greyInput(dir, seconds: 12)
        // Two segments (a break between them): each starts with its own 5 s showing.
        let p = try pair(input, dir, width: 640, height: 360, ["--segments", "0.5-7,8-", "--label-profile", "eu"])
        #expect(Self.labeled(p, width: 640) == Array(5...54) + Array(80...119))
    }

    @Test func customStartModeShowsOnlyTheOpeningSeconds() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try greyInput(dir, seconds: 6)
        let p = try pair(input, dir, width: 640, height: 360, ["--segments", "1-", "--label-profile", "custom", "--label-mode", "start", "--label-for", "3"])
        #expect(Self.labeled(p, width: 640) == Array(10...39))
    }

    @Test func cnPlusEUIsContinuousWithBothWordings() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try greyInput(dir, seconds: 8)
        let p = try pair(input, dir, width: 640, height: 360, ["--segments", "1-6.5", "--label-profile", "cn+eu"])
        #expect(Self.labeled(p, width: 640) == Array(10...64))
        let rect = try #require(VisibleLabelTests.diffRect(p.labeled[30], p.plain[30], width: 640))
        Self.expectTopRight(rect, width: 640, shortSide: 360)
        #expect(Self.firstGlyphHeight(p.labeled[30], width: 640, rect: rect, inset: 4) >= 18)
        // "AI生成 · AI GENERATED" is wider than the eu icon's "AI GENERATED" alone.
        let eu = try pair(input, dir, width: 640, height: 360, ["--segments", "1-6.5", "--label-profile", "eu"])
        let euRect = try #require(VisibleLabelTests.diffRect(eu.labeled[30], eu.plain[30], width: 640))
        #expect(rect.width > euRect.width + 40, "cn+eu \(rect) vs eu \(euRect)")
        // Same text size; the ideographs reach a little further below the baseline than Latin capitals.
        #expect(rect.height >= euRect.height && rect.height <= euRect.height + 10, "cn+eu \(rect) vs eu \(euRect)")
    }

    // MARK: badges

    @Test func pngBadgeMeasuredFromItsAlpha() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try greyInput(dir, seconds: 1)
        // 160x64, transparent but for an opaque orange band in rows 16-47: text height 50%.
        let badge = dir + "/badge.png"
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "color=c=0xFF8000:size=160x64,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(between(Y,16,47),255,0)'",
                                               "-frames:v", "1", badge])
        #expect(r.status == 0, "\(r.stderr)")
        let p = try pair(input, dir, width: 640, height: 360, ["--synthetic", "all", "--label-profile", "eu", "--label-image", badge])
        let rect = try #require(VisibleLabelTests.diffRect(p.labeled[5], p.plain[5], width: 640, threshold: 20))
        // The band is the badge's text: ≥ 5% of 360 = 18 rows, 5:1 like the band, top-right.
        #expect(rect.height >= 18 && rect.height <= 24, "band \(rect)")
        #expect(abs(Double(rect.width) / Double(rect.height) - 5) < 0.6, "band \(rect)")
        Self.expectTopRight(Rect(x0: rect.x0, y0: rect.y0 - rect.height / 2, x1: rect.x1, y1: rect.y1), width: 640, shortSide: 360)
        // Orange over grey: BT.601 Y' of 0xFF8000 is 0.594 (146 narrow range, 151 as full-range grey).
        let y = p.labeled[5][(rect.y0 + rect.height / 2) * 640 + (rect.x0 + rect.x1) / 2]
        #expect(abs(Int(y) - 148) <= 12, "badge luma \(y)")
    }

    @Test func svgBadgeWithStatedTextHeight() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try greyInput(dir, seconds: 1)
        let svg = dir + "/badge.svg"
        try ##"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40"><rect width="120" height="40" rx="6" fill="#003399"/><text x="60" y="30" font-size="28" text-anchor="middle" fill="#fff" font-family="DejaVu Sans">AI</text></svg>"##
            .write(toFile: svg, atomically: true, encoding: .utf8)
        let p = try pair(input, dir, width: 640, height: 360, ["--synthetic", "all", "--label-image", svg, "--label-image-text-height", "0.5"])
        let rect = try #require(VisibleLabelTests.diffRect(p.labeled[5], p.plain[5], width: 640, threshold: 20))
        // Text half the badge: the badge is at least 2 × 18 px tall, 3:1, top-right.
        #expect(rect.height >= 36 && rect.height <= 44, "badge \(rect)")
        #expect(abs(Double(rect.width) / Double(rect.height) - 3) < 0.25, "badge \(rect)")
        Self.expectTopRight(rect, width: 640, shortSide: 360)
    }

    @Test func badgeTooSmallForTheRuleIsRefused() throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = try greyInput(dir, seconds: 0.3)
        let badge = dir + "/tiny.png"
        let r = try TestSupport.run("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "color=c=white:size=40x16,format=rgba", "-frames:v", "1", badge])
        #expect(r.status == 0)
        // Its text is a quarter of 16 px: 4 px, where 360p needs 18 (a 4.5x enlargement).
        let out = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.mkv", "--synthetic", "all", "--label-image", badge, "--label-image-text-height", "0.25"])
        #expect(out.status == 2)
        #expect(out.errorLines.count == 1 && out.stderr.contains("too small"), "\(out.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mkv", "tiny.png"])
        // Opaque from top to bottom: its text height cannot be measured, so it must be stated.
        let opaque = try TestSupport.labelcast(["run", "-i", input, "-o", dir + "/out.mkv", "--synthetic", "all", "--label-image", badge])
        #expect(opaque.status == 2)
        #expect(opaque.errorLines.count == 1 && opaque.stderr.contains("--label-image-text-height"), "\(opaque.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mkv", "tiny.png"])
    }

    // MARK: options that break a rule or each other

    @Test(arguments: [
        (["--label-mode", "start"], "GB 45438"),
        (["--label-profile", "cn+eu", "--label-mode", "interval"], "stricter"),
        (["--label-profile", "eu", "--label-mode", "start"], "EU code of practice"),
        (["--label-profile", "eu", "--label-position", "bottom-left"], "top-right"),
        (["--label-profile", "eu", "--label-for", "1"], "2 s"),
        (["--label-profile", "eu", "--label-mode", "continuous", "--label-every", "60"], "--label-every"),
        (["--label-profile", "custom", "--label-for", "3"], "--label-for"),
        (["--label-short"], "--label-short"),
        (["--label-image-text-height", "0.5"], "--label-image"),
        (["--label-image", "/nonexistent.png"], "--label-image"),
        (["--audible-cue", "off", "--cue-text", "AI"], "--cue-text"),
        (["--audible-cue", "morse", "--cue-text", "AI"], "--cue-text"),
    ])
    func conflictingOptionsAreOneLineErrors(args: [String], mentions: String) throws {
        let dir = try TestSupport.temporaryDirectory()
        try TestSupport.makeMedia(dir + "/in.mkv", seconds: 0.2, video: "testsrc2=size=160x120:rate=10", audio: nil)
        let r = try TestSupport.labelcast(["run", "-i", dir + "/in.mkv", "-o", dir + "/out.mkv", "--synthetic", "all"] + args)
        #expect(r.status == 2, "\(r.status): \(r.stderr)")
        #expect(r.errorLines.count == 1 && r.stderr.contains(mentions), "\(r.stderr)")
        #expect(TestSupport.files(in: dir) == ["in.mkv"])
    }

    // MARK: HDR

    /// 10-bit luma (narrow range) of a flat black picture labeled under `transfer`.
    @Test(arguments: [("smpte2084", 573), ("arib-std-b67", 721), ("bt709", 940)])
    func labelWhiteFollowsTheTransfer(transfer: String, expected: Int) throws {
        let dir = try TestSupport.temporaryDirectory()
        let input = dir + "/in.mkv", output = dir + "/out.mkv"
        try TestSupport.makeMedia(input, seconds: 0.3, video: "color=c=black:size=640x360:rate=10", audio: nil,
                                  extra: ["-pix_fmt", "yuv420p10le", "-c:v", "libx264", "-crf", "4", "-preset", "ultrafast",
                                          "-color_trc", transfer, "-colorspace", "bt2020nc", "-color_primaries", "bt2020"])
        let r = try TestSupport.labelcast(["run", "-i", input, "-o", output, "--synthetic", "all", "--crf", "4", "--label-height", "0.1"])
        #expect(r.status == 0, "\(r.stderr)")
        let dec = try TestSupport.run("ffmpeg", ["-v", "error", "-i", output, "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-"])
        // The Y plane as coded (no range conversion): the first 640 × 360 samples.
        let luma = Array(dec.stdout.withUnsafeBytes { Array($0.bindMemory(to: UInt16.self)) }.prefix(640 * 360))
        #expect(luma.count == 640 * 360)
        // The text's brightest samples: the top of a histogram, away from ringing overshoot.
        let bright = luma.filter { $0 > 300 }.sorted()
        #expect(bright.count > 200)
        let median = Int(bright[bright.count * 3 / 4])
        #expect(abs(median - expected) <= 12, "\(transfer): label white \(median), expected \(expected)")
        #expect(try TestSupport.probe(output).first?.pixelFormat == "yuv420p10le")
    }
}
