/// The jurisdiction whose visible-label rules a run follows (`--label-profile`). Each profile
/// is a set of defaults (``style(kind:short:)``) the operator may override option by option,
/// and a set of rules (``check(_:)``) no override may break.
///
/// Sources: GB 45438-2025 and the CAC labeling measures (`cn`); EU AI Act art. 50 and the EU
/// code of practice on marking and labeling, June 2026 (`eu`). LABELS.md distils both.
public enum LabelProfile: String, Sendable, Hashable, CaseIterable {
    /// GB 45438: text label ≥ 5% of the short side, at an edge or corner, for the whole segment.
    case cn
    /// EU code of practice: an icon-style badge top-right, at the start of each segment and at
    /// intervals in long content (or continuously).
    case eu
    /// Both at once, the stricter of each rule: continuous, ≥ 5%, top-right, EU wording and Chinese.
    case cnEU = "cn+eu"
    /// No jurisdiction's rules beyond labelcast's own floors (5% text, 2 s minimum display).
    case custom

    /// The profile's defaults for a label: text, corner, timing and look.
    public func style(kind: SyntheticKind = .generated, short: Bool = false) -> LabelStyle {
        switch self {
        case .cn, .custom:
            return LabelStyle()
        case .eu:
            return LabelStyle(text: kind.euWording(short: short), timing: LabelTiming(mode: .interval), look: .euIcon)
        case .cnEU:
            return LabelStyle(text: "\(kind.chineseWording) · \(kind.euWording(short: short))", timing: .continuous, look: .euIcon)
        }
    }

    /// Modes the profile allows; the first is its default.
    public var allowedModes: [LabelMode] {
        switch self {
        case .cn, .cnEU: return [.continuous]
        case .eu: return [.interval, .continuous]
        case .custom: return [.continuous, .start, .interval]
        }
    }

    /// Corner the profile requires, if any.
    public var requiredPosition: LabelPosition? {
        switch self {
        case .eu, .cnEU: return .topRight
        case .cn, .custom: return nil
        }
    }

    /// Whether the profile's label must use the EU icon's wording ("AI …").
    var requiresEUWording: Bool { self == .eu || self == .cnEU }

    /// The rule a mode breaks under this profile, in words naming its source; nil when allowed.
    public func modeViolation(_ mode: LabelMode) -> String? {
        guard !allowedModes.contains(mode) else { return nil }
        switch self {
        case .cn:
            return "GB 45438 keeps the label on for the whole synthetic segment (continuous), not only \(mode == .start ? "at its start" : "at intervals")"
        case .cnEU:
            return "cn+eu takes the stricter rule, GB 45438's continuous label"
        case .eu:
            return "the EU code of practice repeats the icon at intervals in long content (interval or continuous)"
        case .custom:
            return nil
        }
    }

    /// Checks a style against the profile's rules; throws ``OverlayError/Kind/ruleViolation``
    /// with a one-line message naming the rule and what to do.
    public func check(_ style: LabelStyle) throws {
        if let why = modeViolation(style.timing.mode) {
            throw OverlayError.ruleViolation(
                "--label-mode \(style.timing.mode.rawValue) with --label-profile \(rawValue): \(why); use --label-mode \(allowedModes.map(\.rawValue).joined(separator: " or ")), or --label-profile custom")
        }
        if let corner = requiredPosition, style.position != corner {
            throw OverlayError.ruleViolation(
                "--label-position \(style.position.rawValue) with --label-profile \(rawValue): the EU code of practice places the icon top-right; drop --label-position or use --label-profile custom")
        }
        if requiresEUWording, style.image == nil, !style.text.uppercased().contains("AI") {
            throw OverlayError.ruleViolation(
                "--label-text '\(style.text)' with --label-profile \(rawValue): the EU icon says \"AI GENERATED\", \"AI MODIFIED\" or \"AI\"; put \"AI\" in the text")
        }
        if self == .cnEU, style.image == nil, !(style.text.contains("生成") || style.text.contains("合成") || style.text.contains("人工智能")) {
            throw OverlayError.ruleViolation(
                "--label-text '\(style.text)' with --label-profile cn+eu: GB 45438 asks for Chinese wording (\"生成\" or \"合成\") next to the EU wording")
        }
        let t = style.timing
        guard t.showFor.isFinite, t.showFor >= LabelTiming.minimumDisplay else {
            throw OverlayError.ruleViolation(
                "--label-for \(t.showFor.formattedSeconds) is below GB 45438's minimum display of 2 s: use at least 2")
        }
        if t.mode == .interval {
            guard t.every.isFinite, t.every > t.showFor else {
                throw OverlayError.ruleViolation(
                    "--label-every \(t.every.formattedSeconds) must be longer than --label-for \(t.showFor.formattedSeconds) (or use --label-mode continuous)")
            }
        }
    }
}
