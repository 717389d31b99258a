import C2PA
import Foundation

/// C2PA on an HLS-fMP4 playlist in `labelcast inspect`: the init segment's manifest validated
/// with each listed media segment by the reference implementation (`with_fragment`, one
/// segment at a time, as c2pa-rs defines fragmented validation), then the playlist's order
/// checked against the places the segments' C2PA Merkle boxes declare.
///
/// Why the order check: the Merkle map binds each segment to its leaf, and c2pa-rs validates a
/// segment alone, so a segment swapped with another, listed twice, dropped, or taken from
/// another rendition still validates on its own. Each segment's Merkle box names its place
/// (`uniqueId`/`localId` of its map, `location` = its leaf index); this checks that the
/// listed segments' places run in playlist order (a live playlist's window may start at any
/// place) and reports:
/// - `labelcast.segment.reordered`: a segment listed at another place than it declares (a
///   swapped pair is named as such);
/// - `labelcast.segment.duplicated`: the same place listed again;
/// - `labelcast.segment.missing`: a place between the first and last listed (or, for a
///   finished playlist, up to the manifest's leaf count) that no listed segment fills;
/// - `labelcast.segment.foreign`: a segment of another Merkle map (another rendition), or one
///   whose hash is no leaf of this manifest (another run's or stream's segment, or changed bytes);
/// - `labelcast.segment.unbound`: a segment without a Merkle box.
/// Any of them makes the layer's validation `invalid`, like a hash mismatch.
struct SegmentedC2PACheck {
    /// The init segment's bytes (with its manifest).
    let initSegment: [UInt8]
    let trustPEM: String?
    /// At most this many segments are validated (each is one library call).
    static let maxSegments = 2000

    private(set) var entries: [InspectionReport.C2PAFindings.Segment] = []
    /// The first readable per-segment store JSON (for the manifest's content).
    private(set) var baseJSON: String?
    /// False once the init segment turned out to carry no manifest.
    private(set) var hasManifest = true
    private var map: (uniqueId: Int, localId: Int, count: Int, hashes: [[UInt8]])?
    private var leafHashes: [[UInt8]] = []
    private(set) var notes: [String] = []

    init(initSegment: [UInt8], trustPEM: String?) {
        self.initSegment = initSegment
        self.trustPEM = trustPEM
    }

    /// Validates one listed segment (position from 0 in the playlist).
    mutating func add(position: Int, uri: String, bytes: [UInt8]) {
        guard hasManifest, entries.count < Self.maxSegments else { return }
        let place = FragmentedBMFF.merklePlace(in: bytes)
        var entry = InspectionReport.C2PAFindings.Segment(position: position, uri: Redaction.url(uri), location: place?.location,
                                                          uniqueId: place?.uniqueId, validation: "unreadable", failures: [])
        do {
            guard let read = try C2PAValidatingReader.readFragment(initSegment: initSegment, fragment: bytes, trustAnchorsPEM: trustPEM,
                                                                   detailed: map == nil) else {
                hasManifest = false
                return
            }
            if map == nil, let detailed = read.detailed { map = Self.merkleMap(detailed) }
            let layer = C2PAInspection.layer(fromStoreJSON: read.json, mode: "segmented", sidecar: nil, place: "", trusted: trustPEM != nil, library: nil)
            entry.validation = layer.c2pa?.validation ?? "invalid"
            entry.failures = layer.c2pa?.failures ?? []
            if baseJSON == nil || (entry.validation != "invalid" && entries.allSatisfy { $0.validation == "invalid" }) { baseJSON = read.json }
        } catch {
            entry.failures = ["\(String("\(error)".prefix(160)))"]
        }
        leafHashes.append(FragmentedBMFF.hash(bytes) ?? [])
        entries.append(entry)
    }

    /// The Merkle map of the detailed JSON's `c2pa.hash.bmff.v3` (or v2) assertion.
    static func merkleMap(_ detailed: String) -> (uniqueId: Int, localId: Int, count: Int, hashes: [[UInt8]])? {
        guard let d = (try? JSONSerialization.jsonObject(with: Data(detailed.utf8))) as? [String: Any],
              let label = d["active_manifest"] as? String,
              let manifest = (d["manifests"] as? [String: Any])?[label] as? [String: Any],
              let store = manifest["assertion_store"] as? [String: Any] else { return nil }
        let hash = (store["c2pa.hash.bmff.v3"] ?? store["c2pa.hash.bmff.v2"]) as? [String: Any]
        guard let first = (hash?["merkle"] as? [[String: Any]])?.first,
              let u = first["uniqueId"] as? Int, let l = first["localId"] as? Int else { return nil }
        let hashes = (first["hashes"] as? [[Any]] ?? []).map { $0.compactMap { ($0 as? NSNumber)?.uint8Value } }
        return (u, l, first["count"] as? Int ?? hashes.count, hashes)
    }

