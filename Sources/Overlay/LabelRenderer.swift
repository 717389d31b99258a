import CFreeType
import Foundation

/// Draws one label text with FreeType into ``LabelSprite``s, one per frame size.
///
/// Fonts are chosen at init (start-up): a character that no font covers is an error then, never
/// a tofu box later. Glyphs are rasterized once per pixel size and cached.
/// Thread-safety: safe from any thread (FreeType calls are serialized by an internal lock);
/// meant to be driven from the video lane's one queue.
public final class LabelRenderer: @unchecked Sendable {
    public let text: String
    /// The font files drawing the text, in order of first use ("path" or "path#faceIndex").
    public let fontFiles: [String]

    private let lock = NSLock()
    private let library: FT_Library
    private let fonts: FontSet
    private let units: [WordUnit]
    /// Groups whose ink height must reach the target: the text's capitals, its ideographs.
    private let referenceGroups: [[TextItem]]
    private var faceSizes: [Int]
    private var glyphCache: [GlyphKey: GlyphImage] = [:]
    private var pixelSizes: [Int: Int] = [:]  // target glyph height → pixel size

    /// Resolves fonts for `text` and opens them.
    /// - Parameter fontFile: drawn with first; characters it lacks fall back to fontconfig.
    /// - Throws: ``OverlayError`` `.uncoveredCharacter` (naming the character and its U+ code point),
    ///   `.fontUnreadable`, `.emptyText`, `.fontEngine`.
    public init(text: String, fontFile: String? = nil) throws {
        self.text = text
        let scalars = TextItem.classify(text)
        var required: [Unicode.Scalar] = []
        var optional: [Unicode.Scalar] = []
        var seen = Set<Unicode.Scalar>()
        for (scalar, kind) in scalars where seen.insert(scalar).inserted {
            switch kind {
            case .glyph: required.append(scalar)
            case .space: optional.append(scalar)
            case .newline: break
            }
        }
        guard !required.isEmpty else { throw OverlayError.emptyText }
        let hasReference = required.contains { $0.properties.isUppercase || $0.properties.isIdeographic }
        if !hasReference { optional.append("H") }  // a lowercase text is sized by its font's capitals

        var library: FT_Library?
        guard FT_Init_FreeType(&library) == 0, let library else { throw OverlayError.fontEngine("FreeType failed to start") }
        let fonts: FontSet
        do {
            fonts = try FontSet.resolve(required: required, optional: optional, fontFile: fontFile, library: library)
        } catch {
            FT_Done_FreeType(library)
            throw error
        }
        self.library = library
        self.fonts = fonts
        faceSizes = Array(repeating: 0, count: fonts.faces.count)

        let items = scalars.map { scalar, kind in
            TextItem(scalar: scalar, kind: kind, glyph: fonts.glyphs[scalar])
        }
        units = WordUnit.split(items)
        let capitals = items.filter { $0.kind == .glyph && $0.scalar.properties.isUppercase }
        let ideographs = items.filter { $0.kind == .glyph && $0.scalar.properties.isIdeographic }
        var groups = [capitals, ideographs].filter { !$0.isEmpty }
        if groups.isEmpty, let h = fonts.glyphs["H"] {
            groups = [[TextItem(scalar: "H", kind: .glyph, glyph: h)]]
        }
        if groups.isEmpty { groups = [items.filter { $0.kind == .glyph }] }
        referenceGroups = groups
        let used = Set(fonts.glyphs.values.map(\.face))
        fontFiles = fonts.names.indices.filter(used.contains).map { fonts.names[$0] }
    }

    /// Renderer for a style's text and font.
    public convenience init(style: LabelStyle) throws {
        try self.init(text: style.text, fontFile: style.fontFile)
    }

    deinit {
        fonts.close()
        FT_Done_FreeType(library)
    }

    /// Lays out and rasterizes the label for `layout`'s frame: picks the pixel size whose ink
    /// height of capitals / ideographs reaches `layout.glyphHeight`, wraps the text to the
    /// frame's width and places the box in the layout's corner.
    /// Costs a few milliseconds on a new size (glyphs are cached per pixel size); call once per
    /// frame size, not per frame.
    /// - Throws: ``OverlayError/Kind/labelDoesNotFit`` when a word or the lines do not fit.
    public func sprite(for layout: LabelLayout) throws -> LabelSprite {
        try lock.withLock { try makeSprite(for: layout) }
    }

    /// The FreeType pixel size chosen for a target ink height (exposed for tests and logs).
    public func pixelSize(forGlyphHeight target: Int) throws -> Int {
        try lock.withLock { try pixelSizeLocked(forGlyphHeight: target) }
    }

