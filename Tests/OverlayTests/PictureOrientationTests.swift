import Testing
@testable import Overlay

/// The label is laid out on the displayed picture and drawn on the coded one: the turned
/// sprite must land where the player's rotation brings it back to the display's corner.
@Suite struct PictureOrientationTests {
    /// A 4 × 2 sprite at (2, 2) of an 8 × 6 display, every pixel distinct (so a wrong turn or a
    /// mirror shows): value = 10 × row + column + 1.
    static let display = LabelSprite(x: 2, y: 2, width: 4, height: 2, textCoverage: [1, 2, 3, 4, 11, 12, 13, 14],
                                     frameWidth: 8, frameHeight: 6)

    @Test func normalisesAngles() {
        #expect(PictureOrientation(rotation: -90).rotation == 270)
        #expect(PictureOrientation(rotation: 450).rotation == 90)
        #expect(PictureOrientation(rotation: -180).rotation == 180)
        #expect(PictureOrientation(rotation: 0) == .upright)
    }

    // Expected coded rectangles and the coded position (in the sprite) of the display sprite's
    // top-left pixel (1) and bottom-right one (14), worked out by hand: turned 90°
    // counter-clockwise, the coded top-right corner shows top-left; turned clockwise (270°),
    // the coded bottom-left corner does.
    @Test(arguments: [
        (90, (2, 2, 2, 4), (1, 0), (0, 3)),    // coded 6 × 8: x = 6 - 2 - 2
        (270, (2, 2, 2, 4), (0, 3), (1, 0)),   // y = 8 - 2 - 4
        (180, (2, 2, 4, 2), (3, 1), (0, 0)),   // coded 8 × 6: x = 8 - 2 - 4, y = 6 - 2 - 2
    ] as [(Int, (Int, Int, Int, Int), (Int, Int), (Int, Int))])
    func turnsTheSpriteBackOntoTheCodedPicture(rotation: Int, rect: (Int, Int, Int, Int), first: (Int, Int), last: (Int, Int)) {
        let o = PictureOrientation(rotation: rotation)
        let coded: (Int, Int) = o.swapsSides ? (6, 8) : (8, 6)
        let s = o.codedSprite(Self.display, codedWidth: coded.0, codedHeight: coded.1)
        let got: [Int] = [s.x, s.y, s.width, s.height]
        let want: [Int] = [rect.0, rect.1, rect.2, rect.3]
        #expect(got == want, "\(rotation) degrees: \(got)")
        #expect(s.frameWidth == coded.0 && s.frameHeight == coded.1)
        let firstValue: UInt8 = s.textCoverage[first.1 * s.width + first.0]
        let lastValue: UInt8 = s.textCoverage[last.1 * s.width + last.0]
        #expect(firstValue == 1, "\(rotation) degrees: \(s.textCoverage)")
        #expect(lastValue == 14, "\(rotation) degrees: \(s.textCoverage)")
        // Shown again (each coded pixel at its display point), the sprite is the display one.
        for j in 0..<s.height {
            for i in 0..<s.width {
                let p = o.displayPoint(x: s.x + i, y: s.y + j, codedWidth: coded.0, codedHeight: coded.1)
                let shown: UInt8 = Self.display.textCoverage[(p.y - 2) * 4 + (p.x - 2)]
                let drawn: UInt8 = s.textCoverage[j * s.width + i]
                #expect(shown == drawn)
            }
        }
    }

    @Test func uprightLeavesTheSpriteAlone() {
        #expect(PictureOrientation.upright.codedSprite(Self.display, codedWidth: 8, codedHeight: 6) == Self.display)
    }
}

extension PictureOrientationTests {
    /// An image badge's colours turn with its alpha: each RGBA pixel follows its coverage.
    @Test func badgeColoursTurnWithTheirAlpha() {
        let rgba: [UInt8] = (0..<8).flatMap { i -> [UInt8] in [UInt8(i), UInt8(100 + i), UInt8(200 + i), Self.display.textCoverage[i]] }
        let badge = LabelSprite(x: 2, y: 2, width: 4, height: 2, textCoverage: Self.display.textCoverage,
                                frameWidth: 8, frameHeight: 6, rgba: rgba)
        let s = PictureOrientation(rotation: 270).codedSprite(badge, codedWidth: 6, codedHeight: 8)
        let turned = try! #require(s.rgba)
        for i in 0..<(s.width * s.height) {
            let source = Int(turned[4 * i])  // the display pixel it came from
            #expect(turned[4 * i + 1] == UInt8(100 + source) && turned[4 * i + 3] == s.textCoverage[i])
            #expect(Self.display.textCoverage[source] == s.textCoverage[i])
        }
    }
}
