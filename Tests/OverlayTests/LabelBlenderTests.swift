import Testing
@testable import Overlay

/// A preset with the values its range and depth put on white text, black box and neutral chroma.
struct LayoutCase: Sendable, CustomStringConvertible {
    let name: String
    let layout: PixelLayout
    let white: Int
    let black: Int
    let neutral: Int
    var description: String { name }

    static let all: [LayoutCase] = [
        LayoutCase(name: "yuv420p", layout: .yuv420p, white: 235, black: 16, neutral: 128),
        LayoutCase(name: "yuvj420p", layout: .yuvj420p, white: 255, black: 0, neutral: 128),
        LayoutCase(name: "yuv422p", layout: .yuv422p, white: 235, black: 16, neutral: 128),
        LayoutCase(name: "yuv444p", layout: .yuv444p, white: 235, black: 16, neutral: 128),
        LayoutCase(name: "nv12", layout: .nv12, white: 235, black: 16, neutral: 128),
        LayoutCase(name: "yuv420p10le", layout: .yuv420p10le, white: 940, black: 64, neutral: 512),
        LayoutCase(name: "yuv422p10le", layout: .yuv422p10le, white: 940, black: 64, neutral: 512),
        LayoutCase(name: "yuv444p10le", layout: .yuv444p10le, white: 940, black: 64, neutral: 512),
        LayoutCase(name: "p010le", layout: .p010le, white: 940, black: 64, neutral: 512),
    ]
}

@Suite struct LabelBlenderTests {
    /// 64×32 at (100, 40) on a 322×182 frame (odd chroma edge): left half solid text, right half box only.
    static func halfTextSprite() -> LabelSprite {
        let coverage = (0..<32).flatMap { _ in Array(repeating: UInt8(255), count: 32) + Array(repeating: UInt8(0), count: 32) }
        return LabelSprite(x: 100, y: 40, width: 64, height: 32, textCoverage: coverage, frameWidth: 322, frameHeight: 182)
    }

    @Test(arguments: LayoutCase.all)
    func blendsInsideTheRectangleAndNothingElse(c: LayoutCase) throws {
        let sprite = Self.halfTextSprite()
        let frame = TestFrame(c.layout, width: 322, height: 182, seed: UInt64(c.name.utf8.count))
        let before = frame.bytes
        let beforeValues = TestFrame.values(frame)
        try frame.blend(LabelBlender(sprite: sprite, pixelLayout: c.layout))
        let after = frame.bytes
        let bps = c.layout.bytesPerSample
        let maxValue = (1 << c.layout.bitDepth) - 1
        let box = sprite.boxOpacity

        for plane in 0..<c.layout.planeCount {
            var changedInside = 0
            var problems: [String] = []  // collected, so a broken blend reports a few lines, not thousands
            for row in 0..<frame.planeRows[plane] {
                for byte in 0..<frame.linesizes[plane] {
                    let sample = byte / bps
                    let inRect = sample < frame.planeSamples[plane]
                        && frame.inside(plane, sample, row, x: sprite.x, y: sprite.y, width: sprite.width, height: sprite.height)
                    let offset = row * frame.linesizes[plane] + byte
                    if !inRect {
                        if after[plane][offset] != before[plane][offset] { problems.append("byte \(byte) row \(row) changed outside the label") }
                        continue
                    }
                    guard byte % bps == 0 else { continue }
                    if after[plane][offset] != before[plane][offset] { changedInside += 1 }
                    let value = frame.value(plane, sample, row)
                    if value > maxValue { problems.append("(\(sample), \(row)) = \(value) exceeds \(c.layout.bitDepth) bits") }
                    if c.layout.msbAligned, frame.raw(plane, sample, row) & 0x3F != 0 { problems.append("(\(sample), \(row)) low bits set") }
                    let input = min(beforeValues[plane][row][sample], maxValue)
                    // Which half of the sprite this sample shows: solid text or bare box.
                    let lumaX = plane == 0 ? sample : (sample / (c.layout.semiPlanar ? 2 : 1)) << c.layout.chromaShiftX
                    let isText = lumaX - sprite.x < 32
                    let target = plane == 0 ? (isText ? c.white : c.black) : c.neutral
                    let expected = isText ? Double(target) : Double(input) * (1 - box) + Double(target) * box
                    if abs(Double(value) - expected) > 1 { problems.append("(\(sample), \(row)): \(input) → \(value), expected \(expected)") }
                    if plane > 0, abs(value - c.neutral) > abs(input - c.neutral) + 1 { problems.append("(\(sample), \(row)) chroma moved away from neutral") }
                }
            }
            #expect(problems.isEmpty, "\(c) plane \(plane): \(problems.count) problems, first: \(problems.prefix(3))")
            #expect(changedInside > 0, "\(c) plane \(plane) untouched")
        }
    }

