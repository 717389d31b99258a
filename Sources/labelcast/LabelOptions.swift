import ArgumentParser
import Foundation
import Overlay

/// `--label-*`, `--font`, `--no-overlay`: the visible label (LABELS.md, "Visible label").
struct LabelOptions: ParsableArguments {
    @Option(help: "Visible label text (default \"AI生成 · AI-generated\").")
    var labelText: String = LabelStyle().text
    @Option(help: "Corner: top-right (default), top-left, bottom-right, bottom-left.")
    var labelPosition: String = LabelPosition.topRight.rawValue
    @Option(parsing: .unconditional, help: "Glyph height as a fraction of the frame's short side; default and minimum 0.05.")
    var labelHeight: Double = 0.05
    @Option(help: "Font file; default: found through fontconfig, with CJK coverage.")
    var font: String?
    @Flag(help: "Leave the visible label out (for measurement).")
    var noOverlay = false

    func validate() throws {
        guard LabelPosition(rawValue: labelPosition) != nil else {
            throw ValidationError("--label-position '\(labelPosition)' is not one of \(LabelPosition.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard labelHeight.isFinite, labelHeight >= 0.05 else {
            throw ValidationError("--label-height \(labelHeight) is below the GB 45438 minimum of 0.05 (5% of the frame's short side)")
        }
        guard labelHeight <= 0.5 else { throw ValidationError("--label-height \(labelHeight) is more than half the frame: use at most 0.5") }
        guard !labelText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ValidationError("--label-text is empty: the label must say the content is AI-generated")
        }
        if let font {
            guard FileManager.default.isReadableFile(atPath: font) else {
                throw ValidationError("--font '\(font)' does not exist or cannot be read")
            }
        }
    }

    func style() -> LabelStyle? {
        noOverlay ? nil : LabelStyle(text: labelText, heightFraction: labelHeight,
                                     position: LabelPosition(rawValue: labelPosition)!, fontFile: font)
    }

    /// GB 45438: "AI" or "人工智能" with "生成" and/or "合成", or the English "AI-generated".
    static func isRecognisedLabel(_ text: String) -> Bool {
        let lower = text.lowercased()
        if lower.contains("ai-generated") || lower.contains("ai generated") { return true }
        return (text.contains("AI") || text.contains("人工智能")) && (text.contains("生成") || text.contains("合成"))
    }
}
