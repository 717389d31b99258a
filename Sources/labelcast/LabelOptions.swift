import ArgumentParser
import Foundation
import Overlay

/// `--label-*`, `--font`, `--no-overlay`: the visible label (LABELS.md, "Visible label", "EU
/// labels"). `--label-profile` picks a set of defaults (``LabelProfile/style(kind:short:)``);
/// every other option overrides one of them, and no override may break the profile's rules.
struct LabelOptions: ParsableArguments {
    @Option(help: "Label rules and defaults: cn (GB 45438, default), eu (EU code of practice icon), cn+eu (both, the stricter of each), custom.")
    var labelProfile: String = LabelProfile.cn.rawValue
    @Option(help: "When the label shows in each synthetic segment: continuous, start, interval (profile default: cn continuous, eu interval).")
    var labelMode: String?
    @Option(parsing: .unconditional, help: "Interval mode: seconds between reminders from each segment's start (default 300).")
    var labelEvery: Double?
    @Option(parsing: .unconditional, help: "Start/interval modes: seconds each showing lasts, at least 2 (default 5).")
    var labelFor: Double?
    @Option(help: "What the EU icon says: generated (\"AI GENERATED\", default) or modified (\"AI MODIFIED\"; Chinese 合成).")
    var syntheticKind: String = SyntheticKind.generated.rawValue
    @Flag(help: "The EU icon's short form, \"AI\" (eu, cn+eu).")
    var labelShort = false
    @Option(help: "Visible label text (default per profile: cn \"AI生成 · AI-generated\", eu \"AI GENERATED\", cn+eu \"AI生成 · AI GENERATED\").")
    var labelText: String?
    @Option(help: "Your own badge instead of the text: a PNG with alpha or an SVG, scaled so its text meets the 5% minimum.")
    var labelImage: String?
    @Option(parsing: .unconditional, help: "Height of the badge's text as a fraction of the image's height (default: measured from its opaque rows).")
    var labelImageTextHeight: Double?
    @Option(help: "Corner: top-right (default), top-left, bottom-right, bottom-left (eu and cn+eu: top-right only).")
    var labelPosition: String?
    @Option(parsing: .unconditional, help: "Glyph height as a fraction of the frame's short side; default and minimum 0.05.")
    var labelHeight: Double = 0.05
    @Option(help: "Font file; default: found through fontconfig, with CJK coverage.")
    var font: String?
    @Flag(help: "Leave the visible label out (for measurement).")
    var noOverlay = false

    var profile: LabelProfile { LabelProfile(rawValue: labelProfile) ?? .cn }

    func validate() throws {
        guard LabelProfile(rawValue: labelProfile) != nil else {
            throw ValidationError("--label-profile '\(labelProfile)' is not one of \(LabelProfile.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let labelMode, LabelMode(rawValue: labelMode) == nil {
            throw ValidationError("--label-mode '\(labelMode)' is not one of \(LabelMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard SyntheticKind(rawValue: syntheticKind) != nil else {
            throw ValidationError("--synthetic-kind '\(syntheticKind)' is not one of \(SyntheticKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let labelPosition, LabelPosition(rawValue: labelPosition) == nil {
            throw ValidationError("--label-position '\(labelPosition)' is not one of \(LabelPosition.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard labelHeight.isFinite, labelHeight >= 0.05 else {
            throw ValidationError("--label-height \(labelHeight) is below the GB 45438 minimum of 0.05 (5% of the frame's short side)")
        }
        guard labelHeight <= 0.5 else { throw ValidationError("--label-height \(labelHeight) is more than half the frame: use at most 0.5") }
        if let labelText, labelText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError("--label-text is empty: the label must say the content is AI-generated")
        }
        if let font {
            guard FileManager.default.isReadableFile(atPath: font) else {
                throw ValidationError("--font '\(font)' does not exist or cannot be read")
            }
        }
        _ = try style()
    }

    /// The label's style: the profile's defaults with each given option laid over them, checked
    /// against the profile's rules. nil with `--no-overlay`.
    /// - Throws: ``OverlayError`` (`.ruleViolation`): one line naming the rule or the conflict;
    ///   the command then exits 2.
    func style() throws -> LabelStyle? {
        let profile = self.profile
        let kind = SyntheticKind(rawValue: syntheticKind) ?? .generated
        let conflict = OverlayError.ruleViolation
        if labelShort && profile != .eu && profile != .cnEU {
            throw conflict("--label-short is the EU icon's short form \"AI\": use it with --label-profile eu or cn+eu")
        }
        if labelImage != nil && (labelText != nil || labelShort) {
            throw conflict("--label-image and --label-text\(labelShort ? "/--label-short" : "") both given: the badge replaces the text, use one")
        }
        if labelImageTextHeight != nil && labelImage == nil {
            throw conflict("--label-image-text-height applies to a badge: give --label-image FILE too")
        }
        if let f = labelImageTextHeight, !(f.isFinite && f > 0 && f <= 1) {
            throw conflict("--label-image-text-height \(f) is out of range: the fraction of the image's height its text takes, more than 0 and at most 1")
        }
        if let image = labelImage, !FileManager.default.isReadableFile(atPath: image) {
            throw conflict("--label-image '\(image)' does not exist or cannot be read")
        }
        if noOverlay {
            if labelImage != nil || labelMode != nil || labelEvery != nil || labelFor != nil {
                throw conflict("--no-overlay leaves the visible label out: drop the --label-* options with it")
            }
            return nil
        }
        var style = profile.style(kind: kind, short: labelShort)
        if profile == .cn || profile == .custom, kind == .modified { style.text = "AI合成 · AI-modified" }
        if let labelText { style.text = labelText }
        if let labelPosition { style.position = LabelPosition(rawValue: labelPosition)! }
        style.heightFraction = labelHeight
        style.fontFile = font
        if let labelImage { style.image = LabelImage(path: labelImage, textHeightFraction: labelImageTextHeight) }
        if let labelMode { style.timing.mode = LabelMode(rawValue: labelMode)! }
        let mode = style.timing.mode
        if let labelEvery {
            guard mode == .interval else {
                throw conflict("--label-every sets the reminders of --label-mode interval, but the mode is \(mode.rawValue): add --label-mode interval or drop --label-every")
            }
            guard labelEvery.isFinite, labelEvery > 0 else { throw conflict("--label-every \(labelEvery) must be a positive number of seconds") }
            style.timing.every = labelEvery
        }
        if let labelFor {
            guard mode != .continuous else {
                throw conflict("--label-for sets how long a start or interval showing lasts, but the mode is continuous: add --label-mode start or interval, or drop --label-for")
            }
            style.timing.showFor = labelFor
        }
        try profile.check(style)
        return style
    }

    /// A warning when the text does not say what the profile's rule expects; nil when it does.
    func textWarning(_ style: LabelStyle) -> String? {
        guard style.image == nil, profile == .cn || profile == .custom, !Self.isRecognisedLabel(style.text) else { return nil }
        return "--label-text '\(style.text)' does not say \"AI\"/\"人工智能\" with \"生成\"/\"合成\" or \"AI-generated\", as GB 45438 expects"
    }

    /// GB 45438: "AI" or "人工智能" with "生成" and/or "合成", or the English "AI-generated".
    static func isRecognisedLabel(_ text: String) -> Bool {
        let lower = text.lowercased()
        if lower.contains("ai-generated") || lower.contains("ai generated") || lower.contains("ai-modified") { return true }
        return (text.contains("AI") || text.contains("人工智能")) && (text.contains("生成") || text.contains("合成"))
    }
}
