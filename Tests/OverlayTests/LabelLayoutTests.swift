import Testing
@testable import Overlay

@Suite struct LabelLayoutTests {
    @Test(arguments: [(1280, 720, 36, 14), (1920, 1080, 54, 22), (720, 1280, 36, 14), (160, 90, 5, 2)])
    func glyphHeightIsFivePercentOfShortSide(width: Int, height: Int, glyph: Int, margin: Int) throws {
        let layout = try LabelLayout(frameWidth: width, frameHeight: height, style: LabelStyle())
        #expect(layout.glyphHeight == glyph)
        #expect(layout.margin == margin)
    }

    @Test(arguments: [0.0, 0.01, 0.049, -1, Double.nan, Double.infinity])
    func heightFractionNeverBelowFivePercent(fraction: Double) throws {
        let layout = try LabelLayout(frameWidth: 1280, frameHeight: 720, style: LabelStyle(heightFraction: fraction))
        #expect(layout.glyphHeight >= 36)
        if !fraction.isInfinite { #expect(layout.glyphHeight == 36) }
    }

    @Test func largerFractionIsHonoured() throws {
        let layout = try LabelLayout(frameWidth: 1920, frameHeight: 1080, style: LabelStyle(heightFraction: 0.08))
        #expect(layout.glyphHeight == 87)  // ceil(86.4)
    }

    @Test(arguments: LabelPosition.allCases)
    func originKeepsTheMarginFromTheNearestEdges(position: LabelPosition) throws {
        for (w, h) in commonSizes + [(161, 91)] {
            let layout = try LabelLayout(frameWidth: w, frameHeight: h, style: LabelStyle(position: position))
            let (x, y) = layout.origin(spriteWidth: 100, spriteHeight: 30)
            #expect(x % 2 == 0 && y % 2 == 0)
            let horizontal = position.rawValue.hasSuffix("right") ? w - (x + 100) : x
            let vertical = position.rawValue.hasPrefix("bottom") ? h - (y + 30) : y
            for gap in [horizontal, vertical] {
                #expect(gap >= layout.margin && gap <= layout.margin + 2, "\(w)x\(h) \(position): gap \(gap), margin \(layout.margin)")
            }
        }
    }

    @Test func positionRawValuesMatchTheCommandLine() {
        #expect(LabelPosition.allCases.map(\.rawValue) == ["top-right", "top-left", "bottom-right", "bottom-left"])
        #expect(LabelStyle().position == .topRight)
        #expect(LabelStyle().text == "AI生成 · AI-generated")
        #expect(LabelStyle().heightFraction == 0.05)
    }

    @Test func frameWithoutPixelsIsAnError() {
        #expect(throws: OverlayError.self) { try LabelLayout(frameWidth: 0, frameHeight: 720, style: LabelStyle()) }
    }
}
