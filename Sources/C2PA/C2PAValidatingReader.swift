import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Reads and validates a C2PA manifest store for `labelcast inspect`: embedded in the file, or
/// from a sidecar `.c2pa` store validated against the file's bytes (the form labelcast signs
/// MPEG-TS, Matroska and FLV with). Unlike `C2PAReader`, which only asks whether a manifest
/// is there, this keeps the library's validation report, and can load trust anchors first.
///
/// The two extra entry points are looked up in the already loaded library (`dlopen` of the
/// same path returns the same handle), so `C2PALibrary` needs no change.
public enum C2PAValidatingReader {
    private typealias FromManifestData = @convention(c) (UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafePointer<UInt8>?, Int) -> UnsafeMutableRawPointer?
    private typealias LoadSettings = @convention(c) (UnsafePointer<CChar>?, UnsafePointer<CChar>?) -> Int32

    /// The manifest store JSON (`manifests`, `active_manifest`, `validation_state`,
    /// `validation_results`), or nil when there is none. `sidecar`: the bytes of a `.c2pa`
    /// manifest store to validate `path` against instead of looking inside it.
    /// `trustAnchorsPEM`: PEM certificates to trust; without them the signer is reported
    /// as the library sees it (untrusted unless it chains to its built-in list).
    public static func read(path: String, format: String, sidecar: [UInt8]? = nil, trustAnchorsPEM: String? = nil) throws -> String? {
        let library = try C2PALibrary.shared()
        if let trustAnchorsPEM {
            let load: LoadSettings = try symbol("c2pa_load_settings", library: library)
            let settings: [String: Any] = ["trust": ["trust_anchors": trustAnchorsPEM], "verify": ["verify_trust": true]]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: settings), as: UTF8.self)
            guard load(json, "json") == 0 else {
                throw C2PAError(.library, "C2PA: the trust anchors cannot be loaded: \(library.lastError(or: "no reason given"))")
            }
        }
        let stream = try C2PAStream(library: library, path: path, writable: false)
        let reader: UnsafeMutableRawPointer?
        if let sidecar {
            let fromData: FromManifestData = try symbol("c2pa_reader_from_manifest_data_and_stream", library: library)
            reader = sidecar.withUnsafeBufferPointer { buf in
                format.withCString { fromData($0, stream.handle, buf.baseAddress, buf.count) }
            }
        } else {
            reader = format.withCString { library.readerFromStream($0, stream.handle) }
        }
        guard let reader else {
            let error = library.lastError(or: "")
            let lower = error.lowercased()
            if sidecar == nil, error.contains("ManifestNotFound") || error.contains("JumbfNotFound") || lower.contains("no manifest")
                || lower.contains("not found") {
                return nil
            }
            throw C2PAError(.library, error.isEmpty ? "the manifest store cannot be read" : error)
        }
        defer { library.readerFree(reader) }
        return library.takeString(library.readerJSON(reader))
    }

    private typealias WithFragment = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer?
    private typealias DetailedJSON = @convention(c) (UnsafeMutableRawPointer?) -> UnsafeMutablePointer<CChar>?

    /// A fragmented-BMFF asset's init segment (its manifest store) and one media segment,
    /// validated together by the reference implementation (`c2pa_reader_with_fragment`, as
    /// c2pa-python's `Reader.with_fragment`): the manifest store JSON with that segment's
    /// validation, or nil when the init segment carries no manifest. `detailed`: also the
    /// init segment's detailed JSON (its assertions' data, e.g. the Merkle map), for the first
    /// call. Trust anchors as for `read` (loaded once per process by the caller's first call).
    public static func readFragment(initSegment: [UInt8], fragment: [UInt8], format: String = "video/mp4",
                                    trustAnchorsPEM: String? = nil, detailed: Bool = false) throws -> (json: String, detailed: String?)? {
        let library = try C2PALibrary.shared()
        if let trustAnchorsPEM { try loadTrust(trustAnchorsPEM, library: library) }
        let withFragment: WithFragment = try symbol("c2pa_reader_with_fragment", library: library)
        let initStream = try C2PAStream(library: library, bytes: initSegment)
        guard let reader = format.withCString({ library.readerFromStream($0, initStream.handle) }) else {
            let error = library.lastError(or: "")
            let lower = error.lowercased()
            if error.contains("ManifestNotFound") || error.contains("JumbfNotFound") || lower.contains("no manifest") || lower.contains("not found") {
                return nil
            }
            throw C2PAError(.library, error.isEmpty ? "the init segment's manifest store cannot be read" : error)
        }
        var details: String?
        if detailed {
            let detailedJSON: DetailedJSON = try symbol("c2pa_reader_detailed_json", library: library)
            details = library.takeString(detailedJSON(reader))
        }
        let mainStream = try C2PAStream(library: library, bytes: initSegment)
        let fragmentStream = try C2PAStream(library: library, bytes: fragment)
        // The call consumes `reader` (also when it fails).
        guard let combined = format.withCString({ withFragment(reader, $0, mainStream.handle, fragmentStream.handle) }) else {
            throw C2PAError(.library, library.lastError(or: "the media segment cannot be read with its init segment"))
        }
        defer { library.readerFree(combined) }
        guard let json = library.takeString(library.readerJSON(combined)) else {
            throw C2PAError(.library, library.lastError(or: "no manifest store JSON for the media segment"))
        }
        return (json, details)
    }

    private static let loadedTrust = NSLock()
    nonisolated(unsafe) private static var trustLoaded: String?

    private static func loadTrust(_ pem: String, library: C2PALibrary) throws {
        try loadedTrust.withLock {
            guard trustLoaded != pem else { return }
            let load: LoadSettings = try symbol("c2pa_load_settings", library: library)
            let settings: [String: Any] = ["trust": ["trust_anchors": pem], "verify": ["verify_trust": true]]
            let json = String(decoding: try JSONSerialization.data(withJSONObject: settings), as: UTF8.self)
            guard load(json, "json") == 0 else {
                throw C2PAError(.library, "C2PA: the trust anchors cannot be loaded: \(library.lastError(or: "no reason given"))")
            }
            trustLoaded = pem
        }
    }

    private static func symbol<T>(_ name: String, library: C2PALibrary) throws -> T {
        guard let handle = dlopen(library.path, RTLD_NOW | RTLD_LOCAL), let s = dlsym(handle, name) else {
            throw C2PAError(.libraryUnavailable, "\(library.path) has no \(name): use the c2pa-python version `make deps` installs")
        }
        return unsafeBitCast(s, to: T.self)
    }
}
