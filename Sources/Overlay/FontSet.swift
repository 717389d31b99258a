import CFreeType

/// The FreeType faces that draw one label text, chosen once at start-up: `--font` first when
/// given, then fontconfig's fonts in its order of preference for sans-serif, character by
/// character (a CJK font for the ideographs, usually a Latin font for the rest).
struct FontSet {
    /// Faces in the order they were first used; owned by the set's creator (see ``close()``).
    private(set) var faces: [FT_Face] = []
    /// "path" or "path#index" of each face, same order.
    private(set) var names: [String] = []
    /// For every resolved scalar, its face (index into `faces`) and glyph index.
    private(set) var glyphs: [Unicode.Scalar: (face: Int, glyph: UInt32)] = [:]

    /// Opens the faces for `required` (each must be covered, else the first uncovered one is
    /// named in the error) and `optional` scalars (spaces; left out when nothing covers them).
    /// Costs one fontconfig sort (a few ms) and one FreeType face per font used.
    static func resolve(
        required: [Unicode.Scalar], optional: [Unicode.Scalar], fontFile: String?, library: FT_Library
    ) throws -> FontSet {
        var set = FontSet()
        do {
            if let fontFile {
                var face: FT_Face?
                let err = FT_New_Face(library, fontFile, 0, &face)
                guard err == 0, let face else { throw OverlayError.fontUnreadable(fontFile, freetypeError: err) }
                set.faces.append(face)
                set.names.append(fontFile)
                for scalar in required + optional { set.assign(scalar, toFace: 0) }
            }
            let missing = (required + optional).filter { set.glyphs[$0] == nil }
            if !missing.isEmpty { try set.resolveWithFontconfig(missing, library: library) }
            if let uncovered = required.first(where: { set.glyphs[$0] == nil }) {
                throw OverlayError.uncoveredCharacter(uncovered)
            }
        } catch {
            set.close()
            throw error
        }
        return set
    }

    /// Releases the faces; FreeType faces are not freed by ARC.
    func close() {
        for face in faces { FT_Done_Face(face) }
    }

    @discardableResult
    private mutating func assign(_ scalar: Unicode.Scalar, toFace index: Int) -> Bool {
        guard glyphs[scalar] == nil else { return true }
        let glyph = FT_Get_Char_Index(faces[index], FT_ULong(scalar.value))
        guard glyph != 0 else { return false }
        glyphs[scalar] = (index, UInt32(glyph))
        return true
    }

    private mutating func resolveWithFontconfig(_ scalars: [Unicode.Scalar], library: FT_Library) throws {
        guard let config = FcInitLoadConfigAndFonts() else { throw OverlayError.fontEngine("fontconfig could not load its configuration") }
        defer { FcConfigDestroy(config) }
        let family = Array("sans-serif".utf8) + [0]
        guard let pattern = family.withUnsafeBufferPointer({ FcNameParse($0.baseAddress) }) else {
            throw OverlayError.fontEngine("fontconfig could not build a pattern")
        }
        defer { FcPatternDestroy(pattern) }
        FcConfigSubstitute(config, pattern, FcMatchPattern)
        FcDefaultSubstitute(pattern)
        var result = FcResultMatch
        guard let sorted = FcFontSort(config, pattern, FcFalse, nil, &result) else {
            throw OverlayError.fontEngine("fontconfig found no fonts; install one (e.g. fonts-noto-cjk) or pass --font FILE")
        }
        defer { FcFontSetDestroy(sorted) }

        var opened: [String: Int] = [:]  // name → index into faces
        for (index, name) in names.enumerated() { opened[name] = index }
        for scalar in scalars {
            for i in 0..<Int(sorted.pointee.nfont) {
                guard let font = sorted.pointee.fonts[i] else { continue }
                var outline: FcBool = FcFalse
                if FcPatternGetBool(font, FC_OUTLINE, 0, &outline) == FcResultMatch, outline == FcFalse { continue }
                var charset: OpaquePointer?
                guard FcPatternGetCharSet(font, FC_CHARSET, 0, &charset) == FcResultMatch,
                    FcCharSetHasChar(charset, FcChar32(scalar.value)) != FcFalse
                else { continue }
                var file: UnsafeMutablePointer<FcChar8>?
                guard FcPatternGetString(font, FC_FILE, 0, &file) == FcResultMatch, let file else { continue }
                var faceIndex: Int32 = 0
                _ = FcPatternGetInteger(font, FC_INDEX, 0, &faceIndex)
                let path = String(cString: file)
                let name = faceIndex == 0 ? path : "\(path)#\(faceIndex)"
                let index: Int
                if let known = opened[name] {
                    index = known
                } else {
                    var face: FT_Face?
                    guard FT_New_Face(library, path, FT_Long(faceIndex), &face) == 0, let face else { continue }
                    faces.append(face)
                    names.append(name)
                    index = faces.count - 1
                    opened[name] = index
                }
                // fontconfig's charset can claim a little more than the cmap holds; trust the cmap.
                if assign(scalar, toFace: index) { break }
            }
        }
    }
}