    @Test(arguments: LayoutCase.all)
    func boxDarkensAndTextIsWhite(c: LayoutCase) throws {
        let sprite = Self.halfTextSprite()
        let frame = TestFrame(c.layout, width: 322, height: 182)
        let grey = 160 << (c.layout.bitDepth - 8)
        frame.fill(luma: grey, chroma: c.neutral + (40 << (c.layout.bitDepth - 8)))
        try frame.blend(LabelBlender(sprite: sprite, pixelLayout: c.layout))
        #expect(frame.value(0, sprite.x + 4, sprite.y + 4) == c.white)
        #expect(frame.value(0, sprite.x + 50, sprite.y + 4) < grey)
        #expect(frame.value(0, sprite.x - 1, sprite.y + 4) == grey)
        let chromaX = ((sprite.x + 50) >> c.layout.chromaShiftX) * (c.layout.semiPlanar ? 2 : 1)
        let chroma = frame.value(1, chromaX, (sprite.y + 4) >> c.layout.chromaShiftY)
        #expect(chroma < c.neutral + (40 << (c.layout.bitDepth - 8)) && chroma > c.neutral)
    }

    @Test func fullRangeWhiteDiffersFromLimited() throws {
        let sprite = Self.halfTextSprite()
        var whites: [Int] = []
        for layout in [PixelLayout.yuv420p, .yuvj420p] {
            let frame = TestFrame(layout, width: 322, height: 182)
            try frame.blend(LabelBlender(sprite: sprite, pixelLayout: layout))
            whites.append(frame.value(0, sprite.x, sprite.y))
        }
        #expect(whites == [235, 255])
    }

    @Test func chromaAlphaIsTheAverageCoverageOfItsLumaPixels() throws {
        // One 2×2 block with one fully covered luma pixel of four: chroma keeps about
        // (3 × 0.4 + 0) / 4 = 0.3 of its distance from neutral.
        var coverage = [UInt8](repeating: 0, count: 4 * 4)
        coverage[0] = 255
        let sprite = LabelSprite(x: 8, y: 8, width: 4, height: 4, textCoverage: coverage, frameWidth: 32, frameHeight: 32)
        let frame = TestFrame(.yuv420p, width: 32, height: 32)
        frame.fill(luma: 100, chroma: 228)
        try frame.blend(LabelBlender(sprite: sprite, pixelLayout: .yuv420p))
        #expect(abs(frame.value(1, 4, 4) - 158) <= 1)  // 128 + 100 × 0.3
        #expect(abs(frame.value(1, 5, 4) - 168) <= 1)  // 128 + 100 × 0.4, box only
    }

    @Test func rejectsFramesItWasNotMadeFor() throws {
        let blender = try LabelBlender(sprite: Self.halfTextSprite(), pixelLayout: .yuv420p)
        let frame = TestFrame(.yuv420p, width: 322, height: 182)
        let before = frame.bytes
        #expect(throws: OverlayError.self) { try blender.blend(planes: frame.pointers, linesizes: frame.linesizes, width: 320, height: 182) }
        #expect(throws: OverlayError.self) { try blender.blend(planes: Array(frame.pointers.prefix(2)), linesizes: frame.linesizes, width: 322, height: 182) }
        #expect(throws: OverlayError.self) { try blender.blend(planes: frame.pointers, linesizes: [100, 161, 161], width: 322, height: 182) }
        #expect(frame.bytes == before)
    }

    @Test func rejectsUnsupportedLayoutsAndMisalignedSprites() {
        #expect { try LabelBlender(sprite: Self.halfTextSprite(), pixelLayout: PixelLayout(chromaShiftX: 2, chromaShiftY: 0)) } throws: {
            ($0 as? OverlayError)?.kind == .unsupportedPixelLayout
        }
        let odd = LabelSprite(x: 101, y: 40, width: 4, height: 4, textCoverage: Array(repeating: 0, count: 16), frameWidth: 322, frameHeight: 182)
        #expect { try LabelBlender(sprite: odd, pixelLayout: .yuv420p) } throws: { ($0 as? OverlayError)?.kind == .invalidFrame }
        #expect((try? LabelBlender(sprite: odd, pixelLayout: .yuv444p)) != nil)
    }

    @Test func negativeLineSizeBlendsABottomUpFrame() throws {
        let sprite = Self.halfTextSprite()
        let frame = TestFrame(.yuv444p, width: 322, height: 182)
        frame.fill(luma: 100, chroma: 128)
        // Row 0 of the bottom-up view is the buffer's last row.
        let planes = zip(frame.pointers, zip(frame.linesizes, frame.planeRows)).map { $0 + $1.0 * ($1.1 - 1) }
        try LabelBlender(sprite: sprite, pixelLayout: .yuv444p).blend(planes: planes, linesizes: frame.linesizes.map { -$0 }, width: 322, height: 182)
        #expect(frame.value(0, sprite.x, 181 - sprite.y) == 235)
        #expect(frame.value(0, sprite.x, sprite.y) == 100)
    }
}

extension TestFrame {
    /// Every sample's value before blending, per plane, row and sample.
    static func values(_ frame: TestFrame) -> [[[Int]]] {
        (0..<frame.layout.planeCount).map { plane in
            (0..<frame.planeRows[plane]).map { row in (0..<frame.planeSamples[plane]).map { frame.value(plane, $0, row) } }
        }
    }
}
