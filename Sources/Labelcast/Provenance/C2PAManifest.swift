import Foundation

/// The manifest labelcast signs, as a c2pa-rs manifest definition (JSON). Built from what
/// was written (ProvenanceWriter's segments), not from what was asked for.
///
/// - `c2pa.actions.v2`: `c2pa.created` + `trainedAlgorithmicMedia` when the whole output is
///   synthetic and the input brought no manifest; otherwise `c2pa.opened` (the input, as
///   parent ingredient) then `c2pa.edited` with `trainedAlgorithmicMedia` (all synthetic)
///   or `compositeWithTrainedAlgorithmicMedia` (parts), its `changes` the synthetic time
///   ranges as temporal regions of interest; with nothing synthetic, `c2pa.transcoded`.
/// - `org.labelcast.labeling`: the synthetic ranges, the GB 45438 AIGC value, what marked them.
/// - `c2pa.soft-binding`: the audio watermark, its payload id per synthetic range, so a copy
///   stripped of this manifest can be matched back by detecting the watermark.
struct C2PAManifest {
    static let trainedAlgorithmicMedia = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
    static let compositeWithTrainedAlgorithmicMedia = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
    /// The soft-binding algorithm name (not in the C2PA registry: a verifier sees it as
    /// labelcast's own and can run `labelcast detect` with the key).
    static let audioWatermarkAlgorithm = "org.labelcast.audiomark.1"
    /// The label of the parent ingredient, referenced from `c2pa.opened`.
    static let inputLabel = "labelcast-input"

    var title: String
    var format: String
    var version: String
    /// Synthetic ranges written, seconds of media time.
    var ranges: [(start: Double, end: Double)]
    /// The whole output is synthetic.
    var wholeStream: Bool
    var aigcValue: String?
    var overlayText: String?
    /// The watermark's payload id, when synthetic audio carries it.
    var watermarkPayloadID: UInt32?
    /// The input as a parent ingredient: from its file (`inputFile`) or, for a stream, only named.
    var inputTitle: String
    var inputFormat: String
    var inputFile: String?
    var inputHasManifest: Bool
    /// A hard binding made by labelcast (`c2pa.hash.bmff.v3` data for a segmented output's
    /// init segment); nil lets the library make it from the file.
    var hardBinding: [String: Any]? = nil

    /// Whether the manifest names the input as its parent.
    var hasParent: Bool { !(wholeStream && !inputHasManifest) }

    /// The JSON for the parent ingredient (`c2pa_builder_add_ingredient_from_stream`).
    var ingredientJSON: String {
        json(["title": inputTitle, "format": inputFormat, "relationship": "parentOf", "label": Self.inputLabel])
    }

    var definitionJSON: String {
        let agent: [String: Any] = ["name": "labelcast", "version": version]
        let synthetic = !ranges.isEmpty || wholeStream
        var actions: [[String: Any]] = []
        if !hasParent {
            actions.append(["action": "c2pa.created", "digitalSourceType": Self.trainedAlgorithmicMedia, "softwareAgent": agent,
                            "description": "AI-generated media labeled by labelcast (visible label, audio watermark, GB 45438 metadata)"])
        } else {
            actions.append(["action": "c2pa.opened", "softwareAgent": agent, "parameters": ["ingredientIds": [Self.inputLabel]]])
            if synthetic {
                var edited: [String: Any] = [
                    "action": "c2pa.edited", "softwareAgent": agent,
                    "digitalSourceType": wholeStream ? Self.trainedAlgorithmicMedia : Self.compositeWithTrainedAlgorithmicMedia,
                    "description": wholeStream ? "all of the media is AI-generated; labeled by labelcast"
                        : "AI-generated segments labeled by labelcast (visible label, audio watermark, GB 45438 metadata)",
                ]
                if !wholeStream {
                    edited["changes"] = ranges.map { r in
                        ["region": [["type": "temporal", "time": ["type": "npt", "start": npt(r.start), "end": npt(r.end)]]],
                         "description": "AI-generated"] as [String: Any]
                    }
                }
                actions.append(edited)
            } else {
                actions.append(["action": "c2pa.transcoded", "softwareAgent": agent, "description": "re-encoded by labelcast; nothing marked synthetic"])
            }
        }
        var labeling: [String: Any] = [
            "standard": "GB 45438-2025",
            "whole_stream_synthetic": wholeStream,
            "synthetic_ranges": ranges.map { ["start": round6($0.start), "end": round6($0.end)] },
        ]
        if let aigcValue { labeling["aigc"] = ["tag": AIGCMetadata.tagName, "value": aigcValue] }
        var marks: [String: Any] = [:]
        if let overlayText, synthetic { marks["visible_label"] = overlayText }
        if let id = watermarkPayloadID, synthetic { marks["audio_watermark"] = ["algorithm": Self.audioWatermarkAlgorithm, "payload_id": String(format: "0x%08X", id)] }
        labeling["labels"] = marks
        var assertions: [[String: Any]] = [
            ["label": "c2pa.actions.v2", "data": ["actions": actions]],
            ["label": "org.labelcast.labeling", "data": labeling],
        ]
        if let id = watermarkPayloadID, synthetic {
            var bytes = id.bigEndian
            let value = withUnsafeBytes(of: &bytes) { Data($0).base64EncodedString() }
            assertions.append(["label": "c2pa.soft-binding", "data": [
                "alg": Self.audioWatermarkAlgorithm,
                "name": String(format: "labelcast AudioMark audio watermark, payload id 0x%08X", id),
                // Timespans in milliseconds of media time: where the watermark can be detected.
                "blocks": ranges.map { r in
                    ["scope": ["timespan": ["start": Int((r.start * 1000).rounded(.down)), "end": Int((r.end * 1000).rounded(.up))]], "value": value] as [String: Any]
                },
            ] as [String: Any]])
        }
        if let hardBinding { assertions.append(["label": "c2pa.hash.bmff.v3", "data": hardBinding]) }
        var definition: [String: Any] = [
            "claim_generator_info": [agent],
            "title": title,
            "format": format,
            "assertions": assertions,
        ]
        // A streamed input cannot be read as a file: it is named as the parent, without a hash.
        if hasParent, inputFile == nil {
            definition["ingredients"] = [["title": inputTitle, "format": inputFormat, "relationship": "parentOf", "label": Self.inputLabel]]
        }
        return json(definition)
    }

    private func npt(_ t: Double) -> String { String(format: "%.3f", max(0, t)) }
    private func round6(_ t: Double) -> Double { (t * 1e6).rounded() / 1e6 }
    private func json(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