    /// Ink height in pixels (rows at least half covered, aligned on the baseline) that the
    /// reference glyphs reach at the pixel size chosen for `target`: what a checker measuring
    /// capitals or ideographs sees.
    public func inkHeight(forGlyphHeight target: Int) throws -> Int {
        try lock.withLock { try inkHeight(atPixelSize: pixelSizeLocked(forGlyphHeight: target)) }
    }

    // MARK: - Sizing

    private func pixelSizeLocked(forGlyphHeight target: Int) throws -> Int {
        if let known = pixelSizes[target] { return known }
        // Estimate from the ink/em ratio, then step to the smallest size that reaches the target:
        // hinting snaps heights to whole pixels, so the ratio alone can be off by one.
        let probe = max(8, target)
        let probeInk = try inkHeight(atPixelSize: probe)
        var size = max(1, Int((Double(target) * Double(probe) / Double(max(1, probeInk))).rounded(.down)))
        let limit = 8 * target + 64
        while try inkHeight(atPixelSize: size) < target {
            size += 1
            guard size <= limit else { throw OverlayError.fontEngine("no pixel size gives \(target) px of ink height") }
        }
        while size > 1, try inkHeight(atPixelSize: size - 1) >= target { size -= 1 }
        pixelSizes[target] = size
        return size
    }

    private func inkHeight(atPixelSize size: Int) throws -> Int {
        var smallest = Int.max
        for group in referenceGroups {
            var top = Int.min
            var bottom = Int.max
            for item in group {
                guard let ink = try image(item, size: size)?.inkRows else { continue }
                top = max(top, ink.top)
                bottom = min(bottom, ink.bottom)
            }
            if top > bottom { smallest = min(smallest, top - bottom) }
        }
        return smallest == .max ? 0 : smallest
    }

    // MARK: - Glyphs

    private func image(_ item: TextItem, size: Int) throws -> GlyphImage? {
        guard let (face, glyph) = item.glyph else { return nil }
        let key = GlyphKey(face: face, glyph: glyph, size: size)
        if let cached = glyphCache[key] { return cached }
        let ftFace = fonts.faces[face]
        if faceSizes[face] != size {
            guard FT_Set_Pixel_Sizes(ftFace, 0, FT_UInt(size)) == 0 else {
                throw OverlayError.fontEngine("\(fonts.names[face]) cannot be scaled to \(size) px")
            }
            faceSizes[face] = size
        }
        // Outlines only (embedded bitmaps are 1-bit, jagged); light hinting snaps heights to the
        // pixel grid for crisp horizontals without distorting widths.
        let flags = Int32(FT_LOAD_NO_BITMAP) | labelcast_ft_load_target_light()
        guard FT_Load_Glyph(ftFace, FT_UInt(glyph), flags) == 0,
            let slot = ftFace.pointee.glyph,
            FT_Render_Glyph(slot, FT_RENDER_MODE_NORMAL) == 0
        else {
            throw OverlayError.fontEngine("\(fonts.names[face]) cannot draw \(item.scalar.codePointString)")
        }
        let bitmap = slot.pointee.bitmap
        let width = Int(bitmap.width)
        let rows = Int(bitmap.rows)
        var pixels = [UInt8](repeating: 0, count: width * rows)
        if width > 0, rows > 0, let buffer = bitmap.buffer {
            guard bitmap.pixel_mode == UInt8(FT_PIXEL_MODE_GRAY.rawValue) else {
                throw OverlayError.fontEngine("\(fonts.names[face]) gave a non-grey bitmap for \(item.scalar.codePointString)")
            }
            let pitch = Int(bitmap.pitch)
            let rowStart = pitch < 0 ? -pitch * (rows - 1) : 0
            for row in 0..<rows {
                for col in 0..<width {
                    pixels[row * width + col] = buffer[rowStart + row * pitch + col]
                }
            }
        }
        let advance = Double(slot.pointee.linearHoriAdvance) / 65536
        let image = GlyphImage(
            width: width, rows: rows, left: Int(slot.pointee.bitmap_left), top: Int(slot.pointee.bitmap_top),
            advance: advance, pixels: pixels)
        if glyphCache.count > 4096 { glyphCache.removeAll(keepingCapacity: true) }
        glyphCache[key] = image
        return image
    }

    private func kerning(_ left: TextItem, _ right: TextItem) -> Double {
        guard let (lf, lg) = left.glyph, let (rf, rg) = right.glyph, lf == rf,
            labelcast_ft_has_kerning(fonts.faces[lf]) != 0
        else { return 0 }
        var delta = FT_Vector()
        guard FT_Get_Kerning(fonts.faces[lf], FT_UInt(lg), FT_UInt(rg), FT_UInt(FT_KERNING_UNFITTED.rawValue), &delta) == 0 else {
            return 0
        }
        return Double(delta.x) / 64
    }

