/// What the EU icon says about the content (`--synthetic-kind`): made by AI, or real content
/// changed by AI (EU code of practice, June 2026: "AI GENERATED" / "AI MODIFIED").
public enum SyntheticKind: String, Sendable, Hashable, CaseIterable {
    case generated
    case modified

    /// The EU icon's wording; `short` is the code's compact form "AI".
    public func euWording(short: Bool) -> String {
        if short { return "AI" }
        return self == .generated ? "AI GENERATED" : "AI MODIFIED"
    }

    /// GB 45438's Chinese wording: 生成 (generated) or 合成 (synthesised from real material).
    public var chineseWording: String { self == .generated ? "AI生成" : "AI合成" }
}