    /// What the playlist's order says, as (code, sentence) pairs; empty when the listed
    /// segments' places run in order, none twice, none missing.
    func sequenceProblems(endList: Bool) -> [(code: String, text: String)] {
        var problems: [(String, String)] = []
        // Segments that belong here: valid with this manifest and of its Merkle map.
        var ours: [(index: Int, location: Int)] = []
        for (i, e) in entries.enumerated() {
            let name = "position \(e.position) ('\(e.uri)')"
            guard let location = e.location else {
                problems.append(("labelcast.segment.unbound", "\(name) has no C2PA Merkle box: it is not bound to the manifest"))
                continue
            }
            if let map, e.uniqueId != map.uniqueId {
                problems.append(("labelcast.segment.foreign", "\(name) belongs to another Merkle map (rendition \(e.uniqueId.map(String.init) ?? "?"), this manifest's is \(map.uniqueId)): a segment of another rendition"))
                continue
            }
            if e.validation == "invalid" || e.validation == "unreadable" {
                let known = map?.hashes.firstIndex(of: leafHashes[i])
                if let known {
                    problems.append(("labelcast.segment.foreign", "\(name) is segment \(known) of this manifest but its Merkle box says \(location): the box was changed"))
                } else {
                    problems.append(("labelcast.segment.foreign", "\(name) is not in this manifest (declares place \(location), but its hash is none of the manifest's \(map?.hashes.count ?? 0) leaves): a segment of another run or stream, or changed bytes"))
                }
                continue
            }
            ours.append((i, location))
        }
        guard !ours.isEmpty else { return problems }
        // The same place listed again.
        var firstAt: [Int: Int] = [:]
        var unique: [(index: Int, location: Int)] = []
        for o in ours {
            if let earlier = firstAt[o.location] {
                problems.append(("labelcast.segment.duplicated", "position \(entries[o.index].position) ('\(entries[o.index].uri)') repeats segment \(o.location), already listed at position \(entries[earlier].position)"))
            } else {
                firstAt[o.location] = o.index
                unique.append(o)
            }
        }
        // Order: the k-th listed segment of ours should be the k-th smallest place.
        let sorted = unique.map(\.location).sorted()
        let misplaced = unique.indices.filter { unique[$0].location != sorted[$0] }
        if misplaced.count == 2, unique[misplaced[0]].location == sorted[misplaced[1]], unique[misplaced[1]].location == sorted[misplaced[0]] {
            let a = unique[misplaced[0]], b = unique[misplaced[1]]
            problems.append(("labelcast.segment.reordered", "positions \(entries[a.index].position) and \(entries[b.index].position) are swapped: '\(entries[a.index].uri)' is segment \(a.location) and '\(entries[b.index].uri)' is segment \(b.location)"))
        } else {
            for k in misplaced {
                let a = unique[k]
                problems.append(("labelcast.segment.reordered", "position \(entries[a.index].position) ('\(entries[a.index].uri)') is segment \(a.location), listed where segment \(sorted[k]) belongs"))
            }
        }
        // Places no listed segment of ours fills: between the first and last listed, and for a
        // finished playlist every leaf of the manifest. A place a foreign segment declares is
        // already reported (replaced).
        var lo = sorted.first!, hi = sorted.last!
        if endList, let map, map.count > 0 { lo = min(lo, 0); hi = max(hi, map.count - 1) }
        let foreignPlaces = Set(entries.indices.filter { i in !ours.contains { $0.index == i } }.compactMap { entries[$0].location })
        let missing = (lo...hi).filter { firstAt[$0] == nil && !foreignPlaces.contains($0) }
        if !missing.isEmpty {
            let list = missing.prefix(10).map(String.init).joined(separator: ", ") + (missing.count > 10 ? " …" : "")
            problems.append(("labelcast.segment.missing", "\(missing.count) signed segment\(missing.count == 1 ? " is" : "s are") not listed: \(list)"))
        }
        return problems
    }

    /// The C2PA layer for the playlist, or nil when the init segment has no manifest.
    func layer(endList: Bool, library: String?) -> InspectionReport.Layer? {
        guard hasManifest, let baseJSON, !entries.isEmpty else { return nil }
        let problems = sequenceProblems(endList: endList)
        var failures = problems.map(\.code)
        for e in entries where e.validation == "invalid" { failures += e.failures }
        var seen: Set<String> = []
        failures = failures.filter { seen.insert($0).inserted }
        let place = "C2PA manifest (fMP4 init segment, \(entries.count) media segment\(entries.count == 1 ? "" : "s") validated one by one)"
        var layer = C2PAInspection.layer(fromStoreJSON: baseJSON, mode: "segmented", sidecar: nil, place: place, trusted: trustPEM != nil,
                                         library: library, extraFailures: failures)
        let valid = entries.filter { $0.validation != "invalid" && $0.validation != "unreadable" }.count
        layer.summary += "; \(valid) of \(entries.count) segments valid alone"
        if !problems.isEmpty { layer.summary += "; playlist order: " + problems.prefix(4).map(\.text).joined(separator: "; ") }
        layer.c2pa?.segments = entries
        layer.c2pa?.sequenceProblems = problems.map(\.text)
        return layer
    }
}
