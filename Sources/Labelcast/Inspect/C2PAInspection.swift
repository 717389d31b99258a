import C2PA
import Foundation

/// The C2PA layer of `labelcast inspect`: finds the manifest store (embedded in MP4/MOV/M4A,
/// MP3, WAV, FLAC, AVI; a `.c2pa` sidecar beside MPEG-TS, Matroska, FLV — where labelcast
/// puts it, `OutputSigner`), has the reference implementation validate it, and reads the
/// answer: validation, signer, actions with their digitalSourceType, ingredients.
enum C2PAInspection {
    /// IPTC digital source types that say the media (or part of it) was made by AI.
    static let aiSourceTypes: Set<String> = [
        "trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia", "compositeSynthetic",
    ]
    /// Failure codes that do not touch the manifest's integrity: the signer is merely not on a
    /// trust list (the platform's policy, reported apart from tampering).
    static let trustOnlyCodes: Set<String> = ["signingCredential.untrusted", "signingCredential.ocsp.unknown", "timeStamp.untrusted"]

    /// MIME types c2pa-rs reads an embedded manifest from, by libavformat demuxer name.
    static func embeddedFormat(container: String, path: String) -> String? {
        if container.hasPrefix("mov,mp4") {
            switch (path as NSString).pathExtension.lowercased() {
            case "mov": return "video/quicktime"
            case "m4a": return "audio/mp4"
            default: return "video/mp4"
            }
        }
        return ["mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "avi": "video/x-msvideo"][container]
    }

    /// The sidecar labelcast writes beside a container with no C2PA embedding: `NAME.c2pa`.
    static func sidecarPath(for path: String) -> String {
        let ext = (path as NSString).pathExtension
        return (ext.isEmpty ? path : (path as NSString).deletingPathExtension) + ".c2pa"
    }

    /// The layer, or nil when the input carries no manifest. `notes` gets what the reader of
    /// the report should know (the library missing, the store unreadable).
    static func inspect(path: String, container: String, trustPEM: String?, notes: inout [String]) -> InspectionReport.Layer? {
        let sidecar = sidecarPath(for: path)
        let hasSidecar = sidecar != path && FileManager.default.fileExists(atPath: sidecar)
        let embedded = embeddedFormat(container: container, path: path)
        guard hasSidecar || embedded != nil else { return nil }
        let library: C2PALibrary
        do { library = try C2PALibrary.shared() } catch {
            notes.append("C2PA not checked: \(error)")
            return nil
        }
        let json: String?
        let mode = embedded != nil && !hasSidecar ? "embedded" : "sidecar"
        let place = mode == "embedded" ? "C2PA manifest (embedded)" : "C2PA manifest (sidecar \((sidecar as NSString).lastPathComponent))"
        do {
            if mode == "sidecar" {
                guard let bytes = FileManager.default.contents(atPath: sidecar) else {
                    notes.append("the C2PA sidecar '\((sidecar as NSString).lastPathComponent)' cannot be read")
                    return nil
                }
                json = try C2PAValidatingReader.read(path: path, format: OutputSigner.sidecarFormats[mimeKey(container)] ?? "application/octet-stream",
                                                     sidecar: [UInt8](bytes), trustAnchorsPEM: trustPEM)
            } else {
                json = try C2PAValidatingReader.read(path: path, format: embedded!, trustAnchorsPEM: trustPEM)
            }
        } catch {
            // A store that is there but cannot be parsed is a marking present but broken.
            var layer = InspectionReport.Layer(kind: .c2pa, place: place, tier: .suspected,
                                               summary: "a manifest store is present but cannot be read: \(String("\(error)".prefix(200)))", timed: false)
            layer.c2pa = InspectionReport.C2PAFindings(mode: mode, sidecar: mode == "sidecar" ? (sidecar as NSString).lastPathComponent : nil,
                                                       validation: "unreadable", validationState: nil, failures: [], signer: nil, actions: [],
                                                       ingredients: [], library: library.versionString)
            return layer
        }
        guard let json else { return nil }
        return layer(fromStoreJSON: json, mode: mode, sidecar: mode == "sidecar" ? (sidecar as NSString).lastPathComponent : nil,
                     place: place, trusted: trustPEM != nil, library: library.versionString)
    }

    private static func mimeKey(_ container: String) -> String {
        switch container {
        case "matroska,webm": "matroska"
        case "live_flv": "flv"
        default: container
        }
    }

    /// Reads c2pa-rs's manifest store JSON into the report's terms and decides the tier:
    /// a valid manifest naming an AI source type declares (1); the same failing validation is
    /// possibly (2); a valid manifest without AI origin declares nothing (no tier).
    /// `extraFailures`: integrity failures found besides the library's (a playlist's segment
    /// order, `SegmentedC2PACheck`), listed first.
    static func layer(fromStoreJSON json: String, mode: String, sidecar: String?, place: String, trusted: Bool, library: String?,
                      extraFailures: [String] = []) -> InspectionReport.Layer {
        let store = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] ?? [:]
        let activeLabel = store["active_manifest"] as? String
        let manifests = store["manifests"] as? [String: Any] ?? [:]
        let active = activeLabel.flatMap { manifests[$0] as? [String: Any] } ?? [:]
        let results = (store["validation_results"] as? [String: Any])?["activeManifest"] as? [String: Any]
        var failures = (results?["failure"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        if results == nil, let status = store["validation_status"] as? [[String: Any]] {
            failures = status.compactMap { $0["code"] as? String }.filter { !$0.hasSuffix(".match") && !$0.hasSuffix(".validated") && !$0.hasSuffix(".trusted") }
        }
        if !extraFailures.isEmpty { failures = extraFailures + failures.filter { !extraFailures.contains($0) } }
        let state = store["validation_state"] as? String
        let integrityFailures = failures.filter { !trustOnlyCodes.contains($0) }
        let validation: String
        if active.isEmpty {
            validation = "invalid"
        } else if integrityFailures.isEmpty {
            validation = state == "Trusted" || (trusted && failures.isEmpty) ? "trusted" : "valid"
        } else {
            validation = "invalid"
        }
        let sig = active["signature_info"] as? [String: Any]
        let signer = sig.map {
            InspectionReport.C2PAFindings.Signer(issuer: $0["issuer"] as? String, commonName: $0["common_name"] as? String,
                                                 algorithm: $0["alg"] as? String, time: $0["time"] as? String)
        }
        let assertions = active["assertions"] as? [[String: Any]] ?? []
        var actions: [InspectionReport.C2PAFindings.Action] = []
        for a in assertions where (a["label"] as? String).map({ $0 == "c2pa.actions" || $0.hasPrefix("c2pa.actions.v") }) == true {
            for act in ((a["data"] as? [String: Any])?["actions"] as? [[String: Any]] ?? []) {
                let agent = act["softwareAgent"]
                let agentName = (agent as? [String: Any])?["name"] as? String ?? agent as? String
                actions.append(.init(action: act["action"] as? String ?? "?", digitalSourceType: act["digitalSourceType"] as? String, softwareAgent: agentName))
            }
        }
        let ingredients = (active["ingredients"] as? [[String: Any]] ?? []).map {
            InspectionReport.C2PAFindings.Ingredient(title: $0["title"] as? String, format: $0["format"] as? String,
                                                     relationship: $0["relationship"] as? String,
                                                     hasManifest: $0["active_manifest"] != nil || $0["manifest_data"] != nil)
        }
        let aiTypes = actions.compactMap(\.digitalSourceType).filter { t in aiSourceTypes.contains { t.hasSuffix("/" + $0) || t == $0 } }
        let declaresAI = !aiTypes.isEmpty
        let tier: InspectionReport.Tier?
        var summary: String
        let who = signer?.commonName ?? signer?.issuer ?? "an unnamed signer"
        let declared = declaresAI ? "declares AI origin (\(Set(aiTypes.map { ($0 as NSString).lastPathComponent }).sorted().joined(separator: ", ")))" : "declares no AI origin"
        switch (validation, declaresAI) {
        case ("invalid", true):
            tier = .possibly
            summary = "\(declared), but validation fails (\(integrityFailures.prefix(3).joined(separator: ", ")))"
        case ("invalid", false):
            tier = nil
            summary = "\(declared); validation fails (\(integrityFailures.prefix(3).joined(separator: ", ")))"
        case (_, true):
            tier = .declared
            summary = "\(declared); signed by \(who), \(validation == "trusted" ? "valid and trusted" : "valid (signer not on a trust list)")"
        default:
            tier = nil
            summary = "\(declared); signed by \(who), valid"
        }
        if !ingredients.isEmpty { summary += "; \(ingredients.count) ingredient\(ingredients.count == 1 ? "" : "s")" }
        var layer = InspectionReport.Layer(kind: .c2pa, place: place, tier: tier, summary: summary, timed: false)
        layer.c2pa = InspectionReport.C2PAFindings(mode: mode, sidecar: sidecar, validation: validation, validationState: state,
                                                   failures: failures, signer: signer, actions: actions, ingredients: ingredients, library: library)
        // labelcast's manifests name the synthetic time ranges (`org.labelcast.labeling`).
        if let labeling = assertions.first(where: { $0["label"] as? String == "org.labelcast.labeling" })?["data"] as? [String: Any],
           let ranges = labeling["synthetic_ranges"] as? [[String: Any]], !ranges.isEmpty {
            layer.timed = true
            layer.ranges = ranges.compactMap { r in
                guard let s = (r["start"] as? NSNumber)?.doubleValue, let e = (r["end"] as? NSNumber)?.doubleValue else { return nil }
                return InspectionReport.TimeRange(start: s, end: e)
            }
        }
        return layer
    }
}
