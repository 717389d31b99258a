import Testing
@testable import Overlay

@Suite struct LabelPainterTests {
    /// Through the whole chain: the white rows a checker finds on the frame reach 5% of the short side.
    @Test(arguments: [PixelLayout.yuv420p, .nv12, .p010le])
    func paintedCapitalsAreTallEnough(layout: PixelLayout) throws {
        let painter = try LabelPainter(style: LabelStyle(text: "AI"))
        for (w, h) in commonSizes {
            let frame = TestFrame(layout, width: w, height: h)
            let black = 16 << (layout.bitDepth - 8)
            frame.fill(luma: black, chroma: 128 << (layout.bitDepth - 8))
            try frame.paint(painter)
            let white = 235 << (layout.bitDepth - 8)
            // Where the label should be; a sprite drawn elsewhere leaves these rows dark and fails.
            let sprite = try painter.prepare(width: w, height: h)
            let rows = (0..<h).filter { y in (sprite.x..<sprite.x + sprite.width).contains { frame.value(0, $0, y) >= (white + black) / 2 } }
            let height = (rows.last ?? 0) - (rows.first ?? 0) + 1
            #expect(Double(height) >= 0.05 * Double(min(w, h)), "\(w)x\(h): \(height) rows of ink")
        }
    }

    @Test func resolutionChangeRelaysOutAndTouchesOnlyTheLabel() throws {
        let painter = try LabelPainter(style: LabelStyle(position: .bottomLeft))
        for (w, h) in commonSizes + [(1280, 720)] {
            let sprite = try painter.prepare(width: w, height: h)
            #expect(sprite.frameWidth == w && sprite.frameHeight == h)
            #expect(sprite.x < w / 2 && sprite.y > h / 2)
            let frame = TestFrame(.yuv420p, width: w, height: h, seed: UInt64(w))
            let before = frame.bytes
            try frame.paint(painter)
            let after = frame.bytes
            for row in 0..<h {
                let inRows = row >= sprite.y && row < sprite.y + sprite.height
                let start = row * frame.linesizes[0]
                if inRows {
                    #expect(after[0][start..<start + sprite.x] == before[0][start..<start + sprite.x])
                    let end = start + sprite.x + sprite.width
                    #expect(after[0][end..<start + frame.linesizes[0]] == before[0][end..<start + frame.linesizes[0]])
                } else {
                    #expect(after[0][start..<start + frame.linesizes[0]] == before[0][start..<start + frame.linesizes[0]])
                }
            }
        }
    }

    @Test func labelThatCannotFitFailsEveryFrameAndLeavesItAlone() throws {
        let painter = try LabelPainter(style: LabelStyle(text: String(repeating: "W", count: 40)))
        let frame = TestFrame(.yuv420p, width: 640, height: 360)
        let before = frame.bytes
        for _ in 0..<2 {
            #expect { try frame.paint(painter) } throws: { ($0 as? OverlayError)?.kind == .labelDoesNotFit }
        }
        #expect(frame.bytes == before)
        // The same text fits a frame wide enough for it: the failure belongs to the size, not the painter.
        #expect(try painter.prepare(width: 4000, height: 360).lines.count == 1)
    }

    @Test func startUpFailsOnAMissingGlyph() {
        #expect { try LabelPainter(style: LabelStyle(text: "AI生成\u{E000}")) } throws: {
            ($0 as? OverlayError)?.kind == .uncoveredCharacter && "\($0)".contains("U+E000")
        }
    }
}
