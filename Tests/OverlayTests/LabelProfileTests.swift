import Foundation
import Testing
@testable import Overlay

/// Profiles, timing and the label's levels on HDR pictures, checked on values (the pixels of
/// whole runs are in EndToEndTests/LabelProfileTests).
@Suite struct LabelProfileTests {
    @Test func timingByMode() {
        let c = LabelTiming.continuous
        #expect(c.required(secondsIntoSegment: 0) && c.required(secondsIntoSegment: 1000))
        let start = LabelTiming(mode: .start, showFor: 3)
        #expect(start.required(secondsIntoSegment: 2.99) && !start.required(secondsIntoSegment: 3))
        let interval = LabelTiming(mode: .interval, every: 300, showFor: 5)
        for (t, on) in [(0.0, true), (4.99, true), (5.0, false), (299.9, false), (300.0, true), (304.9, true), (305.0, false), (600.0, true)] {
            #expect(interval.required(secondsIntoSegment: t) == on, "t = \(t)")
        }
        // GB 45438's 2 s at the start hold past the segment's end; reminders do not.
        #expect(interval.shows(secondsIntoSegment: 1.5, inSegment: false))
        #expect(!interval.shows(secondsIntoSegment: 301, inSegment: false))
    }

    @Test func defaultsPerProfile() {
        #expect(LabelProfile.cn.style() == LabelStyle())
        let eu = LabelProfile.eu.style()
        #expect(eu.text == "AI GENERATED" && eu.timing.mode == .interval && eu.timing.every == 300 && eu.timing.showFor == 5)
        #expect(LabelProfile.eu.style(kind: .modified).text == "AI MODIFIED")
        #expect(LabelProfile.eu.style(short: true).text == "AI")
        let both = LabelProfile.cnEU.style()
        #expect(both.text == "AI生成 · AI GENERATED" && both.timing.mode == .continuous && both.look == .euIcon)
    }

    @Test(arguments: [
        (LabelProfile.cn, LabelStyle(timing: LabelTiming(mode: .start)), "GB 45438"),
        (.cnEU, LabelStyle(text: "AI生成 · AI", timing: LabelTiming(mode: .interval)), "stricter"),
        (.eu, LabelStyle(text: "AI", timing: LabelTiming(mode: .start)), "EU code of practice"),
        (.eu, LabelStyle(text: "AI", position: .bottomLeft, timing: LabelTiming(mode: .interval)), "top-right"),
        (.eu, LabelStyle(text: "synthetic", timing: LabelTiming(mode: .interval)), "\"AI\""),
        (.cnEU, LabelStyle(text: "AI GENERATED"), "Chinese"),
        (.custom, LabelStyle(timing: LabelTiming(mode: .start, showFor: 1)), "2 s"),
        (.custom, LabelStyle(timing: LabelTiming(mode: .interval, every: 4, showFor: 5)), "--label-every"),
    ])
    func rulesRefuseWhatBreaksThem(profile: LabelProfile, style: LabelStyle, mentions: String) {
        #expect {
            try profile.check(style)
        } throws: { error in
            let e = error as? OverlayError
            return e?.kind == .ruleViolation && e!.message.contains(mentions) && !e!.message.contains("\n")
        }
    }

    @Test func profilesAcceptTheirDefaults() throws {
        for p in LabelProfile.allCases { try p.check(p.style()) }
        try LabelProfile.custom.check(LabelStyle(timing: LabelTiming(mode: .start)))
    }

    @Test func referenceWhiteOnHDR() {
        // BT.2408: 203 cd/m² is PQ code 0.58 and HLG 75%.
        #expect(abs(PictureColour(transfer: .pq).whiteSignal - 0.5807) < 0.001)
        #expect(PictureColour(transfer: .hlg).whiteSignal == 0.75)
        let hlgWhite = PictureColour(transfer: .hlg, matrix: .bt2020).signal(sRGB: 1, 1, 1)
        #expect(abs(hlgWhite.0 - 0.75) < 0.001 && abs(hlgWhite.2 - 0.75) < 0.001)
        let pqWhite = PictureColour(transfer: .pq, matrix: .bt2020).signal(sRGB: 1, 1, 1)
        #expect(abs(pqWhite.1 - 0.5807) < 0.001)
    }

    @Test(arguments: [(PictureTransfer.sdr, 940), (.pq, 573), (.hlg, 721)])
    func solidTextBlendsToTheTransfersWhite(transfer: PictureTransfer, expected: Int) throws {
        // A fully covered, fully opaque 10-bit narrow-range sprite on black: luma = white level.
        let sprite = LabelSprite(x: 0, y: 0, width: 4, height: 2, textCoverage: [UInt8](repeating: 255, count: 8),
                                 boxOpacity: 1, frameWidth: 4, frameHeight: 2)
        let blender = try LabelBlender(sprite: sprite, pixelLayout: .yuv420p10le, colour: PictureColour(transfer: transfer, matrix: .bt2020))
        var y = [UInt16](repeating: 64, count: 8), u = [UInt16](repeating: 512, count: 2), v = [UInt16](repeating: 512, count: 2)
        try y.withUnsafeMutableBytes { yp in
            try u.withUnsafeMutableBytes { up in
                try v.withUnsafeMutableBytes { vp in
                    try blender.blend(planes: [yp.baseAddress!.assumingMemoryBound(to: UInt8.self), up.baseAddress!.assumingMemoryBound(to: UInt8.self),
                                               vp.baseAddress!.assumingMemoryBound(to: UInt8.self)],
                                      linesizes: [8, 4, 4], width: 4, height: 2)
                }
            }
        }
        #expect(y.allSatisfy { abs(Int($0) - expected) <= 1 }, "\(y)")
        #expect(u == [512, 512] && v == [512, 512])
    }

    @Test func svgBadgeScalesToTheTextMinimum() throws {
        let dir = NSTemporaryDirectory() + "badge-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let path = dir + "/badge.svg"
        // Transparent above and below a band of 20 of the 40 rows: measured text height 50%.
        try ##"<svg xmlns="http://www.w3.org/2000/svg" width="100" height="40"><rect x="0" y="10" width="100" height="20" fill="#fff"/></svg>"##
            .write(toFile: path, atomically: true, encoding: .utf8)
        let badge = try BadgeRenderer(image: LabelImage(path: path))
        #expect(abs(badge.textHeightFraction - 0.5) < 0.03)
        let layout = try LabelLayout(frameWidth: 1280, frameHeight: 720, style: LabelStyle())
        let sprite = try badge.sprite(for: layout)
        // 720p: text ≥ 36 px, so the badge is at least 72 px tall, 2.5:1, top-right.
        #expect(sprite.height >= 72 && abs(Double(sprite.width) / Double(sprite.height) - 2.5) < 0.05, "\(sprite.width)x\(sprite.height)")
        #expect(sprite.x + sprite.width <= 1280 - layout.margin + 1 && sprite.y >= layout.margin)
        let opaqueRows = (0..<sprite.height).filter { y in (0..<sprite.width).contains { sprite.textCoverage[y * sprite.width + $0] >= 128 } }
        #expect(opaqueRows.count >= 36, "\(opaqueRows.count) opaque rows")
        // Stated text height 1% of the image: the badge would be 50 times the text, larger than the frame.
        let tiny = try BadgeRenderer(image: LabelImage(path: path, textHeightFraction: 0.01))
        #expect { try tiny.sprite(for: layout) } throws: { ($0 as? OverlayError)?.kind == .badgeTooSmall }
    }
}
