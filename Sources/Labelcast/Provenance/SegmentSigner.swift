import C2PA
import Foundation
import Logging
import MediaIO

/// C2PA for segmented fMP4 outputs (HLS with fMP4 segments, DASH, low-latency CMAF): each
/// rendition's init segment carries a manifest whose hard binding (`c2pa.hash.bmff.v3` with a
/// Merkle map) covers the init segment and every media segment of that rendition, the form the
/// reference implementation validates one fragment at a time (`Reader.with_fragment`).
///
/// Media segments are handled as the muxer finishes them, on the mux queue (after the AIGC
/// marking, so the `emsg`s are covered): a C2PA Merkle box naming the segment's place is
/// appended there (the file reaches the disk with it); the segment's SHA-256 (~50 KB-1 MB)
/// runs on this signer's own serial queue, in segment order, so the mux queue never waits for it. Init segments
/// are signed once the last segment's hash is known (`signAll`, after the trailer): the
/// manifest must list every leaf, so an init segment written before its segments is rewritten
/// then (temporary name + rename).
///
/// One rendition per init segment; a media segment belongs to the init segment whose path
/// shares the longest start with its own (DASH names them `out-<rep>-init.mp4`,
/// `out-<rep>-00001.m4s`), as `SegmentMarking` matches them.
final class SegmentSigner: @unchecked Sendable {
    struct Rendition {
        /// The Merkle map's uniqueId and localId, from 1 in the order init segments came.
        let id: Int
        let path: String
        /// The init segment as the muxer (and the AIGC marking) wrote it, without a manifest.
        var unsigned: [UInt8]
        /// One hash per media segment, in the order they were written (= their `location`).
        var leaves: [[UInt8]] = []
        /// The init segment's tracks (to read the media segments' times).
        var tracks: [UInt32: (timescale: UInt32, defaultDuration: UInt32)] = [:]
    }

    /// What `signAll` did, for the report and the log.
    struct Outcome {
        var initSegments = 0
        var fragments = 0
        var manifestBytes = 0
        /// Cost per media segment on the mux queue (Merkle box, box walk), µs.
        var fragmentMicrosMean = 0.0
        var fragmentMicrosMax = 0.0
        /// The mux-queue step in that thread's CPU time, µs.
        var fragmentCPUMicrosMean = 0.0
        var fragmentCPUMicrosMax = 0.0
        /// SHA-256 per media segment, on the signer's hash queue (off the mux queue), µs.
        var hashMicrosMean = 0.0
        var hashMicrosMax = 0.0
    }

    private let lock = NSLock()
    private var renditions: [Rendition] = []
    /// Mux-queue time per media segment (Merkle box, box walk), µs.
    private var fragmentMicros: [Double] = []
    /// The same in the mux thread's CPU time (wall time includes the scheduler's preemptions
    /// by the run's own encoder threads on a busy machine), µs.
    private var fragmentCPUMicros: [Double] = []
    /// SHA-256 time per media segment on `hashQueue`, µs.
    private var hashMicrosList: [Double] = []
    /// The segments' SHA-256, one at a time in the order they were written, off the mux queue.
    private let hashQueue = DispatchQueue(label: "labelcast.c2pa.segment-hash")
    /// Told each segment's hashing time, on `hashQueue` (the `c2pa` telemetry).
    var onSegmentHashed: (@Sendable (Double) -> Void)?
    private var writtenUntil = 0.0

    /// The end of the latest media segment's media time, in seconds (for a live manifest's
    /// still-open synthetic range).
    var mediaEnd: Double { lock.withLock { writtenUntil } }

    /// `SegmentedOutput.transform` (after the marking): remembers init segments, appends the
    /// Merkle box to media segments and hashes them.
    func process(_ file: inout SegmentedOutput.File) throws {
        switch file.kind {
        case .initSegment:
            lock.withLock {
                let tracks = BMFFBox.trackTimescales(initSegment: file.bytes)
                if let i = renditions.firstIndex(where: { $0.path == file.path }) {
                    renditions[i].unsigned = file.bytes
                    renditions[i].tracks = tracks
                } else {
                    renditions.append(Rendition(id: renditions.count + 1, path: file.path, unsigned: file.bytes, tracks: tracks))
                }
            }
        case .mediaSegment:
            let started = DispatchTime.now().uptimeNanoseconds
            let cpuStarted = Self.threadCPUNanos()
            let name = (file.path as NSString).lastPathComponent
            guard let i = lock.withLock({ renditionIndex(for: file.path) }) else {
                throw LabelcastError("C2PA: the media segment '\(name)' was written before any init segment, so it cannot be bound to a manifest")
            }
            let (id, location, tracks) = lock.withLock { (renditions[i].id, renditions[i].leaves.count, renditions[i].tracks) }
            let span = BMFFBox.segmentSpan(file.bytes, tracks: tracks)
            let box = FragmentedBMFF.merkleBox(rendition: id, location: location)
            file.bytes += box
            // Only the box walk here (box headers); the SHA-256 runs on `hashQueue`. The bytes
            // go to the disk as they are now (the box is in them), and `signAll` waits for
            // every hash, so no signature can miss a leaf.
            guard FragmentedBMFF.isBoxSequence(file.bytes) else {
                file.bytes.removeLast(box.count)
                throw LabelcastError("C2PA: the media segment '\(name)' is not a sequence of MP4 boxes: it cannot be signed")
            }
            let bytes = file.bytes
            lock.withLock {
                renditions[i].leaves.append([])
                if let span { writtenUntil = max(writtenUntil, span.end) }
            }
            hashQueue.async { [self] in
                let hashStarted = DispatchTime.now().uptimeNanoseconds
                let leaf = FragmentedBMFF.hash(bytes) ?? []
                let hashMicros = Double(DispatchTime.now().uptimeNanoseconds - hashStarted) / 1000
                lock.withLock {
                    renditions[i].leaves[location] = leaf
                    hashMicrosList.append(hashMicros)
                }
                onSegmentHashed?(hashMicros)
            }
            let micros = Double(DispatchTime.now().uptimeNanoseconds - started) / 1000
            let cpuMicros = Double(Self.threadCPUNanos() &- cpuStarted) / 1000
            lock.withLock { fragmentMicros.append(micros); fragmentCPUMicros.append(cpuMicros) }
        case .playlist, .manifest, .other:
            break
        }
    }