    /// Places `items` on one baseline from pen position 0: advances, kerning, whole-pixel glyph origins.
    private func place(_ items: [TextItem], size: Int) throws -> PlacedLine {
        var line = PlacedLine()
        var pen = 0.0
        var previous: TextItem?
        for item in items {
            if let previous { pen += kerning(previous, item) }
            if let image = try image(item, size: size) {
                let x = Int(pen.rounded())
                if image.width > 0, image.rows > 0 {
                    line.glyphs.append((x, image))
                    line.minX = min(line.minX, x + image.left)
                    line.maxX = max(line.maxX, x + image.left + image.width)
                }
                pen += image.advance
            } else {
                // A space no font covers: an ideographic space is one em, others about a third.
                pen += Double(size) * (item.scalar == "\u{3000}" ? 1 : 0.3)
            }
            previous = item
        }
        line.maxX = max(line.maxX, Int(pen.rounded(.up)))
        return line
    }

    // MARK: - Layout

    private func makeSprite(for layout: LabelLayout) throws -> LabelSprite {
        let size = try pixelSizeLocked(forGlyphHeight: layout.renderedGlyphHeight)
        let maxTextWidth = layout.maxSpriteWidth - 2 * (layout.paddingX + layout.outlineWidth)

        // Greedy wrapping: a unit joins the line when the line with it still fits.
        var lines: [[TextItem]] = []
        var current: [TextItem] = []
        for unit in units {
            if !current.isEmpty, !unit.forcedBreak {
                let candidate = current + unit.leadingSpaces + unit.glyphs
                if try place(candidate, size: size).width <= maxTextWidth {
                    current = candidate
                    continue
                }
            }
            if !current.isEmpty { lines.append(current) }
            let alone = try place(unit.glyphs, size: size).width
            guard alone <= maxTextWidth else {
                throw OverlayError.wordTooWide(
                    unit.glyphs.text, needs: alone + 2 * layout.paddingX, available: layout.maxSpriteWidth,
                    frameWidth: layout.frameWidth, frameHeight: layout.frameHeight, canShrink: layout.canShrinkHeight)
            }
            current = unit.glyphs
        }
        if !current.isEmpty { lines.append(current) }

        let placed = try lines.map { try place($0, size: size) }
        // One line height for all lines, from the ink of every glyph of the text, so the box is
        // tight and wrapped lines are evenly spaced.
        var ascent = 0
        var descent = 0
        for line in placed {
            for (_, image) in line.glyphs {
                ascent = max(ascent, image.top)
                descent = max(descent, image.rows - image.top)
            }
        }
        let lineHeight = ascent + descent
        let blockHeight = lines.count * lineHeight + (lines.count - 1) * layout.lineGap
        let textWidth = placed.map(\.width).max() ?? 0
        let width = (textWidth + 2 * (layout.paddingX + layout.outlineWidth) + 1) & ~1
        let height = (blockHeight + 2 * (layout.paddingY + layout.outlineWidth) + 1) & ~1
        guard height <= layout.maxSpriteHeight else {
            throw OverlayError.tooManyLines(
                lines.count, needs: height, available: layout.maxSpriteHeight, frameWidth: layout.frameWidth,
                frameHeight: layout.frameHeight, canShrink: layout.canShrinkHeight)
        }

        var coverage = [UInt8](repeating: 0, count: width * height)
        let top = (height - blockHeight) / 2
        for (index, line) in placed.enumerated() {
            let baseline = top + ascent + index * (lineHeight + layout.lineGap)
            let left = (width - line.width) / 2 - line.minX  // centred lines
            for (x, image) in line.glyphs {
                let originX = left + x + image.left
                let originY = baseline - image.top
                for row in 0..<image.rows {
                    let y = originY + row
                    guard y >= 0, y < height else { continue }
                    for col in 0..<image.width {
                        let px = originX + col
                        guard px >= 0, px < width else { continue }
                        let value = image.pixels[row * image.width + col]
                        if value > coverage[y * width + px] { coverage[y * width + px] = value }
                    }
                }
            }
        }
        // The EU icon's frame: solid white rows and columns along the box's edge.
        let frame = layout.outlineWidth
        if frame > 0 {
            for y in 0..<height {
                for x in 0..<width where x < frame || y < frame || x >= width - frame || y >= height - frame {
                    coverage[y * width + x] = 255
                }
            }
        }
        let origin = layout.origin(spriteWidth: width, spriteHeight: height)
        return LabelSprite(
            x: origin.x, y: origin.y, width: width, height: height, textCoverage: coverage, boxOpacity: layout.look.boxOpacity,
            lines: lines.map(\.text),
            pixelSize: size, frameWidth: layout.frameWidth, frameHeight: layout.frameHeight)
    }
}

