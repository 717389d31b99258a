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

    private static func symbol<T>(_ name: String, library: C2PALibrary) throws -> T {
        guard let handle = dlopen(library.path, RTLD_NOW | RTLD_LOCAL), let s = dlsym(handle, name) else {
            throw C2PAError(.libraryUnavailable, "\(library.path) has no \(name): use the c2pa-python version `make deps` installs")
        }
        return unsafeBitCast(s, to: T.self)
    }
}