    /// The calling thread's CPU time, ns.
    static func threadCPUNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    /// The AIGC marking rewrote the init segment at `path` (the run turned synthetic after it
    /// was written): that copy is the one to sign from now on.
    func initRewritten(path: String, bytes: [UInt8]) {
        lock.withLock {
            if let i = renditions.firstIndex(where: { $0.path == path }) { renditions[i].unsigned = bytes }
        }
    }

    /// The rendition a media segment at `path` belongs to (lock held).
    private func renditionIndex(for path: String) -> Int? {
        func common(_ a: String, _ b: String) -> Int { zip(a, b).prefix { $0 == $1 }.count }
        return renditions.indices.max { common(renditions[$0].path, path) < common(renditions[$1].path, path) }
    }

    /// Signs every init segment with its rendition's Merkle map: `definition(title, hardBinding)`
    /// gives the manifest definition with the `c2pa.hash.bmff.v3` data added. Two signatures
    /// per init segment: the first places the manifest (its size moves the `moov`, whose offset
    /// the init hash includes), the second carries the init hash of that layout; the layout is
    /// checked to be unchanged.
    func signAll(signer: C2PASigner, definition: (String, [String: Any]) -> String,
                 ingredient: (json: String, format: String, path: String)?) throws -> Outcome {
        // Every segment written so far is hashed first.
        hashQueue.sync {}
        let all = lock.withLock { renditions }
        var outcome = Outcome()
        guard !all.isEmpty else {
            throw LabelcastError("C2PA: the segmented output wrote no fMP4 init segment, so there is nothing to sign")
        }
        for r in all {
            let name = (r.path as NSString).lastPathComponent
            guard !r.leaves.isEmpty else {
                throw LabelcastError("C2PA: the init segment '\(name)' has no media segments to bind: nothing was written for it")
            }
            var initHash = [UInt8](repeating: 0, count: 32)
            var signed: (asset: [UInt8], store: [UInt8])? = nil
            for _ in 0..<3 {
                let data = FragmentedBMFF.assertionData(rendition: r.id, leaves: r.leaves, initHash: initHash)
                let attempt = try signer.sign(bytes: r.unsigned, format: "video/mp4", definition: definition(name, data), ingredient: ingredient)
                guard let h = FragmentedBMFF.hash(attempt.asset) else {
                    throw LabelcastError("C2PA: the signed init segment '\(name)' is not a sequence of MP4 boxes")
                }
                if h == initHash { signed = attempt; break }
                initHash = h
            }
            guard let signed else {
                throw LabelcastError("C2PA: the init segment '\(name)' changed layout between signatures (the manifest's size is not stable): it cannot be bound")
            }
            let temporary = r.path + ".c2pa-signing"
            do {
                try SegmentedOutput.write(signed.asset, to: temporary)
            } catch {
                unlink(temporary)
                throw LabelcastError("C2PA: '\(temporary)' cannot be written: \(error)")
            }
            guard rename(temporary, r.path) == 0 else {
                let why = String(cString: strerror(errno))
                unlink(temporary)
                throw LabelcastError("C2PA: the signed init segment '\(name)' cannot be put in place: \(why)")
            }
            outcome.initSegments += 1
            outcome.fragments += r.leaves.count
            outcome.manifestBytes = max(outcome.manifestBytes, signed.store.count)
        }
        let micros = lock.withLock { fragmentMicros }
        if !micros.isEmpty {
            outcome.fragmentMicrosMean = micros.reduce(0, +) / Double(micros.count)
            outcome.fragmentMicrosMax = micros.max() ?? 0
        }
        let cpu = lock.withLock { fragmentCPUMicros }
        if !cpu.isEmpty {
            outcome.fragmentCPUMicrosMean = cpu.reduce(0, +) / Double(cpu.count)
            outcome.fragmentCPUMicrosMax = cpu.max() ?? 0
        }
        let hashes = lock.withLock { hashMicrosList }
        if !hashes.isEmpty {
            outcome.hashMicrosMean = hashes.reduce(0, +) / Double(hashes.count)
            outcome.hashMicrosMax = hashes.max() ?? 0
        }
        return outcome
    }
}