// MARK: - Text model

/// One Unicode scalar of the label text, with the glyph that draws it (nil: an uncovered space).
struct TextItem {
    enum Kind { case glyph, space, newline }
    let scalar: Unicode.Scalar
    let kind: Kind
    let glyph: (face: Int, glyph: UInt32)?

    /// Scalars of `text` that take part in layout: controls and default-ignorables
    /// (variation selectors, zero-width joiners) are dropped, since no shaping engine uses them.
    static func classify(_ text: String) -> [(Unicode.Scalar, Kind)] {
        text.unicodeScalars.compactMap { scalar in
            switch scalar {
            case "\n", "\u{2028}", "\u{2029}": return (scalar, .newline)
            case "\t": return (" ", .space)
            case "\u{00A0}", "\u{2007}", "\u{202F}": return (scalar, .glyph)  // no-break spaces stay with their words
            default: break
            }
            let properties = scalar.properties
            if properties.generalCategory == .control || properties.generalCategory == .format
                || properties.isDefaultIgnorableCodePoint
            {
                return nil
            }
            return (scalar, properties.isWhitespace ? .space : .glyph)
        }
    }

    /// CJK text has no spaces; UAX #14 lets a line break before or after an ideograph or kana.
    var isCJK: Bool {
        let v = scalar.value
        return scalar.properties.isIdeographic || (0x3040...0x30FF).contains(v) || (0x3000...0x303F).contains(v)
            || (0xFF00...0xFFEF).contains(v) || (0xAC00...0xD7AF).contains(v)
    }

    /// Closing punctuation must not start a line; opening punctuation must not end one.
    var forbidsBreakBefore: Bool { "，。、；：！？）」』】》〉,.;:!?)]}·".unicodeScalars.contains(scalar) }
    var forbidsBreakAfter: Bool { "（「『【《〈([{".unicodeScalars.contains(scalar) }
}

/// An unbreakable run of glyphs and the spaces before it (dropped when a line breaks there).
struct WordUnit {
    var leadingSpaces: [TextItem] = []
    var glyphs: [TextItem] = []
    var forcedBreak = false

    static func split(_ items: [TextItem]) -> [WordUnit] {
        var units: [WordUnit] = []
        var current = WordUnit()
        var pendingSpaces: [TextItem] = []
        var pendingBreak = false
        func finish() {
            if !current.glyphs.isEmpty { units.append(current) }
            current = WordUnit()
        }
        for item in items {
            switch item.kind {
            case .newline:
                finish()
                pendingSpaces = []
                pendingBreak = true
            case .space:
                finish()
                pendingSpaces.append(item)
            case .glyph:
                if let last = current.glyphs.last, canBreak(between: last, and: item) { finish() }
                if current.glyphs.isEmpty {
                    current.leadingSpaces = pendingSpaces
                    current.forcedBreak = pendingBreak
                    pendingSpaces = []
                    pendingBreak = false
                }
                current.glyphs.append(item)
            }
        }
        finish()
        return units
    }

    private static func canBreak(between left: TextItem, and right: TextItem) -> Bool {
        if right.forbidsBreakBefore || left.forbidsBreakAfter { return false }
        if left.isCJK || right.isCJK { return true }
        // "AI-generated" may wrap as "AI-" / "generated".
        return left.scalar == "-" && right.scalar.properties.isAlphabetic
    }
}

extension [TextItem] {
    var text: String { String(String.UnicodeScalarView(map(\.scalar))) }
}

struct GlyphKey: Hashable {
    let face: Int
    let glyph: UInt32
    let size: Int
}

/// A rasterized glyph: grey coverage, its offset from the pen (left, up from the baseline) and advance.
struct GlyphImage {
    let width: Int
    let rows: Int
    let left: Int
    let top: Int
    let advance: Double
    let pixels: [UInt8]

    /// Ink extent in baseline coordinates (up is positive) of rows at least half covered:
    /// `top` is above the highest such row, `bottom` at the lowest one's bottom edge.
    var inkRows: (top: Int, bottom: Int)? {
        var first: Int?
        var last = 0
        for row in 0..<rows where pixels[row * width..<(row + 1) * width].contains(where: { $0 >= 128 }) {
            if first == nil { first = row }
            last = row
        }
        guard let first else { return nil }
        return (self.top - first, self.top - last - 1)
    }
}

/// Glyphs of one line placed from pen 0, and the horizontal ink/advance extent.
struct PlacedLine {
    var glyphs: [(x: Int, image: GlyphImage)] = []
    var minX = 0
    var maxX = 0
    var width: Int { maxX - minX }
}
