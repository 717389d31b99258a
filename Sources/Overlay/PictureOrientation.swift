/// How a decoded (coded) picture is turned to be displayed: the stream's display matrix, as a
/// quarter-turn rotation counter-clockwise (ffprobe's `rotation`: a phone's portrait video is
/// typically 90 or 270). Players and ffmpeg's autorotate apply it after decoding.
///
/// The label is drawn on the coded picture, so a label meant to read upright in the top-right
/// corner *as displayed* is laid out in display space and then turned back into coded space:
/// ``codedSprite(_:codedWidth:codedHeight:)``.
public struct PictureOrientation: Sendable, Hashable, CustomStringConvertible {
    /// 0, 90, 180 or 270: degrees counter-clockwise from coded to displayed.
    public let rotation: Int

    /// Any multiple of 90 (negative ones too, as `-90` for ffmpeg's `rotate=-90`); other
    /// angles round to the nearest quarter turn.
    public init(rotation degrees: Int) {
        let quarter = Int((Double(degrees) / 90).rounded())
        rotation = ((quarter % 4) + 4) % 4 * 90
    }

    public static let upright = PictureOrientation(rotation: 0)

    /// Whether display width and height are the coded height and width.
    public var swapsSides: Bool { rotation == 90 || rotation == 270 }

    /// The displayed size of a coded `width` × `height` picture.
    public func displaySize(codedWidth width: Int, codedHeight height: Int) -> (width: Int, height: Int) {
        swapsSides ? (height, width) : (width, height)
    }

    /// Where a coded pixel (x, y) appears on the display, for a coded `w` × `h` picture.
    public func displayPoint(x: Int, y: Int, codedWidth w: Int, codedHeight h: Int) -> (x: Int, y: Int) {
        switch rotation {
        case 90: return (y, w - 1 - x)           // counter-clockwise: the top-left corner goes bottom-left
        case 180: return (w - 1 - x, h - 1 - y)
        case 270: return (h - 1 - y, x)          // clockwise: the top-left corner goes top-right
        default: return (x, y)
        }
    }

    /// `sprite`, laid out on the displayed picture, turned so that drawn on the coded
    /// `codedWidth` × `codedHeight` picture it shows at the same place, upright, once the
    /// player rotates. Even positions and sizes stay even when the coded sides are even.
    public func codedSprite(_ sprite: LabelSprite, codedWidth: Int, codedHeight: Int) -> LabelSprite {
        guard rotation != 0 else { return sprite }
        let dw = sprite.width, dh = sprite.height
        let (cw, ch) = swapsSides ? (dh, dw) : (dw, dh)
        // The coded rectangle: the display rectangle's corners mapped back.
        let x: Int, y: Int
        switch rotation {
        case 90: (x, y) = (codedWidth - sprite.y - dh, sprite.x)
        case 180: (x, y) = (codedWidth - sprite.x - dw, codedHeight - sprite.y - dh)
        default: (x, y) = (sprite.y, codedHeight - sprite.x - dw)  // 270
        }
        var coverage = [UInt8](repeating: 0, count: cw * ch)
        var rgba: [UInt8]? = sprite.rgba.map { [UInt8](repeating: 0, count: $0.count) }
        for j in 0..<ch {
            for i in 0..<cw {
                // Coded (x + i, y + j) on the display, relative to the sprite's display origin.
                let p = displayPoint(x: x + i, y: y + j, codedWidth: codedWidth, codedHeight: codedHeight)
                let src = (p.y - sprite.y) * dw + (p.x - sprite.x)
                let dst = j * cw + i
                coverage[dst] = sprite.textCoverage[src]
                if let from = sprite.rgba {
                    for k in 0..<4 { rgba![4 * dst + k] = from[4 * src + k] }
                }
            }
        }
        return LabelSprite(x: x, y: y, width: cw, height: ch, textCoverage: coverage, boxOpacity: sprite.boxOpacity,
                           lines: sprite.lines, pixelSize: sprite.pixelSize, frameWidth: codedWidth, frameHeight: codedHeight,
                           rgba: rgba)
    }

    public var description: String { rotation == 0 ? "upright" : "rotated \(rotation)° counter-clockwise" }
}
